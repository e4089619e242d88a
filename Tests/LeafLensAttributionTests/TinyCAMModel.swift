import LeafLensAttribution
import LeafLensMath

/// TinyCAM (methods-and-metrics.md §0.1), input `[N, 1, 6, 6]`: conv1 (1→2, 3×3, no padding, Sobel-like
/// kernels /4, bias [0.1, −0.05]) → relu1 → conv2 (2→2, 1×1, W [[1, −1], [0.5, 1]], bias [0.05, −0.1]) →
/// relu2 → average pool → fc (2→3, W [[1, −1], [2, 0.5], [−1, 1]], bias [0, 0.1, −0.1]).
/// Layers "conv1", "relu1", "conv2", "relu2", "pool" (`[N, 2, 1, 1]`); replay from "relu1" and "pool".
struct TinyCAMModel: AttributionModel {
    typealias Scalar = Float
    let kernels: [[Float]] = [
        [1, 0, -1, 2, 0, -2, 1, 0, -1].map { $0 / 4 }, [1, 2, 1, 0, 0, 0, -1, -2, -1].map { $0 / 4 },
    ]
    let bias1: [Float] = [0.1, -0.05]
    let w2: [[Float]] = [[1, -1], [0.5, 1]]
    let bias2: [Float] = [0.05, -0.1]
    let fc: [[Float]] = [[1, -1], [2, 0.5], [-1, 1]]
    let biasFC: [Float] = [0, 0.1, -0.1]
    var classCount: Int { 3 }
    static let layers = ["conv1", "relu1", "conv2", "relu2", "pool"]

    static var input: Tensor<Float> {
        // safe: 36 values for [1, 1, 6, 6]
        var values = [Float](repeating: 0, count: 36)
        for i in 0..<6 {
            for j in 0..<6 { values[i * 6 + j] = Float((3 * i + 5 * j) % 7) / 6 }
        }
        return try! Tensor(shape: [1, 1, 6, 6], storage: values)
    }

    struct Pass {
        var conv1: [Float], relu1: [Float], conv2: [Float], relu2: [Float], pool: [Float], logits: [Float]
    }

    /// One example `[36]` forward.
    func forward(_ x: [Float]) -> Pass {
        var c1 = [Float](repeating: 0, count: 32)
        for o in 0..<2 {
            for i in 0..<4 {
                for j in 0..<4 {
                    var s = bias1[o]
                    for u in 0..<3 { for v in 0..<3 { s += kernels[o][u * 3 + v] * x[(i + u) * 6 + j + v] } }
                    c1[o * 16 + i * 4 + j] = s
                }
            }
        }
        return upper(c1, relu1: c1.map { max($0, 0) })
    }

    /// Everything above relu1.
    func upper(_ c1: [Float], relu1 r1: [Float]) -> Pass {
        var c2 = [Float](repeating: 0, count: 32)
        for o in 0..<2 { for p in 0..<16 { c2[o * 16 + p] = w2[o][0] * r1[p] + w2[o][1] * r1[16 + p] + bias2[o] } }
        let r2 = c2.map { max($0, 0) }
        let pool = (0..<2).map { o in (0..<16).reduce(Float(0)) { $0 + r2[o * 16 + $1] } / 16 }
        return Pass(conv1: c1, relu1: r1, conv2: c2, relu2: r2, pool: pool, logits: logits(pool))
    }

    func logits(_ pool: [Float]) -> [Float] { (0..<3).map { k in fc[k][0] * pool[0] + fc[k][1] * pool[1] + biasFC[k] } }

    /// Gradients of logit t at every layer (relu′(0) = 0).
    func backward(_ p: Pass, target t: Int) -> [String: [Float]] {
        let dPool = [fc[t][0], fc[t][1]]
        let dR2 = (0..<32).map { dPool[$0 / 16] / 16 }
        let dC2 = (0..<32).map { p.conv2[$0] > 0 ? dR2[$0] : 0 }
        var dR1 = [Float](repeating: 0, count: 32)
        for c in 0..<2 { for q in 0..<16 { dR1[c * 16 + q] = w2[0][c] * dC2[q] + w2[1][c] * dC2[16 + q] } }
        let dC1 = (0..<32).map { p.conv1[$0] > 0 ? dR1[$0] : 0 }
        return ["conv1": dC1, "relu1": dR1, "conv2": dC2, "relu2": dR2, "pool": dPool]
    }

    func values(_ p: Pass, _ layer: String) -> [Float] {
        switch layer {
        case "conv1": p.conv1
        case "relu1": p.relu1
        case "conv2": p.conv2
        case "relu2": p.relu2
        default: p.pool
        }
    }

    func examples(_ input: Tensor<Float>) throws -> [[Float]] {
        guard input.rank == 4, input.shape.dropFirst() == [1, 6, 6] else {
            throw AttributionError.shapeMismatch("TinyCAM needs [N, 1, 6, 6], got \(input.shape)")
        }
        return (0..<input.shape[0]).map { Array(input.storage[($0 * 36)..<(($0 + 1) * 36)]) }
    }

    func outputs(_ input: Tensor<Float>) throws -> Tensor<Float> {
        let rows = try examples(input).flatMap { forward($0).logits }
        return try Tensor(shape: [input.shape[0], 3], storage: rows)
    }

    func inputGradient(
        _ input: Tensor<Float>, targets: [Int]
    ) throws -> (outputs: Tensor<Float>, gradient: Tensor<Float>) {
        throw AttributionError.invalidOption("TinyCAM has no input gradient")
    }

    func layerGradient(
        _ input: Tensor<Float>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Float>, activation: Tensor<Float>, gradient: Tensor<Float>)
    {
        guard Self.layers.contains(layer) else { throw AttributionError.unknownLayer(layer, available: Self.layers) }
        let passes = try examples(input).map(forward)
        let shape = layer == "pool" ? [passes.count, 2, 1, 1] : [passes.count, 2, 4, 4]
        let activation = passes.flatMap { values($0, layer) }
        let gradient = zip(passes, targets).flatMap { backward($0, target: $1)[layer] ?? [] }
        return (
            try outputs(input), try Tensor(shape: shape, storage: activation),
            try Tensor(shape: shape, storage: gradient)
        )
    }

    func layerReplay(_ input: Tensor<Float>, layer: String) throws -> LayerReplay<Float>? {
        guard layer == "relu1" || layer == "pool" else { return nil }
        let (_, activation, _) = try layerGradient(
            input, layer: layer, targets: Array(repeating: 0, count: input.shape[0]))
        return LayerReplay(activation: activation) { a in
            let b = a.shape[0], size = a.count / b
            let rows = (0..<b).flatMap { n -> [Float] in
                let v = Array(a.storage[(n * size)..<((n + 1) * size)])
                return layer == "pool" ? self.logits(v) : self.upper([], relu1: v).logits
            }
            return try Tensor(shape: [b, 3], storage: rows)
        }
    }
}
