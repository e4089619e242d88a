import LeafLensMath

/// Which part of an attribution to show, as Captum's `sign` argument.
public enum AttributionSign: String, Sendable, CaseIterable {
    /// Signed values, normalized to [−1, 1] (colormap RdWhGn).
    case all
    /// max(a, 0) (Greens).
    case positive
    /// min(a, 0), shown as magnitudes in [0, 1] (Reds).
    case negative
    /// |a| (Blues). Captum's default.
    case absoluteValue = "absolute_value"

    /// Captum's default colormap for this sign.
    public var defaultColormap: Colormap {
        switch self {
        case .all: .rdWhGn
        case .positive: .greens
        case .negative: .reds
        case .absoluteValue: .blues
        }
    }

    /// The value range the colormap spans: [−1, 1] for `all`, else [0, 1].
    public var valueRange: (min: Float, max: Float) { self == .all ? (-1, 1) : (0, 1) }
}

/// An attribution map reduced to one value per pixel and normalized as Captum's `visualize_image_attr`
/// does (`_normalize_attr`), in Float32 like Captum on float32 arrays:
///
/// 1. reduce: `[C, H, W]` → sum over channels (a sum, not a mean); `[H, W]` is used as is;
/// 2. sign filter: all → a, positive → max(a, 0), negative → min(a, 0), absolute_value → |a|;
/// 3. threshold t = `cumulativeSumThreshold(|filtered|, 100 − outlierPercent)`, negated for `negative`;
/// 4. values = clip(filtered / t, −1, 1).
///
/// Where Captum 0.9 fails an assertion (t = 0: all zeros, or `positive` with nothing positive), this
/// gives an all-zero map with `isDegenerate` set instead (as later Captum does, with a warning).
public struct AttributionMap: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major `[H, W]`, in [−1, 1] (`all`) or [0, 1] (other signs).
    public let values: [Float]
    public let sign: AttributionSign
    /// The scale the values were divided by (negative for sign `negative`); 0 if degenerate.
    public let threshold: Float
    /// The threshold was 0, so the map is all zeros (nothing to show).
    public let isDegenerate: Bool
    /// 0 < |threshold| < 1e-5: Captum warns that the picture may be misleading.
    public var hasTinyThreshold: Bool { !isDegenerate && abs(threshold) < 1e-5 }

    /// Normalizes attributions `[C, H, W]`, `[H, W]`, or those with leading axes of size 1
    /// (e.g. `[1, 3, H, W]`, Grad-CAM's `[1, 1, H, W]`).
    public init(
        _ attributions: Tensor<Float>, sign: AttributionSign = .absoluteValue, outlierPercent: Double = 2
    )
        throws(ImageError)
    {
        let (h, w, reduced) = try Self.channelSum(attributions)
        try self.init(height: h, width: w, reduced: reduced, sign: sign, outlierPercent: outlierPercent)
    }

    /// Normalizes an already reduced map (`values.count == height·width`).
    public init(
        height: Int, width: Int, reduced: [Float], sign: AttributionSign = .absoluteValue, outlierPercent: Double = 2
    )
        throws(ImageError)
    {
        func bad(_ text: String) -> ImageError { ImageError(source: "<attributions>", problem: .invalidArgument(text)) }
        guard height > 0, width > 0, !height.multipliedReportingOverflow(by: width).overflow,
            reduced.count == height * width
        else {
            throw bad("a \(height)x\(width) map needs \(height * width) values, got \(reduced.count)")
        }
        guard outlierPercent >= 0, outlierPercent <= 100 else {
            throw bad("outlier percentage must be in 0...100, got \(outlierPercent)")
        }
        guard reduced.allSatisfy(\.isFinite) else { throw bad("attributions contain NaN or infinity") }
        let filtered: [Float] =
            switch sign {
            case .all: reduced
            case .positive: reduced.map { max($0, 0) }
            case .negative: reduced.map { min($0, 0) }
            case .absoluteValue: reduced.map { abs($0) }
            }
        var t = Self.cumulativeSumThreshold(filtered.map { abs($0) }, percentile: 100 - outlierPercent)
        if sign == .negative { t = -t }
        self.width = width
        self.height = height
        self.sign = sign
        if t == 0 {
            values = [Float](repeating: 0, count: filtered.count)
            threshold = 0
            isDegenerate = true
        } else {
            values = filtered.map { min(max($0 / t, -1), 1) }
            threshold = t
            isDegenerate = false
        }
    }

    /// Captum's `_cumulative_sum_threshold`: sort ascending, running sum c (Float32, left to right),
    /// and return the first sorted value whose c ≥ (c_last·0.01)·p, all in Float32 (numpy ≥ 2 keeps
    /// float32 when multiplying by Python floats). The top (100 − p)% of the *mass* saturates.
    public static func cumulativeSumThreshold(_ values: [Float], percentile: Double) -> Float {
        let sorted = values.sorted()
        guard let lastValue = sorted.last else { return 0 }
        var sums = [Float](repeating: 0, count: sorted.count)
        var running: Float = 0
        for (i, v) in sorted.enumerated() {
            running += v
            sums[i] = running
        }
        let total = sums[sums.count - 1]
        let target = (total * Float(0.01)) * Float(percentile)
        if let i = sums.firstIndex(where: { $0 >= target }) { return sorted[i] }
        return lastValue
    }

    /// `[C, H, W]` → per-pixel channel sum (c₀ + c₁ + … in Float32); `[H, W]` unchanged.
    public static func channelSum(
        _ attributions: Tensor<Float>
    ) throws(ImageError) -> (height: Int, width: Int, values: [Float]) {
        var shape = attributions.shape
        while shape.count > 3, shape.first == 1 { shape.removeFirst() }  // [1, C, H, W] → [C, H, W]
        switch shape.count {
        case 2:
            return (shape[0], shape[1], attributions.storage)
        case 3:
            let (c, h, w) = (shape[0], shape[1], shape[2])
            let plane = h * w
            guard c > 0 else { break }
            var sums = Array(attributions.storage[0..<plane])
            for channel in 1..<c {
                let offset = channel * plane
                for i in 0..<plane { sums[i] += attributions.storage[offset + i] }
            }
            return (h, w, sums)
        default:
            break
        }
        throw ImageError(
            source: "<attributions>",
            problem: .invalidArgument("expected attributions [C, H, W] or [H, W], got \(attributions.shape)"))
    }
}
