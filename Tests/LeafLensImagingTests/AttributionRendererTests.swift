import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("AttributionRenderer")
struct AttributionRendererTests {
    /// A small deterministic map and picture (integer formulas).
    static func sample(width: Int = 9, height: Int = 7) throws -> (ReducedAttribution, RGBImage) {
        let values = (0..<(width * height)).map { i in Float((i * 37) % 23) / 7 - 1.2 }
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: ($0 * 53 + 11) % 256) }
        return (
            try ReducedAttribution(height: height, width: width, values: values),
            try RGBImage(width: width, height: height, pixels: pixels)
        )
    }

    /// `masked_image` and `alpha_scaling` against Captum's `visualize_image_attr` arrays.
    @Test(arguments: VisualisationManifest.captumCases)
    func maskedAndAlphaMatchCaptum(_ c: VisualisationManifest.CaptumCase) throws {
        let image = try VisualisationManifest.image(c.image, width: c.width, height: c.height)
        let attributions = try VisualisationManifest.floats(c.map)  // [H, W, 3]: Captum's layout
        let chw = try Tensor<Float>(
            shape: [3, c.height, c.width],
            storage: (0..<3).flatMap { ch in (0..<(c.height * c.width)).map { attributions.storage[$0 * 3 + ch] } })
        let sign = try #require(AttributionSign(rawValue: c.sign))
        let raw = try ReducedAttribution(chw)
        let (map, _) = try AttributionScale.fit(
            [raw], sign: sign, normalization: .outlier, outlierPercent: c.outlier_perc
        )
        .apply(raw)
        let options = RenderingOptions(outlierPercent: c.outlier_perc, views: [.masked, .alpha])
        guard
            case .rgb(let masked) = try AttributionRenderer.render(.masked, map: map, original: image, options: options),
            case .rgba(let alpha) = try AttributionRenderer.render(.alpha, map: map, original: image, options: options)
        else {
            Issue.record("wrong picture kinds")
            return
        }
        let worstMasked = try expectBytes(
            masked.pixels, try VisualisationManifest.bytes(c.masked), shape: [c.height, c.width, 3], levels: 1,
            "\(c.name): masked")
        let worstAlpha = try expectBytes(
            alpha.pixels, try VisualisationManifest.bytes(c.alpha), shape: [c.height, c.width, 4], levels: 1,
            "\(c.name): alpha")
        #expect(worstMasked <= 1 && worstAlpha <= 1)
    }

    /// `RenderingOptions()` draws exactly what LeafLens drew before it existed.
    @Test func defaultOptionsReproduceTodaysPictures() throws {
        let (raw, image) = try Self.sample()
        for sign in AttributionSign.allCases {
            let old = try AttributionMap(
                try Tensor(shape: [raw.height, raw.width], storage: raw.values), sign: sign, outlierPercent: 2)
            let (new, _) = try AttributionScale.fit([raw], sign: sign, normalization: .outlier).apply(raw)
            #expect(new == old, "\(sign): normalized map")
            #expect(
                try AttributionRenderer.render(.heat, map: new, original: image, options: .standard)
                    == .rgb(old.heatMap()))
            #expect(
                try AttributionRenderer.render(.overlay, map: new, original: image, options: .standard)
                    == .rgb(try old.blendedHeatMap(original: image)))
        }
    }

    @Test func maskedAndAlphaWithSignAllAreTypedErrors() throws {
        let (raw, image) = try Self.sample()
        let (map, _) = try AttributionScale.fit([raw], sign: .all, normalization: .outlier).apply(raw)
        for view in [AttributionView.masked, .alpha] {
            #expect(throws: RenderingError.viewNeedsSign(view)) {
                _ = try AttributionRenderer.render(view, map: map, original: image, options: .standard)
            }
            #expect(throws: RenderingError.viewNeedsSign(view)) {
                try RenderingOptions(views: [.heat, view]).validate(sign: .all)
            }
        }
        try RenderingOptions(views: [.heat, .overlay, .original]).validate(sign: .all)
        try RenderingOptions(views: [.masked, .alpha]).validate(sign: .positive)
    }

    @Test func badOptionsAreTypedErrors() throws {
        let (raw, image) = try Self.sample()
        let (map, _) = try AttributionScale.fit([raw], sign: .positive, normalization: .outlier).apply(raw)
        for weight in [-0.5, 1.5] {
            for style in OverlayStyle.allCases {
                #expect(throws: RenderingError.imageWeightOutOfRange(weight)) {
                    _ = try AttributionRenderer.render(
                        .overlay, map: map, original: image,
                        options: RenderingOptions(imageWeight: weight, style: style))
                }
            }
        }
        #expect(throws: RenderingError.unknownChoice(option: "style", value: "jet", choices: ["captum", "grad-cam"])) {
            _ = try OverlayStyle(parsing: "jet")
        }
        #expect(throws: RenderingError.self) { _ = try Normalization(parsing: "zscore") }
        #expect(throws: RenderingError.self) { _ = try ScaleScope(parsing: "global") }
        #expect(throws: RenderingError.self) { _ = try OverlayBase(parsing: "sepia") }
        #expect(throws: RenderingError.self) { _ = try AttributionView.parseList("heat,contour") }
        #expect(throws: RenderingError.noViews) { _ = try AttributionView.parseList("") }
        #expect(try AttributionView.parseList("heat, overlay,heat,alpha") == [.heat, .overlay, .alpha])
        #expect(try OverlayStyle(parsing: "grad-cam") == .gradCAM)
        #expect(throws: RenderingError.self) {
            _ = try AttributionRenderer.render(.overlay, map: map, original: nil, options: .standard)
        }
        let small = try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 12))
        #expect(throws: RenderingError.self) {
            _ = try AttributionRenderer.render(.overlay, map: map, original: small, options: .standard)
        }
    }

    @Test func defaultStylePerMethodFamily() {
        #expect(RenderingOptions.defaultStyle(isCAMMethod: true) == .gradCAM)
        #expect(RenderingOptions.defaultStyle(isCAMMethod: false) == .captum)
        #expect(RenderingOptions.defaultOverlayBase(for: .gradCAM) == .color)
        #expect(RenderingOptions.defaultOverlayBase(for: .captum) == .gray)
    }

    /// Every view in both styles: right size, right kind, and the original view is the input.
    @Test(arguments: OverlayStyle.allCases)
    func everyViewRenders(_ style: OverlayStyle) throws {
        let (raw, image) = try Self.sample()
        let (map, _) = try AttributionScale.fit([raw], sign: .absoluteValue, normalization: .outlier).apply(raw)
        for base in OverlayBase.allCases {
            let options = RenderingOptions(
                overlayBase: base, imageWeight: 0.3, style: style, views: AttributionView.allCases)
            for view in AttributionView.allCases {
                let picture = try AttributionRenderer.render(view, map: map, original: image, options: options)
                #expect(picture.width == image.width)
                if view == .original { #expect(picture == .rgb(image)) }
                if view == .alpha, case .rgb = picture { Issue.record("alpha must be RGBA") }
            }
        }
    }

    /// Captum style over the colour image at weight 1 is the image; at weight 0 it is the heat map.
    @Test func captumColorOverlayEndpoints() throws {
        let (raw, image) = try Self.sample()
        let (map, _) = try AttributionScale.fit([raw], sign: .positive, normalization: .outlier).apply(raw)
        let one = try AttributionRenderer.overlay(
            map, original: image, options: RenderingOptions(overlayBase: .color, imageWeight: 1))
        #expect(one == image)
        let zero = try AttributionRenderer.overlay(
            map, original: image, options: RenderingOptions(overlayBase: .color, imageWeight: 0))
        #expect(zero == map.heatMap())
    }

    @Test func alphaFlattensOverWhite() throws {
        let rgba = try RGBAImage(width: 2, height: 1, pixels: [200, 100, 0, 255, 200, 100, 0, 0])
        #expect(RenderedPicture.rgba(rgba).flattened().pixels == [200, 100, 0, 255, 255, 255])
    }
}
