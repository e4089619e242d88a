import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// Krypton's projective-field thresholding in `RegionalOcclusion` (τ < 1) against a naive reference
/// written here from the rule: every value of the occluded copy is computed on the whole map, and after
/// each convolution, max-pool and residual add the positions outside the capped dirty range are reset
/// to the clean activation. τ = 1 must be the exact path bit for bit.
@Suite struct RegionalOcclusionThresholdTests {
    static let configuration = ResNet18Configuration(classCount: 6, width: 8)

    func runner() throws -> RegionalOcclusion<Float> {
        let model = try ResNet18<Float>.seeded(seed: 71, configuration: Self.configuration)
        return try RegionalOcclusion(program: try model.program(for: .attribution))
    }

    /// Windows of different sizes, some clipped at the border, so the copies share boxes larger than
    /// their own ranges (the case where a box's extra positions must read clean values).
    static let windows: [[Range<Int>]] = [
        [0..<3, 0..<9, 0..<9], [0..<3, 14..<23, 10..<19], [0..<3, 33..<40, 30..<36], [1..<2, 5..<17, 20..<27],
    ]

    @Test(arguments: [0.25, 0.5, 0.8])
    func thresholdMatchesNaiveReference(_ tau: Double) throws {
        let runner = try runner()
        let x = ResNet18<Float>.seededInput(seed: 72, shape: [1, 3, 40, 36])
        let fill = Tensor<Float>(repeating: 0.25, shape: [1, 3, 40, 36])
        let clean = try runner.cleanPass(x)
        let fast = try runner.occludedOutputs(clean, fill: fill, windows: Self.windows, projectiveFieldThreshold: tau)
        let exact = try runner.occludedOutputs(clean, fill: fill, windows: Self.windows)
        var reference: [Float] = []
        for window in Self.windows {
            reference += try Self.naive(runner, clean, fill: fill, window: window, tau: tau).storage
        }
        let expected = try Tensor(shape: fast.shape, storage: reference)
        let scale = reference.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(fast, expected, atol: 1e-5 * scale, rtol: 0, "τ \(tau) vs the naive full-map reference")
        // The threshold changes the answer (the test cannot pass with the cap ignored).
        let moved = zip(fast.storage, exact.storage).map { abs(Double($0) - Double($1)) }.max() ?? 0
        #expect(moved > 1e-4 * scale, "τ \(tau) gave the exact outputs")
    }

    @Test func tauOneIsTheExactPathBitForBit() throws {
        let runner = try runner()
        let x = ResNet18<Float>.seededInput(seed: 73, shape: [1, 3, 40, 36])
        let fill = Tensor<Float>(zeros: [1, 3, 40, 36])
        let clean = try runner.cleanPass(x)
        let a = try runner.occludedOutputs(clean, fill: fill, windows: Self.windows, projectiveFieldThreshold: 1)
        let b = try runner.occludedOutputs(clean, fill: fill, windows: Self.windows)
        #expect(a.storage == b.storage)
        // And the naive reference with τ = 1 is the plain occluded forward pass.
        let scale = b.storage.map { abs(Double($0)) }.max() ?? 0
        for (k, window) in Self.windows.enumerated() {
            let naive = try Self.naive(runner, clean, fill: fill, window: window, tau: 1)
            let classes = b.shape[1]
            expectClose(naive.storage, Array(b.storage[k * classes..<(k + 1) * classes]), atol: 1e-5 * scale, rtol: 0)
        }
    }

    @Test(arguments: [0, -0.5, 1.5, Double.nan])
    func refusesThresholdOutsideUnitInterval(_ tau: Double) throws {
        let runner = try runner()
        let x = ResNet18<Float>.seededInput(seed: 73, shape: [1, 3, 32, 32])
        let clean = try runner.cleanPass(x)
        #expect(throws: ModelError.self) {
            try runner.occludedOutputs(
                clean, fill: Tensor(zeros: [1, 3, 32, 32]), windows: [[0..<3, 0..<8, 0..<8]],
                projectiveFieldThreshold: tau)
        }
    }

    /// Rows or columns a (k, s, p) window maps `r` to: [⌈(a + p − k + 1)/s⌉, ⌊(b − 1 + p)/s⌋ + 1) ∩ [0, size).
    static func mapped(_ r: Range<Int>, kernel k: Int, stride s: Int, padding p: Int, size: Int) -> Range<Int> {
        let lo = max(0, Int((Double(r.lowerBound + p - k + 1) / Double(s)).rounded(.up)))
        let hi = min(size, Int((Double(r.upperBound - 1 + p) / Double(s)).rounded(.down)) + 1)
        return min(lo, hi)..<hi
    }

    /// At most ⌈τ·side⌉ positions, centred on `r`.
    static func capped(_ r: Range<Int>, side: Int, tau: Double) -> Range<Int> {
        let limit = max(1, Int((tau * Double(side) - 1e-9).rounded(.up)))
        if r.count <= limit { return r }
        let lo = r.lowerBound + (r.count - limit) / 2
        return lo..<lo + limit
    }

    /// `map` `[1, C, H, W]` with every position outside rows × cols taken from `clean`.
    static func keep(_ map: Tensor<Float>, _ clean: Tensor<Float>, rows: Range<Int>, cols: Range<Int>) -> Tensor<Float>
    {
        var out = map
        let (c, h, w) = (map.shape[1], map.shape[2], map.shape[3])
        for ch in 0..<c {
            for y in 0..<h {
                for x in 0..<w where !(rows.contains(y) && cols.contains(x)) {
                    out.storage[(ch * h + y) * w + x] = clean.storage[(ch * h + y) * w + x]
                }
            }
        }
        return out
    }

    /// The occluded copy's logits `[K]`, every value computed on its whole map.
    static func naive(
        _ runner: RegionalOcclusion<Float>, _ clean: RegionalOcclusion<Float>.CleanPass, fill: Tensor<Float>,
        window: [Range<Int>], tau: Double
    ) throws -> Tensor<Float> {
        var input = clean.values[0]
        let (h, w) = (input.shape[2], input.shape[3])
        for c in window[0] {
            for y in window[1] {
                for x in window[2] { input.storage[(c * h + y) * w + x] = fill.storage[(c * h + y) * w + x] }
            }
        }
        var values = [Tensor<Float>?](repeating: nil, count: runner.valueCount)
        var dirty = [(rows: Range<Int>, cols: Range<Int>)?](repeating: nil, count: runner.valueCount)
        values[0] = input
        dirty[0] = (window[1], window[2])
        for step in runner.steps {
            let v = values[step.inputs[0]]!, d = dirty[step.inputs[0]]!
            let out = clean.values[step.output]
            func thresholded(_ y: Tensor<Float>, _ rows: Range<Int>, _ cols: Range<Int>) {
                let r = capped(rows, side: out.shape[2], tau: tau), c = capped(cols, side: out.shape[3], tau: tau)
                values[step.output] = keep(y, out, rows: r, cols: c)
                dirty[step.output] = (r, c)
            }
            switch step.operation {
            case .convolution(let layer):
                let (k, s, p) = (layer.kernel, layer.stride, layer.padding)
                thresholded(
                    try layer.padded.forward(v),
                    mapped(d.rows, kernel: k, stride: s, padding: p, size: out.shape[2]),
                    mapped(d.cols, kernel: k, stride: s, padding: p, size: out.shape[3]))
            case .maxPool(let pool):
                let (k, s, p) = (pool.kernel, pool.stride, pool.padding)
                thresholded(
                    try pool.forward(v).output,
                    mapped(d.rows, kernel: k, stride: s, padding: p, size: out.shape[2]),
                    mapped(d.cols, kernel: k, stride: s, padding: p, size: out.shape[3]))
            case .relu:
                var y = v
                ReLU.apply(&y)
                values[step.output] = y
                dirty[step.output] = d
            case .add:
                var y = v
                try ResidualAdd.add(values[step.inputs[1]]!, into: &y)
                let e = dirty[step.inputs[1]]!
                let rows = min(d.rows.lowerBound, e.rows.lowerBound)..<max(d.rows.upperBound, e.rows.upperBound)
                let cols = min(d.cols.lowerBound, e.cols.lowerBound)..<max(d.cols.upperBound, e.cols.upperBound)
                thresholded(y, rows, cols)
            case .averagePool:
                values[step.output] = try GlobalAveragePool.forward(v)
                dirty[step.output] = d
            case .linear(let fc):
                values[step.output] = try fc.forward(v)
                dirty[step.output] = d
            }
        }
        return values[runner.valueCount - 1]!
    }
}
