import LeafLensAttribution
import LeafLensImaging

/// The segments a segment method perturbed, drawn over a picture as one-pixel outlines (a minimal
/// drawing; LeafLensImaging owns the richer rendering).
enum SegmentOutline {
    /// The outline colour: white, visible over every colormap LeafLens draws with.
    static let colour: [UInt8] = [255, 255, 255]

    /// `image` with every `segments.boundaries` pixel painted `colour`; unchanged if the sizes differ.
    static func drawn(_ segments: FeatureSegments, over image: RGBImage) -> RGBImage {
        guard segments.height == image.height, segments.width == image.width else { return image }
        var pixels = image.pixels
        for (p, edge) in segments.boundaries.enumerated() where edge {
            for c in 0..<3 { pixels[3 * p + c] = colour[c] }
        }
        // safe: same width, height and pixel count as `image`.
        return (try? RGBImage(width: image.width, height: image.height, pixels: pixels)) ?? image
    }
}

extension Explainer {
    /// Whether `method`'s map went through a ReLU (its pictures then draw sign positive by default).
    func drawsReLUd(_ method: AttributionMethod) -> Bool {
        method != .gradCAM || settings.gradCAM.relu || settings.cam.postprocessing == .gradCAM
    }
}

extension MethodParameters {
    /// The CAM-family and segment-method parameters, as (name, value) text for reports.
    var camAndSegmentPairs: [(String, String?)] {
        func flag(_ value: Bool?) -> String? { value.map { $0 ? "on" : "off" } }
        return [
            ("layers", layers?.joined(separator: ", ")), ("post-processing", postprocess),
            ("eigen smooth", flag(eigenSmooth)), ("aug smooth", flag(augSmooth)),
            ("CAM batch size", camBatchSize.map(String.init)), ("projection sign", projectionSign),
            ("segments", segments), ("segment count", segmentCount.map(String.init)),
            ("samples", samples.map(String.init)), ("seed", seed.map(String.init)), ("LIME model", limeModel),
            ("LIME alpha", limeAlpha.map { "\($0)" }), ("kernel width", kernelWidth.map { "\($0)" }),
        ]
    }
}
