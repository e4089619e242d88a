import ArgumentParser
import Foundation
import LeafLensPipeline

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Measure accuracy, per-class precision/recall/F1 and the confusion matrix on an ImageFolder data set.",
        discussion: """
            Class folders are matched to the model's labels by name (or by position when no name matches \
            and the counts agree). With --out, writes confusion.csv, confusion.png (rows: true class, \
            columns: predicted, shade: share of the row) and metrics.json. With --masks and --method, \
            also scores explanations on diseased images (non-empty masks): the pointing game (is the \
            attribution maximum within --tolerance pixels of the lesion) and the share of positive \
            attribution inside the lesion; Grad-CAM is scored on the fused layer3 + layer4 map unless \
            --layer names one layer. With --mask-kind leaf the masks are segmented images (the leaf on \
            black) and the scores are each method's attribution on the leaf vs the background; a pixel \
            is leaf when its brightest channel exceeds 24 of 255 (JPEG artefacts lift the black background \
            above 0 near the leaf), leaf specks under 0.1% of the image are dropped and holes that \
            do not reach the border (dark lesions) filled. With --masks and --out, also writes \
            panels/<class>/<name>.panel.png for up to 8 scored images (spread evenly): the input and each \
            method's overlay with the mask outlined, its colour bar and scores. With \
            --method and --metrics, scores the faithfulness of each method's explanation of the predicted \
            class on every image (at most --explain-limit), with means and seeded bootstrap 95% intervals \
            overall and per class; --out then also writes evaluation.html (curves, tables, the images \
            where the methods disagree most, with thumbnails). --sanity-check runs the model-randomization check of \
            Adebayo et al. (2018): Spearman rank correlations per randomized stage, and the cascading and \
            independent randomization curves per method (drawn in evaluation.html).
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Data set folder (one sub-folder per class).")
    var data: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Option(name: .long, help: "Folder for confusion.csv, confusion.png and metrics.json.")
    var out: String?

    @Option(name: .long, help: "Network input side S: center-crop to S×S (default: from the weights file, else 224).")
    var crop: Int?
    @Option(name: .customLong("image-size"), help: .hidden) var imageSize: Int?

    @Option(
        name: .long,
        help: "Resize the shorter side to this before center-cropping (default: from the weights file, else S·256/224)."
    )
    var resize: Int?

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize: Int = 32

    @Flag(name: .long, help: "Print no progress bar.")
    var quiet = false

    @OptionGroup(title: "Explanations") var explanations: ExplanationEvaluationOptions
    @OptionGroup(title: "Faithfulness metrics") var metricOptions: MetricOptions

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        let crop = try renamed(crop, old: imageSize, name: "--crop", oldName: "--image-size")
        if let crop, crop < 32 { throw ValidationError("--crop must be at least 32") }
        if let resize, let crop, resize < crop { throw ValidationError("--resize must be at least --crop") }
        try explanations.validate()
        if explanations.method != nil || explanations.explain != nil {
            guard explanations.masks != nil || metricOptions.metrics != nil else {
                throw ValidationError("--method needs --masks or --metrics")
            }
        }
        if metricOptions.metrics != nil, explanations.methods.isEmpty {
            throw ValidationError("--metrics needs --method")
        }
    }

    func run() throws {
        if let out { try OutputCheck.folder(out) }
        let network = try model.loadModel()
        let size = InputSize.resolve(resize: resize, crop: crop ?? imageSize, metadata: network.metadata)
        let evaluation = try Evaluation(model: network, data: data, size: size, warning: warn)
        // Options and masks that cannot work fail before the (long) model run.
        if metricOptions.settings != nil { try metricOptions.checkStep(side: size.crop, in: Self.self) }
        let scoring = evaluation.scoring(explanations.settings)
        if let masks = explanations.masks { try scoring.checkMasks(URL(fileURLWithPath: masks)) }
        let bar = ProgressBar(quiet: quiet || json)
        var (report, confusion) = try evaluation.run(batchSize: batchSize) {
            bar.update("evaluating", done: $0, total: $1)
        }
        bar.finish()
        var panels: [EvaluationPanel] = []
        if let masks = explanations.masks, !explanations.methods.isEmpty {
            let update = { (method: AttributionMethod, done: Int, total: Int) in
                bar.update(method.rawValue, done: done, total: total)
            }
            let panelCount = out == nil ? 0 : ExplanationScoring.defaultPanelCount
            if explanations.maskKind == .leaf {
                let result = try scoring.leafBackground(
                    masks: URL(fileURLWithPath: masks), panels: panelCount, progress: update)
                (report.leafBackground, panels) = (result.scores, result.panels)
            } else {
                let result = try scoring.score(masks: URL(fileURLWithPath: masks), panels: panelCount, progress: update)
                (report.explanations, panels) = (result.scores, result.panels)
            }
            bar.finish()
        }
        var pictures: [DisagreementPicture] = []
        if let metrics = metricOptions.settings {
            let scored = try scoring.faithfulnessWithPictures(metrics) { bar.update("metrics", done: $0, total: $1) }
            (report.faithfulness, pictures) = (scored.summary, scored.pictures)
            bar.finish()
        }
        if explanations.sanityCheck {
            report.sanityCheck = try scoring.sanityCheck(masks: explanations.masks.map { URL(fileURLWithPath: $0) }) {
                bar.update("sanity check", done: $0, total: $1, detail: "stages")
            }
            bar.finish()
            report.randomizationCurves = try scoring.randomizationCurves(
                masks: explanations.masks.map { URL(fileURLWithPath: $0) }
            ) { bar.update("randomization curves", done: $0, total: $1, detail: "methods") }
            bar.finish()
        }
        if let out {
            try Evaluation.write(report, confusion: confusion, to: URL(fileURLWithPath: out))
            try EvaluationPanel.write(panels, to: URL(fileURLWithPath: out))
            if EvaluationHTML.applies(to: report) {
                try EvaluationHTML.write(report, pictures: pictures, to: URL(fileURLWithPath: out))
            }
        }
        if json {
            try printJSON(report)
        } else {
            printText(report)
        }
    }

    private func printText(_ r: EvaluationReport) {
        print(String(format: "%d images  accuracy %.2f%%  loss %.4f", r.images, r.accuracy * 100, r.loss))
        let width = max(12, r.classes.map(\.label.count).max() ?? 0)
        print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "  precision  recall     f1  support")
        for c in r.classes {
            print(
                c.label.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: "  %9.4f  %6.4f  %6.4f  %7d", c.precision, c.recall, c.f1, c.support))
        }
        if let scores = r.explanations, let first = scores.first {
            print(
                "explanations on \(first.images) diseased images (pointing-game tolerance \(first.tolerancePixels) px):"
            )
            print("method                  pointing  strict  mass-in-lesion  seconds")
            for s in scores {
                print(
                    s.method.padding(toLength: 22, withPad: " ", startingAt: 0)
                        + String(
                            format: "  %7.1f%%  %5.1f%%  %13.1f%%  %7.1f", s.pointingGame * 100,
                            s.pointingGameStrict * 100,
                            s.positiveMassInLesion * 100, s.seconds))
            }
        }
        if let shares = r.leafBackground { MetricText.print(shares) }
        if let summary = r.faithfulness { MetricText.print(summary) }
        if let curves = r.randomizationCurves { MetricText.print(curves) }
        if let report = r.sanityCheck {
            print(
                "model randomization (Adebayo et al. 2018), mean Spearman ρ with the original map over \(report.images) images:"
            )
            print("randomized through   grad-cam  relu(grad-cam)  integrated-gradients  |integrated-gradients|")
            for row in report.rows {
                print(
                    row.randomizedThrough.padding(toLength: 19, withPad: " ", startingAt: 0)
                        + String(
                            format: "  %8.3f  %14.3f  %20.3f  %22.3f", row.gradCam, row.gradCamRelu,
                            row.integratedGradients,
                            row.integratedGradientsAbs))
            }
        }
    }
}

/// `evaluate --masks … --method …` and `--sanity-check`: which explanations to score, and how.
struct ExplanationEvaluationOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Masks with the same relative paths as the images (lesion: white = lesion; leaf: segmented images).")
    var masks: String?

    @Option(
        name: .customLong("mask-suffix"),
        help: ArgumentHelp(
            "Mask name = image name without extension + S; an S without .png/.jpg/.jpeg takes the image's extension, then .jpg, .jpeg or .png (PlantVillage segmented: _final_masked; default: the image's name).",
            valueName: "S"))
    var maskSuffix: String = ""

    @Option(
        name: .customLong("mask-kind"),
        help: ArgumentHelp(
            "What the masks mark: lesion (pointing game) or leaf (the leaf on black: attribution on leaf vs background).",
            valueName: "kind"))
    var maskKind: MaskKind = .lesion

    @Option(
        name: .long,
        help: ArgumentHelp("Methods to score, comma-separated: \(MethodList.helpList).", valueName: "methods"))
    var method: MethodList?
    @Option(name: .long, help: .hidden) var explain: MethodList?

    @Option(
        name: .long,
        help: "Pointing-game tolerance in pixels of the network input (default: 15·S/224, as Zhang et al. at 224 px).")
    var tolerance: Int?

    @Option(
        name: .long,
        help: "Grad-CAM layer (default: the fused layer3 + layer4 map for scoring, layer3 for the sanity check).")
    var layer: String?
    @Option(name: .customLong("cam-layer"), help: .hidden) var camLayer: String?

    @Option(name: .long, help: ArgumentHelp("Occlusion window side K in pixels (default: S/8).", valueName: "K"))
    var window: Int?
    @Option(name: .customLong("occlusion-window"), help: .hidden) var occlusionWindow: Int?

    @Option(name: .long, help: ArgumentHelp("Occlusion stride in pixels (default: half the window).", valueName: "S"))
    var stride: Int?
    @Option(name: .customLong("occlusion-stride"), help: .hidden) var occlusionStride: Int?

    @Option(name: .long, help: "Integrated Gradients steps (Gauss–Legendre; default: 32).")
    var steps: Int?
    @Option(name: .customLong("ig-steps"), help: .hidden) var igSteps: Int?

    @Option(
        name: .customLong("explain-limit"), help: "Score at most this many diseased images (evenly over the data set).")
    var explainLimit: Int?

    @Flag(name: .customLong("sanity-check"), help: "Run the cascading model-randomization check (Grad-CAM and IG).")
    var sanityCheck = false

    @Option(name: .customLong("sanity-images"), help: "Images used by the sanity check (diseased ones first).")
    var sanityImages: Int = 6

    var methods: [AttributionMethod] { (method ?? explain)?.methods ?? [] }

    func validate() throws {
        _ = try renamed(method?.methods, old: explain?.methods, name: "--method", oldName: "--explain")
        if masks == nil, !maskSuffix.isEmpty { throw ValidationError("--mask-suffix needs --masks") }
        if masks == nil, maskKind != .lesion { throw ValidationError("--mask-kind needs --masks") }
        if masks != nil, methods.isEmpty, !sanityCheck {
            throw ValidationError("--masks needs --method (explanations to score) or --sanity-check")
        }
        if let tolerance, tolerance < 0 { throw ValidationError("--tolerance must be ≥ 0") }
        let layer = try renamed(layer, old: camLayer, name: "--layer", oldName: "--cam-layer")
        if let layer, layer.isEmpty { throw ValidationError("--layer must not be empty") }
        if let window = try renamed(window, old: occlusionWindow, name: "--window", oldName: "--occlusion-window"),
            window < 1
        {
            throw ValidationError("--window must be ≥ 1")
        }
        if let stride = try renamed(stride, old: occlusionStride, name: "--stride", oldName: "--occlusion-stride"),
            stride < 1
        {
            throw ValidationError("--stride must be ≥ 1")
        }
        let steps = try renamed(steps, old: igSteps, name: "--steps", oldName: "--ig-steps") ?? 32
        guard steps >= 1, sanityImages >= 1 else { throw ValidationError("--steps and --sanity-images must be ≥ 1") }
        if let explainLimit, explainLimit < 1 { throw ValidationError("--explain-limit must be ≥ 1") }
    }

    var settings: ScoringSettings {
        var settings = ScoringSettings()
        settings.methods = methods
        settings.tolerance = tolerance
        if let layer = layer ?? camLayer { (settings.layer, settings.camFusion) = (layer, nil) }
        settings.window = window ?? occlusionWindow
        settings.stride = stride ?? occlusionStride
        if let steps = steps ?? igSteps { settings.steps = steps }
        settings.limit = explainLimit
        settings.sanityImages = sanityImages
        (settings.maskSuffix, settings.maskKind) = (maskSuffix, maskKind)
        return settings
    }
}
