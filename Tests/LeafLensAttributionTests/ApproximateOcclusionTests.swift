import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Krypton-style approximate occlusion (`Occlusion.attribute(…, approximation:)`): τ = 1 without
/// drill-down is the exact map, R = 1 is the exact map, and the drill-down's coarse-pass / top-R /
/// parent rule is checked against a reference written here on a linear model whose drops are sums.
@Suite struct ApproximateOcclusionTests {
    /// τ = 1, no drill-down, against the exact path on ResNet's incremental path: **bit for bit**. Both
    /// ask the same evaluator for the same windows in the same batches of `perturbationsPerEval`, and
    /// accumulate the same drops in window order, so no float operation differs.
    @Test func tauOneWithoutDrillDownIsExactBitForBit() throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 81, shape: [2, 3, 48, 40])
        let (window, strides) = ([3, 12, 12], [3, 8, 8])
        let exact = try Occlusion.attribute(
            model: model, input: x, targets: [34, 8], window: window, strides: strides, baseline: .constant(0.5),
            perturbationsPerEval: 5)
        let approximate = try Occlusion.attribute(
            model: model, input: x, targets: [34, 8], window: window, strides: strides, baseline: .constant(0.5),
            perturbationsPerEval: 5, approximation: .init(projectiveFieldThreshold: 1))
        #expect(approximate.attributions.shape == exact.shape)
        #expect(approximate.attributions.storage == exact.storage)
        #expect(approximate.windowCount == 6 * 5)
        #expect(approximate.evaluatedWindows == 2 * 6 * 5)
        #expect(approximate.coarseStrides == nil)
    }

    /// R = 1 drills into every block, so every window of the given grid is evaluated and the map is
    /// the exact one. The windows reach the evaluator in other batches (coarse windows first), so the
    /// shared box sizes differ and results agree to float rounding: |Δ| ≤ 1e-5·max|exact|, as for
    /// `perturbationsPerEval` (ResNetOcclusionTests).
    @Test(arguments: [1, 7])
    func fullDrillDownIsExact(_ perturbationsPerEval: Int) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 82, shape: [1, 3, 44, 40])
        let (window, strides) = ([3, 10, 10], [3, 6, 6])
        let exact = try Occlusion.attribute(
            model: model, input: x, targets: [5], window: window, strides: strides,
            perturbationsPerEval: perturbationsPerEval)
        let approximate = try Occlusion.attribute(
            model: model, input: x, targets: [5], window: window, strides: strides,
            perturbationsPerEval: perturbationsPerEval, approximation: .init(drillDown: 1))
        let scale = exact.storage.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(approximate.attributions, exact, atol: 1e-5 * scale, rtol: 0, "R = 1 vs exact")
        #expect(approximate.evaluatedWindows == approximate.windowCount)
        #expect(approximate.coarseStrides == [3, 12, 12])
    }

    /// τ < 1 on ResNet moves the map but keeps it finite and shaped like the exact one; the model-level
    /// rule is checked against a naive reference in RegionalOcclusionThresholdTests.
    @Test func thresholdChangesTheMap() throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 83, shape: [1, 3, 48, 48])
        let exact = try Occlusion.attribute(
            model: model, input: x, targets: [3], window: [3, 12, 12], strides: [3, 8, 8], perturbationsPerEval: 8)
        let approximate = try Occlusion.attribute(
            model: model, input: x, targets: [3], window: [3, 12, 12], strides: [3, 8, 8], perturbationsPerEval: 8,
            approximation: .init(projectiveFieldThreshold: 0.3, drillDown: 0.5))
        #expect(approximate.attributions.shape == exact.shape)
        #expect(approximate.attributions.storage.allSatisfy { $0.isFinite })
        #expect(approximate.attributions.storage != exact.storage)
    }

    struct DrillCase: Sendable, CustomTestStringConvertible {
        let height: Int, width: Int
        let window: [Int], strides: [Int]
        let fraction: Double
        var ranking: Occlusion.DrillDownRanking = .magnitude
        var testDescription: String {
            "\(height)×\(width) window \(window) strides \(strides) R \(fraction) by \(ranking)"
        }
    }

    static let drillCases: [DrillCase] = [
        // 6 × 8 windows, 3 × 4 coarse; ⌈0.25·12⌉ = 3 blocks.
        DrillCase(height: 20, width: 17, window: [1, 5, 4], strides: [1, 3, 2], fraction: 0.25),
        DrillCase(height: 20, width: 17, window: [1, 5, 4], strides: [1, 3, 2], fraction: 0.25, ranking: .signed),
        // 7 × 7 windows (odd counts: the last row and column of blocks hold one window); ⌈0.3·16⌉ = 5.
        DrillCase(height: 22, width: 22, window: [1, 4, 4], strides: [1, 3, 3], fraction: 0.3),
        DrillCase(height: 22, width: 22, window: [1, 4, 4], strides: [1, 3, 3], fraction: 0.3, ranking: .signed),
        // The smallest R still drills one block.
        DrillCase(height: 16, width: 16, window: [1, 4, 4], strides: [1, 2, 2], fraction: 1e-6),
    ]

    /// The rule written out in window coordinates (i, j) (rows, columns): coarse windows have i and j
    /// even; their drops are ranked largest first (|drop| or the signed drop), ties to the lower window number
    /// (i + rows·j, the first axis fastest); the top ⌈R·coarse⌉ blocks {2a, 2a+1} × {2b, 2b+1} are
    /// evaluated; every other window takes the drop of (2⌊i/2⌋, 2⌊j/2⌋); then Captum's average.
    /// The linear model makes each drop Σ w·x over the window (zero baseline), with integer weights in
    /// −3…3 so that ties occur.
    @Test(arguments: drillCases)
    func drillDownFollowsItsRule(_ c: DrillCase) throws {
        var random = SeededRandom(seed: 84)
        let weights = (0..<c.height * c.width).map { _ in Double(Int(random.next() % 7) - 3) }
        let model = LinearModel<Double>(weights: weights)
        let x = try Tensor<Double>(
            shape: [1, 1, c.height, c.width], storage: Array(repeating: 1, count: weights.count))
        let result = try Occlusion.attribute(
            model: model, input: x, targets: [0], window: c.window, strides: c.strides, perturbationsPerEval: 4,
            approximation: .init(drillDown: c.fraction, ranking: c.ranking))

        let (wh, ww, sh, sw) = (c.window[1], c.window[2], c.strides[1], c.strides[2])
        let rows = (c.height - wh + sh - 1) / sh + 1, cols = (c.width - ww + sw - 1) / sw + 1
        func drop(_ i: Int, _ j: Int) -> Double {
            var sum = 0.0
            for y in i * sh..<min(c.height, i * sh + wh) {
                for x in j * sw..<min(c.width, j * sw + ww) { sum += weights[y * c.width + x] }
            }
            return sum
        }
        var coarse: [(i: Int, j: Int, drop: Double)] = []
        for j in stride(from: 0, to: cols, by: 2) {
            for i in stride(from: 0, to: rows, by: 2) { coarse.append((i, j, drop(i, j))) }
        }
        func key(_ d: Double) -> Double { c.ranking == .magnitude ? abs(d) : d }
        coarse.sort {
            key($0.drop) != key($1.drop) ? key($0.drop) > key($1.drop) : $0.i + rows * $0.j < $1.i + rows * $1.j
        }
        let chosen = Int((c.fraction * Double(coarse.count)).rounded(.up))
        let drilled = Set(coarse.prefix(chosen).map { $0.i + rows * $0.j })
        var total = [Double](repeating: 0, count: weights.count), covered = [Double](repeating: 0, count: weights.count)
        var evaluated = coarse.count
        for j in 0..<cols {
            for i in 0..<rows {
                let parent = (i - i % 2, j - j % 2)
                let isCoarse = parent == (i, j)
                let exact = isCoarse || drilled.contains(parent.0 + rows * parent.1)
                if exact && !isCoarse { evaluated += 1 }
                let d = exact ? drop(i, j) : drop(parent.0, parent.1)
                for y in i * sh..<min(c.height, i * sh + wh) {
                    for x in j * sw..<min(c.width, j * sw + ww) {
                        total[y * c.width + x] += d
                        covered[y * c.width + x] += 1
                    }
                }
            }
        }
        let expected = try Tensor<Double>(shape: x.shape, storage: zip(total, covered).map { $0 / $1 })
        expectClose(result.attributions, expected, atol: 1e-6, rtol: 1e-6, c.testDescription)
        #expect(result.evaluatedWindows == evaluated)
        #expect(result.windowCount == rows * cols)
        #expect(result.coarseStrides == [1, 2 * sh, 2 * sw])
    }

    static let invalid: [Occlusion.Approximation] = [
        .init(projectiveFieldThreshold: 0), .init(projectiveFieldThreshold: -1), .init(projectiveFieldThreshold: 1.01),
        .init(projectiveFieldThreshold: .nan), .init(drillDown: 0), .init(drillDown: 1.5), .init(drillDown: .infinity),
    ]

    @Test(arguments: invalid)
    func refusesOutOfRangeSettings(_ approximation: Occlusion.Approximation) throws {
        let model = LinearModel<Float>(weights: Array(repeating: 1, count: 16))
        let x = Tensor<Float>(repeating: 1, shape: [1, 1, 4, 4])
        #expect(throws: AttributionError.self) {
            try Occlusion.attribute(
                model: model, input: x, targets: [0], window: [1, 2, 2], strides: [1, 2, 2],
                approximation: approximation)
        }
    }

    /// A model without an incremental path cannot threshold projective fields: refused, not ignored.
    @Test func refusesThresholdWithoutIncrementalPath() throws {
        let model = LinearModel<Float>(weights: Array(repeating: 1, count: 16))
        let x = Tensor<Float>(repeating: 1, shape: [1, 1, 4, 4])
        #expect {
            try Occlusion.attribute(
                model: model, input: x, targets: [0], window: [1, 2, 2], strides: [1, 2, 2],
                approximation: .init(projectiveFieldThreshold: 0.5))
        } throws: { error in
            "\(error)".contains("incremental occlusion path")
        }
    }
}
