import ArgumentParser
import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensModel

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain the model's decision for each input with attribution methods.",
        discussion: """
            INPUT is a .png, .jpg or .jpeg image (decoded, resized, center-cropped and ImageNet-normalized) \
            or a .npy holding a preprocessed float tensor [3, H, W] or [1, 3, H, W].

            For each input and method, DIR receives <stem>.<method>.npy (float32 attributions: [3, H, W], or \
            [h, w] for grad-cam), <stem>.<method>.json (prediction, target, parameters, convergence delta, \
            wall time), <stem>.<method>.png (the heat map) and <stem>.<method>.overlay.png (the heat map over \
            the preprocessed image). With several methods, also <stem>.panel.png (the input and each method's \
            overlay side by side) and <stem>.report.html (a self-contained page with the top-5 predictions, \
            pictures, parameters, convergence delta and timings). Every file is written atomically; an input \
            that fails leaves nothing.

            Grad-CAM applies a ReLU by default (the paper's Grad-CAM) and is drawn with sign positive; \
            --no-relu gives Captum's numbers and draws with sign all. The other methods are drawn with \
            absolute_value, Captum's default. A progress bar appears on standard error when it is a terminal.
            """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Attribution methods, comma-separated: integrated-gradients (ig), grad-cam (gradcam), occlusion, saliency, input-x-gradient.",
            valueName: "methods"))
    var method: MethodList

    @Option(name: .long, help: ArgumentHelp("Directory the explanations are written to (created if missing).", valueName: "dir"))
    var out: String = "explanations"

    @Option(name: .long, help: ArgumentHelp("Class index to explain (default: the predicted class).", valueName: "class"))
    var target: Int?

    @Flag(name: .long, help: "Print no progress bar and no per-file summary.")
    var quiet = false

    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessOptions
    @OptionGroup(title: "Integrated Gradients") var integratedGradients: IntegratedGradientsOptions
    @OptionGroup(title: "Grad-CAM") var gradCAM: GradCAMOptions
    @OptionGroup(title: "Occlusion") var occlusion: OcclusionOptions
    @OptionGroup(title: "Visualization") var visualization: VisualizationOptions

    @Argument(help: ArgumentHelp("Images (.png, .jpg, .jpeg) or preprocessed tensors (.npy).", valueName: "input"))
    var inputs: [String]

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        if let target, target < 0 { throw ValidationError("--target must be a class index ≥ 0, got \(target)") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("--out \(out): is an existing file, not a directory")
        }
        // Outputs are named by stem, so two inputs with one stem would overwrite each other.
        var seen: [String: String] = [:]
        for input in inputs {
            let stem = InputLoader.stem(input)
            if let earlier = seen[stem] {
                throw ValidationError("inputs \(earlier) and \(input) would both write \(stem).* into \(out)")
            }
            seen[stem] = input
        }
    }

    func run() throws {
        try OutputCheck.folder(out)
        let network = try model.loadModel()
        let classifier: ResNetClassifier<Float>
        do { classifier = try ResNetClassifier(network) } catch {
            throw RuntimeError("\(model.weightsDescription): \(error.description)")
        }
        if let target, target >= classifier.classCount {
            throw usageError("--target \(target) is outside the model's classes 0...\(classifier.classCount - 1)")
        }
        if method.methods.contains(.gradCAM), !classifier.layerNames.contains(gradCAM.layer) {
            throw usageError(
                "--layer \(gradCAM.layer) is not a layer of the model; available: \(classifier.layerNames.joined(separator: ", "))")
        }
        let runner = MethodRunner(
            model: classifier, integratedGradients: integratedGradients, gradCAM: gradCAM, occlusion: occlusion,
            baselineTensor: try loadBaselineFile())
        let directory = URL(fileURLWithPath: out)
        var failures = 0
        for input in inputs {
            do {
                let (files, summary) = try explain(input, runner: runner)
                try files.commit(into: directory)
                if !quiet { print("\(input): \(summary); wrote \(files.entries.count) files to \(out)") }
            } catch let error as RuntimeError {
                warn("leaflens: error: \(error.message)")
                failures += 1
            } catch {
                warn("leaflens: error: \(input): \(error)")
                failures += 1
            }
        }
        if failures > 0 {
            throw RuntimeError("\(failures) of \(inputs.count) inputs failed; nothing was written for them")
        }
    }

    /// Runs every method on one input and renders its files (in memory; nothing is written here).
    private func explain(_ path: String, runner: MethodRunner) throws -> (PendingFiles, summary: String) {
        let input = try InputLoader.load(
            path, preprocessor: preprocessing.preprocessor(for: runner.model.model), maxPixels: preprocessing.maxPixels)
        let network = runner.model
        let logits = try network.outputs(input.tensor).storage
        let ranking = Prediction.rank(logits: logits, labels: network.labels, top: network.classCount)
        guard let best = ranking.first else { throw RuntimeError("\(path): the model returned no outputs") }
        let targetIndex = target ?? best.index
        let targetScore = ranking.first { $0.index == targetIndex } ?? best
        let stem = InputLoader.stem(path)
        let showProgress = ProgressBar.enabled(quiet: quiet)
        var files = PendingFiles()
        var summaries: [ExplanationSummary.Method] = []
        for method in method.methods {
            let progress = ProgressBar.callback(label: "\(stem) \(method.rawValue)", enabled: showProgress)
            let outcome = try runner.run(method, input: input, target: targetIndex, progress: progress)
            let sign = visualization.sign(for: method, relu: !gradCAM.noReLU)
            let rendering: ExplanationRendering
            do throws(ImageError) {
                rendering = try ExplanationRendering(
                    outcome.displayed, display: input.displayImage, sign: sign,
                    outlierPercent: visualization.outlierPercent, colormap: visualization.colormap?.colormap)
            } catch {
                throw RuntimeError("\(path): \(method.rawValue): cannot draw the attributions (\(error.problemText))")
            }
            if rendering.map.isDegenerate {
                warn(
                    "leaflens: warning: \(path): \(method.rawValue) attributions normalize to nothing with sign "
                        + "\(sign.rawValue); the heat map is blank")
            }
            let base = "\(stem).\(method.rawValue)"
            let record = ExplanationRecord(
                input: path, method: method.rawValue,
                model: .init(weights: model.weightsDescription, classes: network.classCount),
                preprocessing: .init(
                    kind: input.kind,
                    resize: input.kind == .image ? preprocessing.sizes(for: network.model).resize : nil,
                    crop: input.kind == .image ? preprocessing.sizes(for: network.model).crop : nil,
                    inputShape: input.tensor.shape),
                predicted: .init(index: best.index, label: best.label, probability: best.probability),
                target: .init(index: targetScore.index, label: targetScore.label, probability: targetScore.probability),
                parameters: outcome.parameters, attributionShape: outcome.attributions.shape,
                convergenceDelta: outcome.convergenceDelta, wallTimeSeconds: outcome.seconds,
                visualization: .init(
                    sign: sign.rawValue, outlierPercent: visualization.outlierPercent,
                    colormap: rendering.colormap.name, threshold: Double(rendering.map.threshold),
                    blank: rendering.map.isDegenerate),
                files: .init(attributions: "\(base).npy", heatMap: "\(base).png", overlay: "\(base).overlay.png"))
            do {
                let heatMapPNG = try PNGWriter.encode(rendering.heatMap)
                let overlayPNG = try PNGWriter.encode(rendering.overlay)
                files.add("\(base).npy", NPY.encode(outcome.attributions))
                files.add("\(base).json", try ExplanationJSON.encode(record))
                files.add("\(base).png", heatMapPNG)
                files.add("\(base).overlay.png", overlayPNG)
                summaries.append(
                    ExplanationSummary.Method(
                        outcome: outcome, sign: sign, overlay: rendering.overlay, heatMapPNG: heatMapPNG,
                        overlayPNG: overlayPNG, blank: rendering.map.isDegenerate))
            } catch {
                throw RuntimeError("\(path): \(method.rawValue): cannot encode the outputs (\(error))")
            }
        }
        if summaries.count > 1 {
            let summary = ExplanationSummary(
                input: input, predicted: best, target: targetScore, ranking: ranking,
                weights: model.weightsDescription, methods: summaries)
            do {
                files.add("\(stem).panel.png", try summary.panelPNG())
                files.add("\(stem).report.html", Data(try summary.report().render().utf8))
            } catch {
                throw RuntimeError("\(path): cannot draw the panel or report (\(error))")
            }
        }
        let summary =
            "predicted \(best.index) \(best.label) (\(ExplanationSummary.percent(best.probability))), target \(targetIndex)"
        return (files, summary)
    }

    /// A usage error found only once the model is loaded (it knows the classes and layers): printed with
    /// this command's usage line, exit code 2. (A ValidationError thrown from `run()` would be shown
    /// with the root command's usage.)
    private func usageError(_ message: String) -> ExitCode {
        let usage = LeafLensCommand.usageString(for: Self.self)
        warn("Error: \(message)\nUsage: \(usage)\n  See 'leaflens explain --help' for more information.")
        return .validationFailure
    }

    /// The `--baseline FILE.npy` tensor as `[1, 3, H, W]`, or nil for the other baselines.
    private func loadBaselineFile() throws -> Tensor<Float>? {
        guard method.methods.contains(.integratedGradients), case .file(let path) = integratedGradients.baseline else {
            return nil
        }
        let data: Data
        do { data = try FileAccess.readRegularFile(URL(fileURLWithPath: path)) } catch {
            throw RuntimeError("\(error.description) (--baseline)")
        }
        return try InputLoader.loadNPY(data, path: path).tensor
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
