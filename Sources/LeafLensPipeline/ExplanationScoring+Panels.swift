import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTraining

/// One map `evaluate` scored against a mask, as the scoring loop saw it (kept for the panels).
struct ScoredMap {
    /// The sample's position among the `count` scored ones.
    var index: Int
    var count: Int
    var sample: ImageFolder.Sample
    var input: LoadedInput
    /// At the input's resolution: the lesion, or the leaf.
    var mask: [Bool]
    var method: AttributionMethod
    /// The scored map, `[H·W]` (Grad-CAM: the fused map when `camFusion` is set).
    var map: [Float]
    /// What the scores said about this map ("pointing game (5 px): hit; …").
    var note: String
}

/// A picture `evaluate --masks … --out DIR` writes for one scored image: the input and each method's
/// overlay, every picture with the mask outlined, each method's colour bar and its scores under it.
public struct EvaluationPanel: Sendable {
    /// The image's path relative to the data set (`class/name.png`).
    public var image: String
    /// `panels/<class>/<name without extension>.panel.png`, relative to the output folder.
    public var fileName: String
    public var png: Data

    /// Writes each panel under `directory` (one atomic write per file).
    public static func write(_ panels: [EvaluationPanel], to directory: URL) throws {
        for panel in panels {
            let url = directory.appendingPathComponent(panel.fileName)
            do {
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try AtomicWrite.write(panel.png, to: url)
            } catch {
                throw PipelineError("\(url.path): cannot write the panel (\(error))")
            }
        }
    }
}

extension ExplanationScoring {
    /// Panels `evaluate --out` writes by default (images spread evenly over the scored ones).
    public static let defaultPanelCount = 8

    /// `score(masks:)` and, for up to `panels` of the scored images (spread evenly), a panel of the maps
    /// just scored with the lesion outlined (nothing is recomputed; one forward pass per panel ranks
    /// the classes).
    public func score(
        masks: URL, panels: Int,
        progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    ) throws -> (scores: [ExplanationScore], panels: [EvaluationPanel]) {
        var kept = PanelMaps(limit: panels)
        let scores = try score(masks: masks, progress: progress, keep: { kept.add($0) })
        return (scores, try drawPanels(kept, maskName: "lesion"))
    }

    /// `leafBackground(masks:)` and, for up to `panels` of its images, a panel with the leaf outlined.
    public func leafBackground(
        masks: URL, panels: Int,
        progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    ) throws -> (scores: [LeafBackgroundScore], panels: [EvaluationPanel]) {
        var kept = PanelMaps(limit: panels)
        let scores = try leafBackground(masks: masks, progress: progress, keep: { kept.add($0) })
        return (scores, try drawPanels(kept, maskName: "leaf"))
    }

    /// "43.2%".
    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    /// One panel per kept image, in data-set order, drawn as `explain` draws its panels (each method's
    /// default sign and style, its own outlier scale, a colour bar), with `maskName` outlined.
    func drawPanels(_ kept: PanelMaps, maskName: String) throws -> [EvaluationPanel] {
        guard !kept.images.isEmpty else { return [] }
        let explainer = try Explainer(
            classifier: model.classifier(), settings: settings.explainerSettings(size: size.crop))
        var rendering = RenderingSettings()
        rendering.defaultStyle = .perMethod
        let visualization = VisualizationSettings()
        var panels: [EvaluationPanel] = []
        for index in kept.images.keys.sorted() {
            guard let maps = kept.images[index], let first = maps.first else { continue }
            let path = first.sample.url.path
            do {
                let columns = try maps.map { try column($0, rendering: rendering, visualization: visualization) }
                var panel = ExplanationPanel(
                    input: first.input.displayImage,
                    predictions: try explainer.predictions(first.input).map {
                        ExplanationPanel.Prediction(label: $0.label, probability: $0.probability)
                    },
                    columns: columns, mask: first.mask)
                panel.inputTitle = "Input, \(maskName) outlined"
                let relative = first.sample.relativePath
                let stem = (relative as NSString).deletingPathExtension
                panels.append(
                    EvaluationPanel(
                        image: relative, fileName: "panels/\(stem).panel.png",
                        png: try PNGWriter.encode(try panel.render().image)))
            } catch let error as PipelineError {
                throw error
            } catch {
                throw PipelineError("\(path): cannot draw the evaluation panel (\(error))")
            }
        }
        return panels
    }

    /// One method's column: its overlay on its own scale, the colour bar, the scores and any warnings.
    private func column(
        _ item: ScoredMap, rendering: RenderingSettings, visualization: VisualizationSettings
    ) throws
        -> ExplanationPanel.Column
    {
        let display = item.input.displayImage
        let method = item.method
        let sign = visualization.sign(for: method, relu: true)
        let options = rendering.options(for: method, outlierPercent: visualization.outlierPercent)
        let reduced = try ReducedAttribution(
            height: display.height, width: display.width, values: item.map, unit: RenderingSettings.unit(of: method))
        let scale = try AttributionScale.fit(
            [reduced], sign: sign, normalization: options.normalization, outlierPercent: options.outlierPercent)
        let (map, warnings) = scale.apply(reduced)
        let overlay = try AttributionRenderer.overlay(map, original: display, options: options)
        let fused =
            method == .gradCAM ? settings.camFusion.flatMap { $0.isEmpty ? nil : $0.joined(separator: " + ") } : nil
        return ExplanationPanel.Column(
            title: fused.map { "\(method.title) (\($0))" } ?? method.title, image: overlay,
            colorBar: AttributionRenderer.colorBar(scale: scale, style: options.style, options: options),
            notes: [item.note] + warnings.map(\.description))
    }
}

/// The scored maps of the images a panel is drawn for: `limit` of the `count` scored images, spread
/// evenly (position ⌊j·count/limit⌋), every method's map for each.
struct PanelMaps {
    var limit: Int
    var images: [Int: [ScoredMap]] = [:]

    mutating func add(_ item: ScoredMap) {
        guard limit > 0 else { return }
        let n = min(limit, item.count)
        let chosen = (0..<n).contains { $0 * item.count / n == item.index }
        if chosen { images[item.index, default: []].append(item) }
    }
}
