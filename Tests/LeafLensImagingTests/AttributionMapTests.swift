import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct AttributionMapTests {
    struct ThresholdCase: Sendable, CustomTestStringConvertible {
        let values: [Float], percentile: Double, expected: Float
        var testDescription: String { "\(values.count) values, p = \(percentile) → \(expected)" }
    }

    /// Known answers from the Captum behaviour notes (§6): |a| = 1…100 with 2% outliers → 99;
    /// [1, 2, 3, 4, 5, 100] → 100 for p = 98 and p = 90; p = 0 → the smallest value.
    @Test(arguments: [
        ThresholdCase(values: (1...100).map(Float.init), percentile: 98, expected: 99),
        ThresholdCase(values: [1, 2, 3, 4, 5, 100], percentile: 98, expected: 100),
        ThresholdCase(values: [1, 2, 3, 4, 5, 100], percentile: 90, expected: 100),
        ThresholdCase(values: [5, 3, 9, 1], percentile: 0, expected: 1),
        ThresholdCase(values: [0, 0, 0], percentile: 98, expected: 0),
    ])
    func cumulativeSumThreshold(_ c: ThresholdCase) {
        #expect(AttributionMap.cumulativeSumThreshold(c.values, percentile: c.percentile) == c.expected)
    }

    /// `_normalize_attr` on a channel-summed [3, 12, 10] float32 map, every sign, outliers 2/10/0 %:
    /// thresholds and normalized values equal Captum's exactly.
    @Test(arguments: ImagingFixtures.visualizationCases)
    func matchesCaptumNormalization(_ c: ImagingManifest.Visualization.Case) throws {
        let manifest = try ImagingFixtures.manifestResult.get().visualization
        let attr = try NPY.read(ImagingFixtures.url("visualization/" + manifest.attr), as: Float.self)
        let all = try NPY.read(ImagingFixtures.url("visualization/" + manifest.normalized), as: Float.self)
        let sign = try #require(AttributionSign(rawValue: c.sign))
        let map = try AttributionMap(attr, sign: sign, outlierPercent: c.outlier_perc)
        #expect(Double(abs(map.threshold)) == abs(c.threshold))
        #expect(!map.isDegenerate)
        let expected = all.item(c.index)
        let actual = try Tensor<Float>(shape: [map.height, map.width], storage: map.values)
        expectClose(actual, expected, atol: 0, rtol: 0, "\(c.sign) \(c.outlier_perc)")
    }

    /// The channel reduction is numpy's sum over the channel axis, in Float32.
    @Test func channelSumMatchesNumpy() throws {
        let manifest = try ImagingFixtures.manifestResult.get().visualization
        let attr = try NPY.read(ImagingFixtures.url("visualization/" + manifest.attr), as: Float.self)
        let expected = try NPY.read(ImagingFixtures.url("visualization/" + manifest.channel_sum), as: Float.self)
        let (h, w, sums) = try AttributionMap.channelSum(attr)
        expectClose(try Tensor<Float>(shape: [h, w], storage: sums), expected, atol: 0, rtol: 0)
        // A leading batch axis of 1 and a plain [H, W] map are accepted too.
        let batched = try AttributionMap(try attr.reshaped([1, 3, 12, 10]))
        let plain = try AttributionMap(expected)
        #expect(batched == plain)
    }

    /// All zeros (and `positive` with nothing positive) would be Captum 0.9's "Cannot normalize by scale
    /// factor = 0"; here: an all-zero map flagged degenerate, and every rendering works without NaN.
    @Test(arguments: AttributionSign.allCases)
    func degenerateMapsRenderWithoutNaN(_ sign: AttributionSign) throws {
        let zeros = Tensor<Float>(zeros: [3, 6, 4])
        let map = try AttributionMap(zeros, sign: sign)
        #expect(map.isDegenerate && map.threshold == 0)
        #expect(map.values.allSatisfy { $0 == 0 })
        let original = try RGBImage(width: 4, height: 6, pixels: (0..<72).map { UInt8($0 * 3) })
        let heat = map.heatMap()
        #expect(heat.width == 4 && heat.height == 6)
        _ = try map.blendedHeatMap(original: original)
        if sign != .all {
            #expect(try map.maskedImage(original: original).pixels.allSatisfy { $0 == 0 })
            #expect(
                try map.alphaScaling(original: original).pixels.enumerated().allSatisfy {
                    $0.offset % 4 != 3 || $0.element == 0
                })
        }
        let negativeOnly = try Tensor<Float>(shape: [2, 2], storage: [-1, -2, -3, 0])
        #expect(try AttributionMap(negativeOnly, sign: .positive).isDegenerate)
        #expect(try !AttributionMap(negativeOnly, sign: .negative).isDegenerate)
    }

    @Test func negativeSignGivesMagnitudes() throws {
        let values = try Tensor<Float>(shape: [1, 4], storage: [-4, -2, 1, 0])
        let map = try AttributionMap(values, sign: .negative, outlierPercent: 0)
        // |min(a, 0)| = [4, 2, 0, 0]; p = 100 → threshold 4, negated.
        #expect(map.threshold == -4)
        #expect(map.values == [1, 0.5, -0, -0])
    }

    @Test func rejectsBadInput() throws {
        let nan = try Tensor<Float>(shape: [2, 2], storage: [1, .nan, 0, 2])
        #expect(throws: ImageError.self) { try AttributionMap(nan) }
        #expect(throws: ImageError.self) { try AttributionMap(Tensor<Float>(zeros: [2, 3, 4, 5])) }
        #expect(throws: ImageError.self) { try AttributionMap(Tensor<Float>(zeros: [2, 2]), outlierPercent: 120) }
        let map = try AttributionMap(try Tensor<Float>(shape: [2, 2], storage: [1, -1, 2, 0]), sign: .all)
        let original = try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 100, count: 12))
        #expect(throws: ImageError.self) { try map.maskedImage(original: original) }
        #expect(throws: ImageError.self) { try map.alphaScaling(original: original) }
        let wrongSize = try RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 1, count: 18))
        #expect(throws: ImageError.self) { try map.blendedHeatMap(original: wrongSize) }
    }
}

@Suite struct AttributionRenderingTests {
    static let original = try! RGBImage(
        width: 3, height: 1, pixels: [200, 100, 0, 10, 20, 30, 255, 255, 255])

    /// `masked_image` truncates original·v; `alpha_scaling` puts Int(v·255) in alpha.
    @Test func maskedAndAlphaScaled() throws {
        let map = try AttributionMap(height: 1, width: 3, reduced: [1, 0.5, 0.25], sign: .positive, outlierPercent: 0)
        #expect(map.values == [1, 0.5, 0.25])
        #expect(try map.maskedImage(original: Self.original).pixels == [200, 100, 0, 5, 10, 15, 63, 63, 63])
        let rgba = try map.alphaScaling(original: Self.original)
        #expect(rgba.pixels == [200, 100, 0, 255, 10, 20, 30, 127, 255, 255, 255, 63])
    }

    /// Heat map colours for sign `all` equal matplotlib's `RdWhGn(Normalize(-1, 1)(v))` on Captum's map.
    @Test func heatMapColoursMatchMatplotlib() throws {
        let manifest = try ImagingFixtures.manifestResult.get().visualization
        let attr = try NPY.read(ImagingFixtures.url("visualization/" + manifest.attr), as: Float.self)
        let expected = try NPY.read(
            ImagingFixtures.url("visualization/" + manifest.heat_map_all_colours), as: Double.self)
        let map = try AttributionMap(attr, sign: .all, outlierPercent: 2)
        var colours: [Double] = []
        for v in map.values {
            let c = Colormap.rdWhGn.color(normalized: (v + 1) / 2)
            colours += [c.r, c.g, c.b]
        }
        expectClose(try Tensor<Double>(shape: [12, 10, 3], storage: colours), expected, atol: 1e-12, rtol: 0)
        let heat = map.heatMap()
        expectClose(heat.pixels.map(Double.init), expected.storage.map { ($0 * 255).rounded() }, atol: 0, rtol: 0)
    }

    /// Blend: grey (channel mean stretched to its min…max) and heat colour mixed half and half.
    @Test func blendedHeatMap() throws {
        let map = try AttributionMap(height: 1, width: 3, reduced: [0, 0, 0], sign: .all)
        let blended = try map.blendedHeatMap(original: Self.original)
        // Means 100, 20, 255 → stretched 0.3404, 0, 1 → gray entries 87, 0, 255; heat = LUT[128].
        let lut = Colormap.rdWhGn.color(normalized: 0.5)
        let greys = [87.0 / 255, 0, 1]
        var expected: [Double] = []
        for g in greys { expected += [lut.r, lut.g, lut.b].map { ((0.5 * $0 + 0.5 * g) * 255).rounded() } }
        #expect(blended.pixels.map(Double.init) == expected)
    }
}
