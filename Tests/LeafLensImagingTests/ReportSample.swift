import Foundation
import LeafLensImaging
import LeafLensMath

/// A report with every part filled in, drawn from integer formulas: a 56×56 "leaf", an IG-like
/// speckled map and a Grad-CAM-like blob, both views, colour bars, curves, metrics and the shared row.
enum ReportSample {
    static let size = 56

    static func leaf() throws -> RGBImage {
        let n = size
        var pixels = [UInt8](repeating: 0, count: n * n * 3)
        for y in 0..<n {
            for x in 0..<n {
                let dx = Double(x - n / 2) / Double(n / 2), dy = Double(y - n / 2) / Double(n / 3)
                let inside = dx * dx + dy * dy < 0.8
                let vein = abs(x - y) < 2 && inside
                let spot = (x - 34) * (x - 34) + (y - 22) * (y - 22) < 30
                let (r, g, b): (Int, Int, Int) =
                    !inside
                    ? (235, 232, 220) : spot ? (120, 90, 40) : vein ? (150, 190, 110) : (60 + x % 7, 130 + y % 9, 50)
                pixels[(y * n + x) * 3] = UInt8(r)
                pixels[(y * n + x) * 3 + 1] = UInt8(g)
                pixels[(y * n + x) * 3 + 2] = UInt8(b)
            }
        }
        return try RGBImage(width: n, height: n, pixels: pixels)
    }

    /// (IG-like signed speckle concentrated on the spot, CAM-like smooth blob ≥ 0).
    static func maps() throws -> (ig: ReducedAttribution, cam: ReducedAttribution) {
        let n = size
        var ig = [Float](repeating: 0, count: n * n), cam = ig
        for y in 0..<n {
            for x in 0..<n {
                let d2 = Float((x - 34) * (x - 34) + (y - 22) * (y - 22))
                let noise = Float((x * 7919 + y * 104729) % 200) / 100 - 1
                ig[y * n + x] = 0.02 * noise * exp(-d2 / 120) + 0.002 * noise
                cam[y * n + x] = 3 * exp(-d2 / 300)
            }
        }
        return (
            try ReducedAttribution(height: n, width: n, values: ig, unit: "logit·input"),
            try ReducedAttribution(height: n, width: n, values: cam, unit: "CAM")
        )
    }

    static func png(_ image: RGBImage) throws -> Data { try PNGWriter.encode(image) }

    static func report() throws -> HTMLReport {
        let leaf = try leaf()
        let (ig, cam) = try maps()
        var methods: [HTMLReport.Method] = []
        for (name, full, raw, isCAM) in [
            ("integrated-gradients", "Integrated Gradients", ig, false), ("grad-cam", "Grad-CAM", cam, true),
        ] {
            let style = RenderingOptions.defaultStyle(isCAMMethod: isCAM)
            let options = RenderingOptions(
                colorBar: true, overlayBase: RenderingOptions.defaultOverlayBase(for: style), style: style)
            let sign: AttributionSign = isCAM ? .positive : .absoluteValue
            let scale = try AttributionScale.fit([raw], sign: sign, normalization: .outlier)
            let (map, warnings) = scale.apply(raw)
            let heat = try AttributionRenderer.heat(map, style: style).upscaledNearest(4)
            let overlay = try AttributionRenderer.overlay(map, original: leaf, options: options).upscaledNearest(4)
            let masked = try map.maskedImage(original: leaf).upscaledNearest(4)
            let fractions = (0...20).map { Double($0) / 20 }
            methods.append(
                HTMLReport.Method(
                    name: name, heatMapPNG: try png(heat), overlayPNG: try png(overlay),
                    parameters: isCAM
                        ? [("layer", "layer4"), ("sign", "positive")] : [("steps", "32"), ("sign", "absolute_value")],
                    convergenceDelta: isCAM ? nil : -1.2e-3, seconds: isCAM ? 0.05 : 1.5,
                    notes: warnings.map(\.description), fullName: full,
                    colorBar: AttributionRenderer.colorBar(scale: scale, style: style, options: options),
                    extraViews: [("Masked image", try png(masked))],
                    timings: [("forward + backward", isCAM ? 0.04 : 1.2)],
                    metrics: [
                        ("deletion AUC", isCAM ? "0.184" : "0.231"), ("insertion AUC", isCAM ? "0.702" : "0.655"),
                    ],
                    curves: [
                        .init(
                            name: "deletion", fractions: fractions,
                            scores: fractions.map { 0.93 * exp(-6 * $0) + 0.02 }, area: isCAM ? 0.184 : 0.231),
                        .init(
                            name: "insertion", fractions: fractions,
                            scores: fractions.map { 0.93 * (1 - exp(-5 * $0)) }, area: isCAM ? 0.702 : 0.655),
                    ]))
        }
        let shared = try AttributionScale.fit([ig, cam], sign: .absoluteValue, normalization: .outlier)
        let sharedOptions = RenderingOptions(colorBar: true, scale: .perImage)
        let items = try [("Integrated Gradients", ig), ("Grad-CAM", cam)].map { name, raw in
            (name, try png(shared.apply(raw).map.heatMap().upscaledNearest(4)))
        }
        let notes = shared.unitsAgree ? [] : [RenderingWarning.unitsDisagree(shared.units).description]
        return HTMLReport(
            inputName: "samples/Tomato___Early_blight/leaf <1>.png", originalPNG: try png(leaf.upscaledNearest(4)),
            predictions: [
                ("Tomato___Early_blight (29)", 0.912), ("Tomato___Target_Spot (36)", 0.041),
                ("Tomato___Septoria_leaf_spot (33)", 0.022),
                ("Tomato___Late_blight (30)", 0.011), ("Potato___Early_blight (20)", 0.006),
                ("Tomato___healthy (37)", 0.003),
            ],
            methods: methods, details: [("model", "bundled default"), ("input", "photo, 56×56 after preprocessing")],
            comparison: .init(
                items: items,
                colorBar: AttributionRenderer.colorBar(scale: shared, style: .captum, options: sharedOptions),
                notes: notes),
            inputCaption: "Input as the model sees it (shown 4× enlarged, nearest neighbour)")
    }
}
