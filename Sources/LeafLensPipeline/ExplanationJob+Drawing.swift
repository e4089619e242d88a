import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

/// One method's attributions as `explain` draws them: reduced to `[H, W]` (channel sum) with the sign
/// its pictures use. This is all a colour scale needs, so `--scale shared` keeps only these.
struct ComputedMethod: Sendable {
    var method: AttributionMethod
    var explanation: Explanation
    var reduced: ReducedAttribution
    var sign: AttributionSign
}

/// One method's pictures on its scale: the files the chosen views write, and what the panel and the
/// report show (heat map and overlay are always drawn for them, written only when asked for).
struct MethodDrawing {
    var map: AttributionMap
    var scale: AttributionScale
    var warnings: [RenderingWarning]
    var options: RenderingOptions
    var colorBar: ColorBar
    var colormapName: String
    var heatMap: RGBImage
    var overlay: RGBImage
    var heatMapPNG: Data
    var overlayPNG: Data
    /// (file name, PNG) of every requested view except `original` (written once per input).
    var files: [(name: String, data: Data)]
    /// (caption, PNG) of the masked and alpha views, for the report.
    var extraViews: [(String, Data)]

    var blank: Bool { map.isDegenerate }
}

extension ExplanationJob {
    /// The view's file name for `<stem>.<method>`.
    static func fileName(_ view: AttributionView, base: String, stem: String) -> String {
        switch view {
        case .heat: "\(base).png"
        case .overlay: "\(base).overlay.png"
        case .masked: "\(base).masked.png"
        case .alpha: "\(base).alpha.png"
        case .original: "\(stem).original.png"
        }
    }

    func computed(_ explanation: Explanation, path: String) throws -> ComputedMethod {
        let method = explanation.method
        let sign = visualization.sign(for: method, relu: explainer.settings.gradCAM.relu)
        do throws(RenderingError) {
            try visualization.rendering.validate(sign: sign)
            let reduced = try ReducedAttribution(explanation.displayed, unit: RenderingSettings.unit(of: explanation))
            return ComputedMethod(method: method, explanation: explanation, reduced: reduced, sign: sign)
        } catch {
            throw PipelineError("\(path): \(method.rawValue): cannot draw the attributions (\(error))")
        }
    }

    /// Each method's colour scale: its own (per-map), one per sign over the image's methods
    /// (per-image), or the run's (shared, fitted over the stored maps of every input by `withSharedScales`;
    /// a method without one falls back to per-map).
    func scales(for methods: [ComputedMethod], path: String) throws -> [AttributionScale] {
        let settings = visualization.rendering
        do throws(RenderingError) {
            return try methods.map { item throws(RenderingError) -> AttributionScale in
                switch settings.scale {
                case .shared:
                    // Fitted over the run's inputs beforehand (`withSharedScales`).
                    if let scale = settings.sharedScales[item.method], scale.sign == item.sign { return scale }
                case .perImage:
                    let group = methods.filter { $0.sign == item.sign }.map(\.reduced)
                    return try AttributionScale.fit(
                        group, sign: item.sign, normalization: settings.normalization,
                        outlierPercent: visualization.outlierPercent)
                case .perMap:
                    break
                }
                return try AttributionScale.fit(
                    [item.reduced], sign: item.sign, normalization: settings.normalization,
                    outlierPercent: visualization.outlierPercent)
            }
        } catch {
            throw PipelineError("\(path): cannot fit the colour scales (\(error))")
        }
    }

    /// Draws one method's views on `scale`.
    func draw(
        _ item: ComputedMethod, scale: AttributionScale, input: LoadedInput, base: String, path: String
    ) throws
        -> MethodDrawing
    {
        let settings = visualization.rendering
        let options = settings.options(for: item.method, outlierPercent: visualization.outlierPercent)
        let colormap = visualization.colormap.flatMap(Colormap.named)
        let (map, warnings) = scale.apply(item.reduced)
        let bar = AttributionRenderer.colorBar(scale: scale, style: options.style, options: options, colormap: colormap)
        do {
            let display = input.displayImage
            let heat = try AttributionRenderer.heat(map, style: options.style, colormap: colormap)
            var overlay = try AttributionRenderer.overlay(map, original: display, options: options, colormap: colormap)
            // Segment methods: the segments outlined over the overlay (and so the panel).
            if let segments = item.explanation.segments { overlay = SegmentOutline.drawn(segments, over: overlay) }
            var files: [(name: String, data: Data)] = []
            var extras: [(String, Data)] = []
            for view in options.views where view != .original {
                let png: Data
                switch view {
                case .heat, .overlay:
                    let picture = view == .heat ? heat : overlay
                    png = try PNGWriter.encode(options.colorBar ? bar.attached(below: picture) : picture)
                default:
                    let picture = try AttributionRenderer.render(
                        view, map: map, original: display, options: options, colormap: colormap)
                    switch picture {
                    case .rgb(let image): png = try PNGWriter.encode(image)
                    case .rgba(let image): png = try PNGWriter.encode(image)
                    }
                    extras.append((view == .masked ? "Masked image" : "Alpha scaling", png))
                }
                files.append((Self.fileName(view, base: base, stem: ""), png))
            }
            return MethodDrawing(
                map: map, scale: scale, warnings: warnings, options: options, colorBar: bar,
                colormapName: options.style == .gradCAM ? "opencv-jet" : (colormap ?? item.sign.defaultColormap).name,
                heatMap: heat, overlay: overlay, heatMapPNG: try PNGWriter.encode(heat),
                overlayPNG: try PNGWriter.encode(overlay), files: files, extraViews: extras)
        } catch {
            throw PipelineError("\(path): \(item.method.rawValue): cannot draw the attributions (\(error))")
        }
    }

    /// The warning lines `explain` prints for one method's pictures.
    static func warningLines(
        _ drawing: MethodDrawing, method: AttributionMethod, sign: AttributionSign, path: String
    )
        -> [String]
    {
        drawing.warnings.enumerated().map { index, warning in
            // A blank map's reason is its last warning.
            drawing.blank && index == drawing.warnings.count - 1
                ? "\(path): \(method.rawValue) attributions normalize to nothing with sign \(sign.rawValue); "
                    + "the heat map is blank (\(warning))"
                : "\(path): \(method.rawValue): \(warning)"
        }
    }

    /// The JSON record's `rendering` entry.
    static func renderingRecord(_ drawing: MethodDrawing) -> ExplanationRecord.Rendering {
        let options = drawing.options
        return ExplanationRecord.Rendering(
            style: options.style.rawValue, overlayBase: options.overlayBase.rawValue, imageWeight: options.imageWeight,
            normalization: options.normalization.rawValue, scale: options.scale.rawValue,
            scaleMaps: drawing.scale.mapCount, scaleLow: Double(drawing.scale.low),
            scaleHigh: Double(drawing.scale.high),
            colorBar: options.colorBar, views: options.views.map(\.rawValue), typeface: Typeface.standard.name,
            warnings: drawing.warnings.map(\.description))
    }
}
