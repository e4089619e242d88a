import LeafLensMath
import LeafLensPipeline
import LeafLensTestSupport
import Testing

/// The explanation scores on maps whose answers are known by hand.
@Suite struct ExplanationMetricsTests {
    /// 5×5 map, maximum at (x 3, y 1); lesion pixel at (x 0, y 1), 3 px away.
    static let map: [Float] = {
        var values = [Float](repeating: 0.1, count: 25)
        values[1 * 5 + 3] = 1
        return values
    }()
    static let mask: [Bool] = (0..<25).map { $0 == 1 * 5 + 0 }

    @Test func pointingGameHitsWithinTheTolerance() {
        #expect(!ExplanationMetrics.pointingGameHit(map: Self.map, mask: Self.mask, width: 5, height: 5, tolerance: 2))
        #expect(ExplanationMetrics.pointingGameHit(map: Self.map, mask: Self.mask, width: 5, height: 5, tolerance: 3))
        // Nothing positive: a miss however close.
        #expect(
            !ExplanationMetrics.pointingGameHit(
                map: [Float](repeating: 0, count: 25), mask: Self.mask, width: 5, height: 5, tolerance: 10))
    }

    @Test func positiveMassInside() {
        // Σ positive = 1 + 24·0.1 = 3.4; inside = 0.1.
        expectClose(
            [ExplanationMetrics.positiveMassInside(map: Self.map, mask: Self.mask)], [0.1 / 3.4], atol: 1e-7, rtol: 0)
        #expect(ExplanationMetrics.positiveMassInside(map: [-1, -2], mask: [true, false]) == 0)
    }

    @Test func spearmanOfRanks() {
        #expect(ExplanationMetrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(ExplanationMetrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        #expect(ExplanationMetrics.spearman([1, 1, 1], [1, 2, 3]) == 0)
        // Ties get their average rank: ranks (1.5, 1.5, 3) vs (1, 2, 3) → ρ = 0.866….
        expectClose([ExplanationMetrics.spearman([5, 5, 7], [1, 2, 3])], [(0.75).squareRoot()], atol: 1e-12, rtol: 0)
    }

    @Test func channelSumOfThreeChannels() throws {
        let t = try Tensor<Float>(shape: [3, 1, 2], storage: [1, -2, 3, 4, -5, 6])
        #expect(ExplanationMetrics.channelSum(t) == [-1, 8])
        #expect(ExplanationMetrics.channelSum(t, absolute: true) == [9, 12])
    }
}
