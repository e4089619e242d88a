import ArgumentParser
import Foundation
import LeafLensPipeline

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain the model's decision for each input with attribution methods.",
        discussion: """
            INPUT is a .png, .jpg or .jpeg image (decoded, resized, center-cropped and ImageNet-normalized) \
            or a .npy holding a preprocessed float tensor [3, H, W] or [1, 3, H, W].

            For each input and method, DIR receives <stem>.<method>.npy (float32 attributions: [3, H, W], or \
            [h, w] for grad-cam, [H, W] for the CAM family), <stem>.<method>.json (prediction, target, parameters, convergence delta, \
            wall time), <stem>.<method>.png (the heat map) and <stem>.<method>.overlay.png (the heat map over \
            the preprocessed image). With several methods, also <stem>.panel.png (the input and each method's \
            overlay side by side) and <stem>.report.html (a self-contained page with the top-5 predictions, \
            pictures, parameters, convergence delta and timings). Every file is written atomically; an input \
            that fails leaves nothing.

            Grad-CAM applies a ReLU by default (the paper's Grad-CAM) and is drawn with sign positive; \
            --no-relu gives Captum's numbers and draws with sign all. The other methods are drawn with \
            absolute_value, Captum's default. The CAM family stores pytorch-grad-cam's finished map (0 to 1, at the \
            input's size) and is drawn with sign positive; segment methods are drawn with the segments outlined. CAM methods are drawn in pytorch-grad-cam's \
            style (JET over the colour image), the others in Captum's; --style chooses one for all. A progress bar appears on standard error when it is a terminal.

            Whole data sets: --data DIR (recursive; class folders are the true labels) or --list FILE writes \
            each image's files to OUT/<relative folder>/<stem>.* and one JSON line per image to \
            OUT/records/shard-K-of-N.jsonl. --shard K/N (or auto, in a Slurm array or Kubernetes Indexed Job) \
            takes one part of the images by a stable hash of their paths; a rerun skips the images already \
            done. `leaflens report OUT` merges the shards.

            Methods and the implementation whose numbers each reproduces:
            \(methodTable)
            """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(
        name: .long,
        help: ArgumentHelp("Attribution methods, comma-separated: \(MethodList.helpList).", valueName: "methods"))
    var method: MethodList

    @Option(
        name: .long,
        help: ArgumentHelp("Directory the explanations are written to (created if missing).", valueName: "dir"))
    var out: String = "explanations"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Class to explain, an index or a label name (default: the predicted class).", valueName: "class"))
    var target: String?

    @Flag(name: .long, help: "Print no progress bar and no per-file summary.")
    var quiet = false

    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessOptions
    @OptionGroup(title: "Integrated Gradients") var integratedGradients: IntegratedGradientsOptions
    @OptionGroup(title: "Grad-CAM") var gradCAM: GradCAMOptions
    @OptionGroup(title: "Occlusion") var occlusion: OcclusionOptions
    @OptionGroup(title: "CAM family (pytorch-grad-cam)") var cam: CAMOptions
    @OptionGroup(title: "Segment methods (Captum)") var segmentMethods: SegmentOptions
    @OptionGroup(title: "Target control") var targetOptions: TargetOptions
    @OptionGroup(title: "Noise tunnel") var noiseTunnel: NoiseTunnelOptions
    @OptionGroup(title: "GradientShap") var gradientShap: GradientShapOptions
    @OptionGroup(title: "Visualization") var visualization: VisualizationOptions
    @OptionGroup(title: "Pictures") var rendering: RenderingOptionGroup
    @OptionGroup(title: "Faithfulness metrics") var metricOptions: MetricOptions
    @OptionGroup(title: "Data sets") var dataSet: DataSetOptions

    @Argument(
        help: ArgumentHelp(
            "Images (.png, .jpg, .jpeg) or preprocessed tensors (.npy); or use --data/--list.", valueName: "input"))
    var inputs: [String] = []

    func validate() throws {
        try dataSet.validate(inputs: inputs, out: out)
        if dataSet.isActive, rendering.scale == .shared {
            throw ValidationError(
                "--scale shared needs every input computed before the first is drawn; a data-set run (--data/--list) "
                    + "draws each image as it goes (and its shards run apart): use --scale per-map or per-image")
        }
        try validateGradientOptions()
        if integratedGradients.steps == .auto, noiseTunnel.kind != nil, method.methods.contains(.integratedGradients) {
            throw ValidationError(
                "--steps auto needs Integrated Gradients' convergence delta, which a noise tunnel's averaged map does "
                    + "not have: give a number of steps with --noise-tunnel")
        }
        if let tau = occlusion.occlusionTau, tau < 1, targetOptions.output == .probability,
            method.methods.contains(.occlusion)
        {
            throw ValidationError(
                "--occlusion-tau \(tau) needs ResNet's incremental occlusion path, which --output probability does not have"
            )
        }
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
        try validateCAM()
    }

    var settings: ExplainerSettings {
        var settings = ExplainerSettings()
        settings.integratedGradients = integratedGradients.settings
        settings.gradCAM = gradCAM.settings
        settings.occlusion = occlusion.settings
        settings.cam = cam.settings(layers: gradCAM.layers)
        settings.segments = segmentMethods.settings(samples: gradientShap.samples, seed: targetOptions.seed)
        return settings
    }

    func run() throws {
        try OutputCheck.folder(out)
        let network = try model.loadModel()
        var settings = self.settings
        let (gradients, topK) = try gradientSettings(labels: network.labels)
        settings.gradients = gradients
        let target = try self.target.map { try resolveClass($0, labels: network.labels, option: "--target") }
        let explainer: Explainer
        do {
            explainer = try Explainer(model: network, settings: settings, methods: method.methods)
        } catch let error as ExplainerOptionError {
            throw usageError(error.description, in: Self.self)
        }
        if let problem = explainer.layerProblem(for: method.methods) { throw usageError(problem, in: Self.self) }
        if let problem = rendering.problem(
            methods: method.methods, visualization: visualization.settings, relu: gradCAM.settings.relu)
        {
            throw usageError(problem, in: Self.self)
        }
        var job = ExplanationJob(
            explainer: explainer, loader: preprocessing.loader(for: network), visualization: visualization.settings,
            weights: network.description)
        job.visualization.rendering = rendering.settings
        try metricOptions.checkStep(side: job.loader.size.crop, in: Self.self)
        job.metrics = metricOptions.settings
        if dataSet.isActive { return try runDataSet(job, target: target) }
        let bar = ProgressBar(quiet: quiet)
        let directory = URL(fileURLWithPath: out)
        var failures = 0
        // Per input, in order; with --scale shared every input is computed before the first is drawn.
        try job.run(
            inputs, methods: method.methods, target: target, topK: topK, progress: bar.callback,
            warning: { warn("leaflens: warning: \($0)") }
        ) { input, result in
            do {
                let result = try result.get()
                try result.files.commit(into: directory)
                if !quiet { print("\(input): \(result.summary); wrote \(result.files.entries.count) files to \(out)") }
            } catch let error as OptionError {
                bar.finish()
                throw usageError(error.message, in: Self.self)
            } catch {
                bar.finish()
                warn("leaflens: error: \(errorText(error, input: input))")
                failures += 1
            }
        }
        if failures > 0 {
            throw RuntimeError("\(failures) of \(inputs.count) inputs failed; nothing was written for them")
        }
    }
}
