import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

/// How attribution maps become pictures (Captum's `visualize_image_attr`).
public struct VisualizationSettings: Sendable {
    /// nil: absolute_value for input-space methods; for Grad-CAM positive with its ReLU, else all; for
    /// the CAM family (maps in 0…1) positive.
    public var sign: AttributionSign?
    /// Percent of the attribution mass that saturates the colour scale.
    public var outlierPercent = 2.0
    /// A matplotlib name (`Colormap.named`); nil: Captum's map for the sign.
    public var colormap: String?
    /// Colour bars, scales, normalization, style and views (issue 14).
    public var rendering = RenderingSettings()

    public init() {}

    /// The sign a method's pictures use.
    public func sign(for method: AttributionMethod, relu: Bool) -> AttributionSign {
        if let sign { return sign }
        if method.space == .layer { return relu || method != .gradCAM ? .positive : .all }
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
    /// Each method's `<stem>.<method>.json` record, in method order (data-set runs index them).
    public var records: [ExplanationRecord] = []

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
    /// Faithfulness metrics per method (`ExplanationJob+Metrics.swift`); nil: none.
    public var metrics: MetricSettings? = nil
    /// Every attribution the job draws is computed here, once (a seam: tests count the calls).
    var explain: (Explainer, AttributionMethod, LoadedInput, Int, AttributionProgress?) throws -> Explanation = {
        try $0.explain($1, input: $2, target: $3, progress: $4)
    }

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
        return try run(
            input, ranking: ranking, methods: methods, target: target, fileSuffix: fileSuffix, progress: progress,
            warning: warning)
    }

    /// The same for an input already loaded and ranked (`ranking`: the model's classes, best first, as
    /// `Explainer.predictions` returns them); data-set runs classify several images in one forward pass.
    /// Under `--scale shared` without `visualization.rendering.sharedScales`, the scale is this input's.
    public func run(
        _ input: LoadedInput, ranking: [Prediction], methods: [AttributionMethod], target: Int?,
        fileSuffix: String = "",
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }, warning: (String) -> Void = { _ in }
    ) throws -> ExplanationFileSet {
        let computed = try compute(
            input, ranking: ranking, methods: methods, target: target, fileSuffix: fileSuffix, progress: progress)
        return try withSharedScales(over: [computed]).render(computed, warning: warning)
    }

    /// Runs each method on `input` for `target` (nil: the predicted class) and keeps the attributions,
    /// drawn later by `render` (on scales fitted over many inputs, for `--scale shared`).
    public func compute(
        _ input: LoadedInput, ranking: [Prediction], methods: [AttributionMethod], target: Int?,
        fileSuffix: String = "", progress: (_ label: String) -> AttributionProgress? = { _ in nil }
    ) throws -> ComputedInput {
        let path = input.path
        guard let best = ranking.first else { throw PipelineError("\(path): the model returned no outputs") }
        let targetIndex = target ?? best.index
        let stem = InputLoader.stem(path)
        var computed: [ComputedMethod] = []
        for method in methods {
            let explanation = try explain(
                explainer, method, input, targetIndex, progress("\(stem) \(method.rawValue)"))
            computed.append(try self.computed(explanation, path: path))
        }
        return ComputedInput(
            input: input, ranking: ranking, target: targetIndex, fileSuffix: fileSuffix, methods: computed)
    }

    /// Draws and records one computed input: its files, in memory (`files.commit` writes them).
    public func render(_ computed: ComputedInput, warning: (String) -> Void = { _ in }) throws -> ExplanationFileSet {
        let (input, ranking) = (computed.input, computed.ranking)
        let (targetIndex, fileSuffix) = (computed.target, computed.fileSuffix)
        let path = input.path
        guard let best = ranking.first else { throw PipelineError("\(path): the model returned no outputs") }
        let targetScore = ranking.first { $0.index == targetIndex } ?? best
        let stem = InputLoader.stem(path)
        var files = PendingFiles()
        var summaries: [ExplanationSummary.Method] = []
        var records: [ExplanationRecord] = []
        var metricEntries: [MetricsReportSection.Entry] = []
        let computed = computed.methods
        let views = visualization.rendering.views
        let fitted = try scales(for: computed, path: path)
        for (item, scale) in zip(computed, fitted) {
            let (method, explanation, sign) = (item.method, item.explanation, item.sign)
            let base = "\(stem).\(method.rawValue)\(fileSuffix)"
            let drawing = try draw(item, scale: scale, input: input, base: base, path: path)
            Self.warningLines(drawing, method: method, sign: sign, path: path).forEach(warning)
            if let line = explanation.parameters.stepSearch?.warning(path: path) { warning(line) }
            func file(_ view: AttributionView) -> String? {
                views.contains(view) ? Self.fileName(view, base: base, stem: stem) : nil
            }
            var record = ExplanationRecord(
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
                    colormap: drawing.colormapName, threshold: Double(drawing.map.threshold),
                    blank: drawing.blank),
                files: .init(
                    attributions: "\(base).npy", heatMap: file(.heat), overlay: file(.overlay), masked: file(.masked),
                    alpha: file(.alpha), original: file(.original)),
                rendering: Self.renderingRecord(drawing))
            let curves = try addMetrics(
                explanation, input: input, target: targetIndex, stem: stem, record: &record, files: &files)
            if let scores = record.metrics {
                metricEntries.append(.init(method: method.rawValue, scores: scores, curves: curves))
            }
            records.append(record)
            do {
                files.add("\(base).npy", NPY.encode(explanation.attributions))
                files.add("\(base).json", try ReportJSON.document(record))
                for (name, data) in drawing.files { files.add(name, data) }
                summaries.append(
                    ExplanationSummary.Method(
                        explanation: explanation, sign: sign, overlay: drawing.overlay, heatMapPNG: drawing.heatMapPNG,
                        overlayPNG: drawing.overlayPNG, blank: drawing.blank, drawing: drawing, reduced: item.reduced,
                        metrics: record.metrics))
            } catch {
                throw PipelineError("\(path): \(method.rawValue): cannot encode the outputs (\(error))")
            }
        }
        if views.contains(.original) {
            do {
                files.add(Self.fileName(.original, base: "", stem: stem), try PNGWriter.encode(input.displayImage))
            } catch {
                throw PipelineError("\(path): cannot encode the input picture (\(error))")
            }
        }
        if summaries.count > 1 {
            let summary = ExplanationSummary(
                input: input, predicted: best, target: targetScore, ranking: ranking, weights: weights,
                methods: summaries)
            do {
                files.add(
                    "\(stem)\(fileSuffix).panel.png", try summary.readablePanelPNG(rendering: visualization.rendering))
                files.add(
                    "\(stem)\(fileSuffix).report.html",
                    Data(
                        MetricsReportSection.insert(
                            MetricsReportSection.html(metricEntries),
                            into: try summary.storyReport(visualization).render()
                        ).utf8))
            } catch {
                throw PipelineError("\(path): cannot draw the panel or report (\(error))")
            }
        }
        return ExplanationFileSet(files: files, predicted: best, target: targetIndex, records: records)
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
