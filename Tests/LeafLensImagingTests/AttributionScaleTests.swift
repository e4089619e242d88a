import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("AttributionScale")
struct AttributionScaleTests {
    static func map(_ values: [Float], width: Int? = nil, unit: String? = nil) throws -> ReducedAttribution {
        let w = width ?? values.count
        return try ReducedAttribution(height: values.count / w, width: w, values: values, unit: unit)
    }

    /// A non-negative map with distinct values, and the same map times two.
    static let base: [Float] = (0..<30).map { Float(($0 * 7) % 30 + 1) / 10 }

    /// Shared scales keep ratios: B = 2·A reaches twice as far up the bar as A at every pixel
    /// (where B is not clipped), for every normalization and sign that shows magnitudes.
    @Test(arguments: Normalization.allCases)
    func sharedScaleKeepsRatios(_ normalization: Normalization) throws {
        let scaleDown: Float = normalization == .none ? 1 / 8 : 1  // keep raw values inside [0, 1]
        let a = try Self.map(Self.base.map { $0 * scaleDown }, width: 6)
        let b = try Self.map(Self.base.map { 2 * $0 * scaleDown }, width: 6)
        for sign in [AttributionSign.positive, .absoluteValue, .all] {
            // Outlier 0 saturates nothing (t = the largest value), so nothing is clipped.
            let scale = try AttributionScale.fit([a, b], sign: sign, normalization: normalization, outlierPercent: 0)
            #expect(scale.mapCount == 2 && scale.unitsAgree)
            let (ma, wa) = scale.apply(a), (mb, wb) = scale.apply(b)
            #expect(wa.isEmpty && wb.isEmpty, "\(wa) \(wb)")
            if normalization == .minMax, sign != .all {
                // min-max subtracts the shared minimum first: ratios hold for the distances from it.
                let lo = scale.low
                let da = a.values.map { ($0 - lo) / (scale.high - lo) },
                    db = b.values.map { ($0 - lo) / (scale.high - lo) }
                expectClose(ma.values, da, atol: 1e-6, rtol: 1e-5, "\(normalization) \(sign): A")
                expectClose(mb.values, db, atol: 1e-6, rtol: 1e-5, "\(normalization) \(sign): B")
                continue
            }
            expectClose(
                mb.values, ma.values.map { 2 * $0 }, atol: 1e-6, rtol: 1e-6, "\(normalization) \(sign): B = 2·A")
            #expect(abs(mb.values.max()! - 2 * ma.values.max()!) <= 1e-6)
        }
    }

    /// Per-map scales do not keep ratios: both maps fill the bar.
    @Test func perMapScalesDoNotCompare() throws {
        let a = try Self.map(Self.base), b = try Self.map(Self.base.map { 2 * $0 })
        for map in [a, b] {
            let (m, _) = try AttributionScale.fit([map], sign: .positive, normalization: .outlier, outlierPercent: 0)
                .apply(map)
            #expect(m.values.max() == 1)
        }
    }

    /// Constant and all-zero maps draw blank with a warning, never NaN, for every normalization.
    @Test(arguments: Normalization.allCases)
    func constantAndZeroMapsAreBlankWithAWarning(_ normalization: Normalization) throws {
        let cases: [([Float], AttributionSign, RenderingWarning)] = [
            ([Float](repeating: 0, count: 12), .absoluteValue, .allZero),
            ([Float](repeating: 0, count: 12), .all, .allZero),
            ([Float](repeating: 0.25, count: 12), .positive, .constant(0.25)),
            ([Float](repeating: -3, count: 12), .all, .constant(-3)),
            ([Float](repeating: -3, count: 12), .positive, .nothingWithSign(.positive)),
        ]
        for (values, sign, warning) in cases {
            let raw = try Self.map(values, width: 4)
            let (map, warnings) = try AttributionScale.fit([raw], sign: sign, normalization: normalization).apply(raw)
            #expect(warnings == [warning], "\(values[0]) \(sign)")
            #expect(map.values.allSatisfy { $0 == 0 }, "blank")
            #expect(map.isDegenerate)
            let image = try RGBImage(width: 4, height: 3, pixels: [UInt8](repeating: 90, count: 36))
            for style in OverlayStyle.allCases {
                let options = RenderingOptions(normalization: normalization, style: style)
                _ = try AttributionRenderer.render(.overlay, map: map, original: image, options: options)
            }
        }
    }

    /// On a shared scale a constant map is drawn at its level (with the warning); zeros stay blank.
    @Test func constantMapOnASharedScaleKeepsItsLevel() throws {
        let constant = try Self.map([Float](repeating: 1, count: 6)), ramp = try Self.map([0, 1, 2, 3, 4, 4])
        let scale = try AttributionScale.fit(
            [constant, ramp], sign: .positive, normalization: .outlier, outlierPercent: 0)
        let (m, warnings) = scale.apply(constant)
        #expect(warnings == [.constant(1)])
        #expect(m.values == [Float](repeating: 0.25, count: 6))
    }

    @Test func unitsThatDisagreeAreFlagged() throws {
        let a = try Self.map(Self.base, unit: "gradient"), b = try Self.map(Self.base, unit: "CAM")
        let c = try Self.map(Self.base, unit: nil)
        let scale = try AttributionScale.fit([a, b, c], sign: .absoluteValue, normalization: .outlier)
        #expect(!scale.unitsAgree)
        #expect(scale.units == ["gradient", "CAM"])
        #expect(scale.apply(a).warnings == [.unitsDisagree(["gradient", "CAM"])])
        #expect(try AttributionScale.fit([a, c], sign: .absoluteValue, normalization: .outlier).unitsAgree)
    }

    /// Per-map outlier equals `AttributionMap.init` exactly (values and threshold), every sign.
    @Test func perMapOutlierIsCaptumsNormalization() throws {
        let values = (0..<48).map { Float(($0 * 29) % 17) / 3 - 2.5 }
        let raw = try Self.map(values, width: 8)
        for sign in AttributionSign.allCases {
            for outlier in [0.0, 2, 10, 50] {
                let old = try AttributionMap(height: 6, width: 8, reduced: values, sign: sign, outlierPercent: outlier)
                let scale = try AttributionScale.fit(
                    [raw], sign: sign, normalization: .outlier, outlierPercent: outlier)
                #expect(scale.apply(raw).map == old, "\(sign) \(outlier)")
            }
        }
    }

    /// The bar's ends are the values mapped to them; 0 sits at the centre for sign `all`.
    @Test func ticksAreInAttributionUnits() throws {
        let raw = try Self.map([-4, -1, 0, 1, 2, 3])
        let all = try AttributionScale.fit([raw], sign: .all, normalization: .minMax)
        #expect(all.ticks.map(\.value) == [-4, 0, 4])
        #expect(all.ticks.map(\.position) == [0, 0.5, 1])
        let positive = try AttributionScale.fit([raw], sign: .positive, normalization: .minMax)
        #expect(positive.ticks.map(\.value) == [0, 3])
        let negative = try AttributionScale.fit([raw], sign: .negative, normalization: .outlier, outlierPercent: 0)
        #expect(negative.ticks.map(\.value) == [0, -4])
        let none = try AttributionScale.fit([raw], sign: .all, normalization: .none)
        #expect(none.ticks.map(\.value) == [-1, 0, 1])
        // min-max of |a| starts at the smallest magnitude, not at 0.
        let shifted = try Self.map([2, 3, 5])
        #expect(
            try AttributionScale.fit([shifted], sign: .absoluteValue, normalization: .minMax).ticks.map(\.value) == [
                2, 5,
            ])
    }

    @Test func noneClipsRawValues() throws {
        let raw = try Self.map([-2, -0.5, 0.25, 0.75, 3])
        #expect(
            try AttributionScale.fit([raw], sign: .all, normalization: .none).apply(raw).map.values == [
                -1, -0.5, 0.25, 0.75, 1,
            ])
        #expect(
            try AttributionScale.fit([raw], sign: .negative, normalization: .none).apply(raw).map.values == [
                1, 0.5, 0, 0, 0,
            ])
    }

    @Test func badInputIsATypedError() throws {
        #expect(throws: RenderingError.self) { _ = try ReducedAttribution(height: 2, width: 2, values: [1, 2, 3]) }
        #expect(throws: RenderingError.self) { _ = try ReducedAttribution(height: 1, width: 2, values: [1, .nan]) }
        #expect(throws: RenderingError.self) {
            _ = try AttributionScale.fit([], sign: .all, normalization: .outlier)
        }
        let raw = try Self.map([1, 2])
        #expect(throws: RenderingError.outlierPercentOutOfRange(100)) {
            _ = try AttributionScale.fit([raw], sign: .all, normalization: .outlier, outlierPercent: 100)
        }
    }

    @Test func normalizationText() {
        #expect(RenderingOptions().normalizationText() == "outliers 2%, per map")
        #expect(
            RenderingOptions(scale: .shared, normalization: .minMax).normalizationText(sharedMapCount: 4)
                == "min-max, shared (4 maps)")
        #expect(
            RenderingOptions(scale: .perImage, normalization: .none, outlierPercent: 2.5).normalizationText()
                == "raw values, per image")
        #expect(RenderingOptions(outlierPercent: 2.5).normalizationText() == "outliers 2.5%, per map")
    }
}
