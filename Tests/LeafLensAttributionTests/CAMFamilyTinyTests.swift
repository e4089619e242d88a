import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

/// The pytorch-grad-cam family on TinyCAM: every method's finished 6×6 map against the library's
/// (Fixtures/methods_cam, target 1, layer relu1), and the hand-checked numbers of
/// methods-and-metrics.md §C6.
@Suite struct CAMFamilyTinyTests {
    let model = TinyCAMModel()
    let x = TinyCAMModel.input

    @Test(arguments: CAMMethods.names)
    func finishedMapMatchesTheLibrary(_ method: String) throws {
        let manifest = try MethodsCAMManifest.load()
        let reference = try #require(manifest.tiny.first { $0.method == method && $0.variant == nil })
        let map = try CAMMethods.run(
            method, model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["relu1"]))
        let expected = try Tensor(shape: [1, 1, 6, 6], storage: reference.final.joined().map { Float($0) })
        expectClose(map, expected, atol: 2e-6, rtol: 1e-5, method)
        let raw = try #require(reference.raw)
        let ours = try handRaw(method)
        expectClose(
            ours, try Tensor(shape: [1, 1, 4, 4], storage: raw.joined().map { Float($0) }), atol: 1e-7, rtol: 1e-5,
            "\(method) raw")
    }

    /// The raw (pre-ReLU) map, recovered through a model whose output is the method's raw map: not
    /// available from the public API, so it is rebuilt here from the documented formulas.
    func handRaw(_ method: String) throws -> Tensor<Float> {
        let (_, a, g) = try model.layerGradient(x, layer: "relu1", targets: [1])
        let A = a.storage.map(Double.init), G = g.storage.map(Double.init)
        func channelMean(_ v: [Double], _ c: Int) -> Double { v[(c * 16)..<((c + 1) * 16)].reduce(0, +) / 16 }
        var raw = [Double](repeating: 0, count: 16)
        switch method {
        case "grad-cam":
            for c in 0..<2 { let w = channelMean(G, c); for j in 0..<16 { raw[j] += w * A[c * 16 + j] } }
        case "grad-cam-plus-plus":
            for c in 0..<2 {
                let s = A[(c * 16)..<((c + 1) * 16)].reduce(0, +)
                var w = 0.0
                for j in 0..<16 {
                    let gg = G[c * 16 + j]
                    if gg != 0 { w += max(gg, 0) * gg * gg / (2 * gg * gg + s * gg * gg * gg + 1e-6) }
                }
                for j in 0..<16 { raw[j] += w * A[c * 16 + j] }
            }
        case "xgrad-cam":
            for c in 0..<2 {
                let s = A[(c * 16)..<((c + 1) * 16)].reduce(0, +)
                let w = (0..<16).reduce(0.0) { $0 + G[c * 16 + $1] * A[c * 16 + $1] } / (s + 1e-7)
                for j in 0..<16 { raw[j] += w * A[c * 16 + j] }
            }
        case "layer-cam": for c in 0..<2 { for j in 0..<16 { raw[j] += max(G[c * 16 + j], 0) * A[c * 16 + j] } }
        case "hires-cam": for c in 0..<2 { for j in 0..<16 { raw[j] += G[c * 16 + j] * A[c * 16 + j] } }
        case "grad-cam-element-wise":
            for c in 0..<2 { for j in 0..<16 { raw[j] += max(G[c * 16 + j] * A[c * 16 + j], 0) } }
        case "score-cam", "ablation-cam":
            // §C6: ScoreCAM weights [0.525804, 0.474196], AblationCAM [0.577465, −0.286879].
            let w = method == "score-cam" ? [0.525804, 0.474196] : [0.577465, -0.286879]
            for c in 0..<2 { for j in 0..<16 { raw[j] += w[c] * A[c * 16 + j] } }
        default:
            // EigenCAM / EigenGradCAM: the library's raw map is compared directly (sign fixed by the rule).
            let manifest = try MethodsCAMManifest.load()
            let reference = try #require(manifest.tiny.first { $0.method == method && $0.variant == nil }?.raw)
            raw = Array(reference.joined())
        }
        return try Tensor(shape: [1, 1, 4, 4], storage: raw.map { Float($0) })
    }

    /// §C6 rows, typed in from the reference (not from the fixture).
    @Test func handCheckedRows() throws {
        func row(_ method: String, _ r: Int, _ p: CAMParameters = CAMParameters(layers: ["relu1"])) throws -> [Float] {
            let map = try CAMMethods.run(method, model: model, input: x, targets: [1], parameters: p)
            return Array(map.storage[(r * 6)..<((r + 1) * 6)])
        }
        expectClose(try row("grad-cam", 0), [0, 0.244526, 0.489051, 0.489051, 0.489051, 0.489051], atol: 2e-6, rtol: 0)
        expectClose(try row("grad-cam", 5), [1, 0.5, 0.081509, 0.407543, 0.489051, 0.489051], atol: 2e-6, rtol: 0)
        expectClose(try row("grad-cam-plus-plus", 2), [1, 0.916667, 0.861111, 0.972222, 0.5, 0], atol: 2e-6, rtol: 0)
        expectClose(try row("xgrad-cam", 3), [0.56701, 0.330756, 0.233391, 0.788946, 0.463917, 0], atol: 2e-6, rtol: 0)
        expectClose(try row("layer-cam", 2), [1, 0.916667, 0.858025, 0.95679, 0.490741, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("hires-cam", 3), [0.647727, 0.377841, 0.246843, 0.802399, 0.470644, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("eigen-cam", 3), [0.999999, 0.583333, 0.193789, 0.302279, 0.164701, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("eigen-grad-cam", 3), [0.999999, 0.583333, 0.208144, 0.374054, 0.207766, 0], atol: 2e-6, rtol: 0)
        expectClose(try row("score-cam", 3), [1, 0.583333, 0.254911, 0.60789, 0.348068, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("ablation-cam", 3), [0.68386, 0.398918, 0.252866, 0.808421, 0.473655, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("grad-cam", 3, CAMParameters(layers: ["relu1"], eigenSmooth: true)),
            [1, 0.583333, 0.226116, 0.463913, 0.261681, 0], atol: 2e-6, rtol: 0)
        expectClose(
            try row("grad-cam", 3, CAMParameters(layers: ["conv1", "relu1"])),
            [0.378104, 0.220561, 0.201906, 0.757462, 0.448175, 0], atol: 2e-6, rtol: 0)
        // The opposite principal-component sign gives the other map (§C1).
        let flipped = try row("eigen-cam", 0, CAMParameters(layers: ["relu1"], projectionSign: .opposite))
        let aligned = try row("eigen-cam", 0)
        #expect(flipped != aligned)
    }

    @Test(arguments: ["eigen-smooth", "aug-smooth", "multi"])
    func variantsMatchTheLibrary(_ variant: String) throws {
        let manifest = try MethodsCAMManifest.load()
        let reference = try #require(manifest.tiny.first { $0.variant == variant })
        let parameters = CAMParameters(
            layers: reference.layers, eigenSmooth: variant == "eigen-smooth", augSmooth: variant == "aug-smooth")
        let map = try NormalizedGradCAM.attribute(model: model, input: x, targets: [1], parameters: parameters)
        expectClose(
            map, try Tensor(shape: [1, 1, 6, 6], storage: reference.final.joined().map { Float($0) }),
            atol: 2e-6, rtol: 1e-5, variant)
    }

    /// §C3: AblationCAM's weights do not depend on the batch size for a ReLU layer; nil targets pick
    /// the argmax (class 1) and equal the explicit target.
    @Test func ablationBatchSizesAndArgmax() throws {
        let one = try AblationCAM.attribute(
            model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["relu1"], batchSize: 1))
        let many = try AblationCAM.attribute(
            model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["relu1"], batchSize: 32))
        #expect(one == many)
        let argmax = try NormalizedGradCAM.attribute(
            model: model, input: x, targets: nil, parameters: CAMParameters(layers: ["relu1"]))
        #expect(
            argmax
                == (try NormalizedGradCAM.attribute(
                    model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["relu1"]))))
    }

    @Test func errorsAreTyped() throws {
        #expect(throws: AttributionError.self) {
            try AblationCAM.attribute(
                model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["conv2"]))
        }
        #expect(throws: AttributionError.self) {
            try NormalizedGradCAM.attribute(model: model, input: x, targets: [1], parameters: CAMParameters(layers: []))
        }
        #expect(throws: AttributionError.self) {
            try NormalizedGradCAM.attribute(
                model: model, input: x, targets: [7], parameters: CAMParameters(layers: ["relu1"]))
        }
        #expect(throws: AttributionError.self) {
            try ScoreCAM.attribute(
                model: model, input: x, targets: [1], parameters: CAMParameters(layers: ["relu1"], batchSize: 0))
        }
    }
}
