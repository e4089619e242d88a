import LeafLensMath

/// One attribution reduced to a value per pixel (channel sum, as Captum), before any sign filter or
/// normalization, with the unit its values are in ("gradient", "logit·input", "CAM", …) so that maps
/// drawn on one scale can be checked for agreeing units.
public struct ReducedAttribution: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major `[H, W]`, finite.
    public let values: [Float]
    /// What the values measure; nil when unknown (never disagrees with anything).
    public let unit: String?

    /// Reduces `[C, H, W]` (channel sum), `[H, W]`, or either with leading axes of size 1.
    public init(_ attributions: Tensor<Float>, unit: String? = nil) throws(RenderingError) {
        let reduced: (height: Int, width: Int, values: [Float])
        do {
            reduced = try AttributionMap.channelSum(attributions)
        } catch {
            throw .invalidInput(error.description)
        }
        try self.init(height: reduced.height, width: reduced.width, values: reduced.values, unit: unit)
    }

    public init(height: Int, width: Int, values: [Float], unit: String? = nil) throws(RenderingError) {
        guard height > 0, width > 0, !height.multipliedReportingOverflow(by: width).overflow,
            values.count == height * width
        else {
            throw .invalidInput("a \(height)x\(width) map needs \(height)·\(width) values, got \(values.count)")
        }
        guard values.allSatisfy(\.isFinite) else { throw .invalidInput("attributions contain NaN or infinity") }
        self.width = width
        self.height = height
        self.values = values
        self.unit = unit
    }
}

/// Something a picture's reader should know; rendering still succeeds (never NaN).
public enum RenderingWarning: Sendable, Equatable, CustomStringConvertible {
    /// Every value is 0: the picture is blank.
    case allZero
    /// Every shown value equals this one: a map on its own scale draws blank (a constant carries no
    /// "where"); on a shared scale it is drawn at its level.
    case constant(Float)
    /// Nothing has this sign (e.g. `positive` on a map ≤ 0): the picture is blank.
    case nothingWithSign(AttributionSign)
    /// 0 < scale < 1e-5: Captum warns the picture may be misleading.
    case tinyScale(Float)
    /// A shared scale over maps whose units differ: their colours are not comparable.
    case unitsDisagree([String])

    public var description: String {
        switch self {
        case .allZero: "the attributions are all zero; the picture is blank"
        case .constant(let v): "the attributions are constant (\(v)); on its own scale the picture is blank"
        case .nothingWithSign(let sign): "no attribution has sign \(sign.rawValue); the picture is blank"
        case .tinyScale(let s): "the normalization scale is tiny (\(s)); the picture may be misleading"
        case .unitsDisagree(let units):
            "the maps on this scale have different units (\(units.joined(separator: ", "))); colours are not comparable"
        }
    }
}

/// A colour scale: how raw attributions (after the sign filter) map to colormap positions, fitted
/// over one map (per-map) or several (per-image, shared).
///
/// With m(a) the sign's magnitude (all: a; positive: max(a, 0); negative: max(−a, 0);
/// absolute_value: |a|), the drawn value is
/// - outlier: clip(m / t, −1, 1), t = Captum's cumulative-mass threshold of |m| over every fitted map
///   (the same Float32 operations as `AttributionMap.init`, so per-map output is unchanged);
/// - minMax: (m − lo) / (1e-7 + max(m − lo)), lo = min m (pytorch-grad-cam's `scale_cam_image`);
///   for `all`, a / max|a| so that 0 stays at the centre;
/// - none: clip(m, range) — raw values; the colour bar then shows the colormap's own range.
///
/// `low` and `high` are the attribution values at the bar's two ends (for `negative`, values ≤ 0:
/// `high` is the most negative), and 0 sits at the centre for `all`.
public struct AttributionScale: Sendable, Equatable {
    public let normalization: Normalization
    public let sign: AttributionSign
    public let outlierPercent: Double
    /// Subtracted from m before dividing (min-max only; else 0).
    public let offset: Float
    /// What m − offset is divided by; 0 when every fitted map is blank.
    public let divisor: Float
    /// Attribution values at the left and right ends of the colour bar.
    public let low: Float
    public let high: Float
    /// How many maps the scale was fitted over.
    public let mapCount: Int
    /// The distinct non-nil units of the fitted maps, in first-seen order.
    public let units: [String]
    public var unitsAgree: Bool { units.count <= 1 }

    /// Fits one scale over `maps` (one map: per-map; several: per-image or shared).
    public static func fit(
        _ maps: [ReducedAttribution], sign: AttributionSign, normalization: Normalization, outlierPercent: Double = 2
    ) throws(RenderingError) -> AttributionScale {
        guard !maps.isEmpty else { throw .invalidInput("a colour scale needs at least one map") }
        guard outlierPercent.isFinite, outlierPercent >= 0, outlierPercent < 100 else {
            throw .outlierPercentOutOfRange(outlierPercent)
        }
        var units: [String] = []
        for unit in maps.compactMap(\.unit) where !units.contains(unit) { units.append(unit) }
        let magnitudes = maps.flatMap { magnitude($0.values, sign: sign) }
        var offset: Float = 0, divisor: Float = 0, low: Float = 0, high: Float = 0
        switch normalization {
        case .outlier:
            // Captum thresholds the sign-filtered |values|; for every sign that is |m|.
            divisor = AttributionMap.cumulativeSumThreshold(
                magnitudes.map { abs($0) }, percentile: 100 - outlierPercent)
            (low, high) = sign == .all ? (-divisor, divisor) : (0, divisor)
        case .minMax:
            if sign == .all {
                divisor = magnitudes.map { abs($0) }.max() ?? 0
                (low, high) = (-divisor, divisor)
            } else {
                let lo = magnitudes.min() ?? 0
                let span = (magnitudes.max() ?? 0) - lo
                offset = lo
                divisor = span > 0 ? Float(1e-7) + span : 0
                (low, high) = (lo, lo + span)
            }
        case .none:
            divisor = 1
            (low, high) = sign == .all ? (-1, 1) : (0, 1)
        }
        if sign == .negative { (low, high) = (-low, -high) }
        return AttributionScale(
            normalization: normalization, sign: sign, outlierPercent: outlierPercent, offset: offset, divisor: divisor,
            low: low, high: high, mapCount: maps.count, units: units)
    }

    /// Draws `map` on this scale: the values to colour, and what the reader should be told.
    ///
    /// A blank map (all zero, nothing with the sign, or constant on its own scale) gives all-zero
    /// values and a warning; nothing here produces NaN.
    public func apply(_ map: ReducedAttribution) -> (map: AttributionMap, warnings: [RenderingWarning]) {
        var warnings: [RenderingWarning] = []
        if mapCount > 1, !unitsAgree { warnings.append(.unitsDisagree(units)) }
        let m = Self.magnitude(map.values, sign: sign)
        let lo = m.min() ?? 0, hi = m.max() ?? 0
        func blank(_ reason: RenderingWarning) -> (map: AttributionMap, warnings: [RenderingWarning]) {
            let zeros = [Float](repeating: 0, count: m.count)
            return (
                AttributionMap(
                    width: map.width, height: map.height, values: zeros, sign: sign, threshold: 0, isDegenerate: true),
                warnings + [reason]
            )
        }
        if lo == 0, hi == 0 {
            return blank(map.values.allSatisfy { $0 == 0 } ? .allZero : .nothingWithSign(sign))
        }
        if lo == hi {
            if mapCount == 1 { return blank(.constant(lo)) }
            warnings.append(.constant(lo))
        }
        if normalization != Normalization.none, divisor == 0 { return blank(.allZero) }
        let values: [Float]
        switch normalization {
        case .outlier:
            // Exactly `AttributionMap.init`'s operations: clip(filtered / t, −1, 1) with t < 0 for `negative`.
            let filtered = Self.filtered(map.values, sign: sign)
            let t = sign == .negative ? -divisor : divisor
            values = filtered.map { min(max($0 / t, -1), 1) }
            if divisor < 1e-5 { warnings.append(.tinyScale(divisor)) }
        case .minMax:
            values = m.map { (($0 - offset) / divisor).clamped(sign == .all ? -1 : 0, 1) }
        case .none:
            values = m.map { $0.clamped(sign == .all ? -1 : 0, 1) }
        }
        let threshold = sign == .negative ? -divisor : divisor
        return (
            AttributionMap(
                width: map.width, height: map.height, values: values, sign: sign, threshold: threshold,
                isDegenerate: false),
            warnings
        )
    }

    /// Where 0 sits on the bar (0.5 for `all`, the left end otherwise unless min-max moved it).
    public var ticks: [(position: Double, value: Float)] {
        sign == .all ? [(0, low), (0.5, 0), (1, high)] : [(0, low), (1, high)]
    }

    /// Captum's sign filter: all → a, positive → max(a, 0), negative → min(a, 0), absolute → |a|.
    static func filtered(_ values: [Float], sign: AttributionSign) -> [Float] {
        switch sign {
        case .all: values
        case .positive: values.map { max($0, 0) }
        case .negative: values.map { min($0, 0) }
        case .absoluteValue: values.map { abs($0) }
        }
    }

    /// The shown magnitude: the sign filter, with `negative` flipped to ≥ 0.
    static func magnitude(_ values: [Float], sign: AttributionSign) -> [Float] {
        sign == .negative ? values.map { max(-$0, 0) } : filtered(values, sign: sign)
    }
}

extension Float {
    @inline(__always)
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(Swift.max(self, low), high) }
}

extension AttributionMap {
    /// A map whose values were computed elsewhere in this module (`AttributionScale.apply`).
    init(width: Int, height: Int, values: [Float], sign: AttributionSign, threshold: Float, isDegenerate: Bool) {
        self.width = width
        self.height = height
        self.values = values
        self.sign = sign
        self.threshold = threshold
        self.isDegenerate = isDegenerate
    }
}
