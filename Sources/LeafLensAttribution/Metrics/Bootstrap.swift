import LeafLensMath

/// A mean with a seeded percentile-bootstrap confidence interval.
public struct MeanInterval: Codable, Sendable, Equatable {
    public var mean: Double
    public var low: Double
    public var high: Double
    public var count: Int

    public init(mean: Double, low: Double, high: Double, count: Int) {
        (self.mean, self.low, self.high, self.count) = (mean, low, high, count)
    }
}

/// Percentile bootstrap (Efron): `resamples` means of n values drawn with replacement, index
/// ⌊unit()·n⌋ from SeededRandom(seed), and the (1 − level)/2 and (1 + level)/2 quantiles of those
/// means (numpy's "linear" interpolation on the sorted means). One value gives [v, v].
public enum Bootstrap {
    public static let defaultResamples = 2000
    public static let defaultLevel = 0.95

    public static func interval(
        _ values: [Double], resamples: Int = defaultResamples, level: Double = defaultLevel, seed: UInt64 = 0
    ) throws(MetricError) -> MeanInterval {
        guard !values.isEmpty else { throw .invalidOption("a mean needs at least one value") }
        guard resamples >= 1 else { throw .invalidOption("bootstrap resamples must be ≥ 1, got \(resamples)") }
        guard level > 0, level < 1 else { throw .invalidOption("confidence level must be in (0, 1), got \(level)") }
        let n = values.count
        let mean = values.reduce(0, +) / Double(n)
        if n == 1 { return MeanInterval(mean: mean, low: mean, high: mean, count: 1) }
        var random = SeededRandom(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for b in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += values[min(Int(random.unit() * Double(n)), n - 1)] }
            means[b] = sum / Double(n)
        }
        means.sort()
        return MeanInterval(
            mean: mean, low: quantile(means, (1 - level) / 2), high: quantile(means, (1 + level) / 2), count: n)
    }

    /// Linear-interpolation quantile of sorted values.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let v = Double(sorted.count - 1) * q
        let i = min(Int(v.rounded(.down)), sorted.count - 1)
        let j = min(i + 1, sorted.count - 1)
        return sorted[i] + (sorted[j] - sorted[i]) * (v - Double(i))
    }
}
