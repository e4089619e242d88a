import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

/// How attribution maps become pictures (Captum's `visualize_image_attr`).
public struct VisualizationSettings: Sendable {
    /// nil: absolute_value for input-space methods; for Grad-CAM positive with its ReLU, else all.
    public var sign: AttributionSign?
    /// Percent of the attribution mass that saturates the colour scale.
    public var outlierPercent = 2.0
    /// A matplotlib name (`Colormap.named`); nil: Captum's map for the sign.
    public var colormap: String?

    public init() {}

    /// The sign a method's pictures use.
    public func sign(for method: AttributionMethod, relu: Bool) -> AttributionSign {
        if let sign { return sign }
        if method.space == .layer { return relu ? .positive : .all }
        return .absoluteValue
    }

    /// The colormap names `colormap` may take.
    public static let colormapNames = ["rdwhgn", "greens", "reds", "blues", "viridis", "inferno", "jet", "gray"]
}

/// Everything `explain` makes for one input, in memory; nothing is written until `files.commit`.
public struct ExplanationFileSet: Sendable {
    /// `<stem>.<method>.{npy,json,png,overlay.png}` per method, then `<stem>.panel.png` and
    /// `<stem>.report.html` when several methods ran.
    public var files: PendingFiles
    public var predicted: Prediction
    public var target: Int

    /// "predicted 3 rust (92.73%), target 3".
    public var summary: String {
        "predicted \(predicted.index) \(predicted.label) (\(ExplanationSummary.percent(predicted.probability))), target \(target)"
    }
}

/// `explain` as library code: loads an input, runs each method through the `Explainer`, renders and
/// records the results, and assembles the panel and report.
public struct ExplanationJob {
    public var explainer: Explainer
    public var loader: InputLoader
    public var visualization: VisualizationSettings
    /// The weights file, or "bundled default" (recorded in every file).
    public var weights: String

    public init(explainer: Explainer, loader: InputLoader, visualization: VisualizationSettings, weights: String) {
        self.explainer = explainer
        self.loader = loader
        self.visualization = visualization
        self.weights = weights
    }

    /// Explains the input at `path` for `target` (nil: the predicted class). `progress(label)` returns the
    /// callback for one method's run ("<stem> <method>"), or nil for none; `warning` hears problems that
    /// do not stop the run (a blank heat map).
    public func run(
        _ path: String, methods: [AttributionMethod], target: Int?, fileSuffix: String = "",
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }, warning: (String) -> Void = { _ in }
    ) throws -> ExplanationFileSet {
        let input = try loader.load(path)
        let ranking = try explainer.predictions(input)
        guard let best = ranking.first else { throw PipelineError("\(path): the model returned no outputs") }
        let targetIndex = target ?? best.index
        let targetScore = ranking.first { $0.index == targetIndex } ?? best
        let stem = InputLoader.stem(path)
        let colormap = visualization.colormap.flatMap(Colormap.named)
        var files = PendingFiles()
        var summaries: [ExplanationSummary.Method] = []
        for method in methods {
            let explanation = try explainer.explain(
                method, input: input, target: targetIndex, progress: progress("\(stem) \(method.rawValue)"))
            let sign = visualization.sign(for: method, relu: explainer.settings.gradCAM.relu)
            let rendering: ExplanationRendering
            do throws(ImageError) {
                rendering = try ExplanationRendering(
                    explanation.displayed, display: input.displayImage, sign: sign,
                    outlierPercent: visualization.outlierPercent, colormap: colormap)
            } catch {
                throw PipelineError("\(path): \(method.rawValue): cannot draw the attributions (\(error.problemText))")
            }
            if rendering.map.isDegenerate {
                warning(
                    "\(path): \(method.rawValue) attributions normalize to nothing with sign "
                        + "\(sign.rawValue); the heat map is blank")
            }
            let base = "\(stem).\(method.rawValue)\(fileSuffix)"
            let record = ExplanationRecord(
                input: path, method: method.rawValue,
                model: .init(weights: weights, classes: explainer.classCount),
                preprocessing: .init(
                    kind: input.kind, resize: input.kind == .image ? loader.size.resize : nil,
                    crop: input.kind == .image ? loader.size.crop : nil, inputShape: input.tensor.shape),
                predicted: .init(index: best.index, label: best.label, probability: best.probability),
                target: .init(index: targetScore.index, label: targetScore.label, probability: targetScore.probability),
                parameters: explanation.parameters, attributionShape: explanation.attributions.shape,
                convergenceDelta: explanation.convergenceDelta, wallTimeSeconds: explanation.seconds,
                visualization: .init(
                    sign: sign.rawValue, outlierPercent: visualization.outlierPercent,
                    colormap: rendering.colormap.name, threshold: Double(rendering.map.threshold),
                    blank: rendering.map.isDegenerate),
                files: .init(attributions: "\(base).npy", heatMap: "\(base).png", overlay: "\(base).overlay.png"))
            do {
                let heatMapPNG = try PNGWriter.encode(rendering.heatMap)
                let overlayPNG = try PNGWriter.encode(rendering.overlay)
                files.add("\(base).npy", NPY.encode(explanation.attributions))
                files.add("\(base).json", try ReportJSON.document(record))
                files.add("\(base).png", heatMapPNG)
                files.add("\(base).overlay.png", overlayPNG)
                summaries.append(
                    ExplanationSummary.Method(
                        explanation: explanation, sign: sign, overlay: rendering.overlay, heatMapPNG: heatMapPNG,
                        overlayPNG: overlayPNG, blank: rendering.map.isDegenerate))
            } catch {
                throw PipelineError("\(path): \(method.rawValue): cannot encode the outputs (\(error))")
            }
        }
        if summaries.count > 1 {
            let summary = ExplanationSummary(
                input: input, predicted: best, target: targetScore, ranking: ranking, weights: weights,
                methods: summaries)
            do {
                files.add("\(stem)\(fileSuffix).panel.png", try summary.panelPNG())
                files.add("\(stem)\(fileSuffix).report.html", Data(try summary.report().render().utf8))
            } catch {
                throw PipelineError("\(path): cannot draw the panel or report (\(error))")
            }
        }
        return ExplanationFileSet(files: files, predicted: best, target: targetIndex)
    }
}

extension ImageError {
    /// The problem without the source prefix (used when the caller names the file itself).
    var problemText: String {
        let text = description
        let prefix = source + ": "
        return text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
    }
}
