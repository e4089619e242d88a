import ArgumentParser
import Foundation
import LeafLensPipeline

/// Timing commands. Benchmarks are not tests: these print numbers, BENCHMARKS.md records them.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the forward pass and gradients (median over iterations, after warm-up).",
        discussion: """
            GFLOP/s are nominal: F = 2 × the model's multiply-accumulates at --size (`leaflens info` prints \
            macs) × images, and each case counts forward F; input-gradient 3F; ig steps × 2F (forward and \
            backward to the input; attribution needs no weight gradients, so the backward is about one more \
            forward); grad-cam 2F; occlusion (windows + 1) × F; noise-tunnel samples × steps × 2F; \
            gradient-shap samples × 2F; score-cam and ablation-cam (channels + 1) × F; deletion-insertion \
            2 × (states + 1) × F. After timing, each prints the fraction of the CPU's all-cores peak it \
            reached: the peak from `leaflens bench peak`'s FMA probe (measured then, about 0.4 s) or \
            --peak-gflops; --no-peak skips it.
            """,
        subcommands: [
            BenchForward.self, BenchInputGradient.self, BenchIntegratedGradients.self, BenchGradCAM.self,
            BenchOcclusion.self, BenchNoiseTunnel.self, BenchGradientShap.self, BenchScoreCAM.self,
            BenchAblationCAM.self, BenchDeletionInsertion.self, BenchLoad.self, BenchPeak.self,
        ])
}

struct BenchOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("batch-size"), help: "Images per batch.")
    var batchSize: Int?
    @Option(name: .customLong("batch"), help: .hidden) var batchAlias: Int?

    @Option(name: .long, help: "Timed iterations (after the warm-up runs).")
    var iterations: Int = 10

    @Option(name: .long, help: "Untimed warm-up runs before the timed ones.")
    var warmup: Int = 2

    @Option(name: .long, help: "Input height and width in pixels (at least 32).")
    var size: Int = 224

    @Flag(name: .long, help: "Print one JSON object with median_ms, min_ms, max_ms, gflops, fraction_of_peak.")
    var json = false

    @Option(
        name: .customLong("peak-gflops"),
        help: ArgumentHelp(
            "The all-cores peak to report the fraction of (e.g. from `leaflens bench peak`); default: measure it after the timed runs.",
            valueName: "GFLOP/s"))
    var peakGflops: Double?

    @Flag(name: .customLong("no-peak"), help: "Do not measure or report the fraction of the CPU's peak FLOP rate.")
    var noPeak = false

    /// `--batch-size` (or its old name `--batch`), default 1.
    var batch: Int { batchSize ?? batchAlias ?? 1 }

    func validate() throws {
        let batch = try renamed(batchSize, old: batchAlias, name: "--batch-size", oldName: "--batch") ?? 1
        guard batch >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0") }
        guard size >= 32 else { throw ValidationError("--size must be at least 32") }
        if let peakGflops {
            guard peakGflops.isFinite, peakGflops > 0 else {
                throw ValidationError("--peak-gflops must be finite and > 0, got \(peakGflops)")
            }
            if noPeak { throw ValidationError("--peak-gflops and --no-peak exclude each other") }
        }
    }

    /// The peak to compare with: given, measured (FMA probe, all cores), or none with --no-peak.
    func peak() throws -> PeakFLOPRate? {
        if noPeak { return nil }
        if let peakGflops {
            return PeakFLOPRate(
                isa: PeakFLOPRate.isaName, perCoreGflops: .nan, allCoresGflops: peakGflops, threads: 0)
        }
        return try PeakFLOPRate.measure(seconds: 0.4)
    }

    /// The setup for `model` (loaded from the options when nil is not asked for).
    func setup(model loaded: LoadedModel?, seededWidth: Int = 64) throws -> BenchmarkSetup {
        try BenchmarkSetup(model: loaded, seededWidth: seededWidth, batch: batch, size: size)
    }

    /// Times `subject` and prints the result.
    func measure(_ subject: BenchmarkSubject, in setup: BenchmarkSetup) throws {
        var report = try setup.measure(subject, iterations: iterations, warmups: warmup)
        if let peak = try peak() { report.compare(with: peak) }
        if json {
            try printJSON(report)
        } else {
            print(
                String(
                    format:
                        "%@ batch %d at %dx%d: median %.2f ms (min %.2f, max %.2f) over %d runs, %.1f GFLOP/s [%@, %@]",
                    report.task, batch, size, size, report.medianMs, report.minMs, report.maxMs, iterations,
                    report.gflops,
                    report.convKernel, report.blasCore) + peakText(report))
        }
    }

    /// ", 31.2% of the peak 95.0 GFLOP/s (avx2-fma, 2 threads)", or "" without a peak.
    func peakText(_ report: BenchmarkReport) -> String {
        guard let peak = report.peak, let fraction = report.fractionOfPeak else { return "" }
        let source = peak.threads > 0 ? "\(peak.isa), \(peak.threads) threads" : "given by --peak-gflops"
        return String(format: ", %.1f%% of the peak %.1f GFLOP/s (%@)", fraction * 100, peak.allCoresGflops, source)
    }
}

struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract:
            "Time the classification forward pass (BatchNorm folded; LeafLens's AVX-512 convolution kernel, or Winograd where it is unavailable), as `classify` runs it."
    )

    @OptionGroup var options: BenchOptions

    func run() throws {
        let setup = try options.setup(model: options.model.loadModel())
        try options.measure(try setup.forward(), in: setup)
    }
}

struct BenchInputGradient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "input-gradient", abstract: "Time forward + gradient of one logit per image w.r.t. the input.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        let setup = try options.setup(model: options.model.loadModel())
        try options.measure(try setup.inputGradient(), in: setup)
    }
}

/// What the attribution benchmarks run on, besides `BenchOptions`: by default the model of
/// scripts/bench_pytorch.py — the seeded torchvision-width ResNet18 (seed 1003, 38 classes), input
/// `seededInput(seed: 2003)`, target 5 — so LeafLens and Captum time the same computation.
struct BenchAttributionOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Base width of the seeded ResNet18 (seed 1003, 38 classes) to time; 64 is torchvision's resnet18, as timed by scripts/bench_pytorch.py. Ignored with --weights or --bundled."
    )
    var seededWidth: Int = 64

    @Flag(name: .long, help: "Time the bundled default model instead of the seeded one.")
    var bundled = false

    @Option(name: .long, help: "Class whose logit is explained, for every image.")
    var target: Int = 5

    func validate() throws {
        guard (1...512).contains(seededWidth) else { throw ValidationError("--seeded-width must be 1...512") }
        guard target >= 0 else { throw ValidationError("--target must be ≥ 0") }
    }

    /// The setup to time, with the target checked against the model's classes.
    func setup(_ options: BenchOptions) throws -> BenchmarkSetup {
        let loaded = options.model.weights != nil || bundled ? try options.model.loadModel() : nil
        let setup = try options.setup(model: loaded, seededWidth: seededWidth)
        guard target < setup.classCount else {
            throw ValidationError("--target \(target) is outside the model's classes 0..<\(setup.classCount)")
        }
        return setup
    }
}

struct BenchIntegratedGradients: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ig",
        abstract: "Time Integrated Gradients (zero baseline), as scripts/bench_pytorch.py --only ig times Captum.",
        discussion: """
            FLOPs are counted as steps × (forward + backward to the input) = steps × 2 forwards, the \
            script's convention. With --rss, runs one attribution instead and reports the process's \
            peak resident set size before and after it (getrusage ru_maxrss).
            """)

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Integration steps n, or auto: the whole step search of `explain --steps auto` (the fewest steps whose \
            convergence delta is within --delta-tolerance), timed end to end; the JSON adds chosen_steps and \
            steps_tried.
            """, valueName: "n|auto"))
    var steps: StepCount = .fixed(50)

    @Option(
        name: .customLong("delta-tolerance"),
        help: ArgumentHelp(
            "With --steps auto: the largest |convergence delta| accepted, as a fraction of |F(x) − F(baseline)| (default: 0.01).",
            valueName: "fraction"))
    var deltaTolerance: Double?

    @Option(
        name: .customLong("max-steps"),
        help: ArgumentHelp("With --steps auto: the most steps tried (default: 1024).", valueName: "n"))
    var maxSteps: Int?

    @Option(name: .long, help: "Steps × images per forward/backward (bounds memory); default: all steps at once.")
    var internalBatchSize: Int?

    @Option(name: .long, help: "Quadrature rule: \(IntegrationRule.allCases.map(\.rawValue).joined(separator: ", ")).")
    var approximation: IntegrationRule = .gaussLegendre

    @Flag(name: .long, help: "Report peak memory of one attribution instead of timing.")
    var rss = false

    func validate() throws {
        try steps.validate(deltaTolerance: deltaTolerance, maxSteps: maxSteps, rule: approximation)
        if let size = internalBatchSize, size < 1 { throw ValidationError("--internal-batch-size must be at least 1") }
    }

    func run() throws {
        let setup = try attribution.setup(options)
        var subject: BenchmarkSubject
        switch steps {
        case .fixed(let steps):
            subject = try setup.integratedGradients(
                target: attribution.target, steps: steps, rule: approximation, internalBatchSize: internalBatchSize)
        case .auto:
            let search = IntegratedGradientsStepSearch(
                relativeTolerance: deltaTolerance ?? IntegratedGradientsStepSearch.defaultRelativeTolerance,
                maximumSteps: maxSteps ?? IntegratedGradientsStepSearch.defaultMaximumSteps)
            subject = try setup.integratedGradientsStepSearch(
                target: attribution.target, search: search, rule: approximation, internalBatchSize: internalBatchSize)
        }
        guard rss else { return try options.measure(subject, in: setup) }
        subject.task =
            "ig steps \(steps.defaultValueDescription) internal batch \(internalBatchSize.map(String.init) ?? "none")"
        let memory = try setup.peakMemory(subject)
        if options.json {
            let fields = [
                "\"task\": \"\(memory.task)\"", String(format: "\"max_rss_mib_before\": %.1f", memory.before),
                String(format: "\"max_rss_mib\": %.1f", memory.after),
                String(format: "\"rss_increase_mib\": %.1f", memory.after - memory.before),
                String(format: "\"seconds\": %.3f", memory.seconds),
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            print(
                String(
                    format: "%@: max RSS %.0f MiB (before %.0f MiB, +%.0f MiB), %.2f s", memory.task, memory.after,
                    memory.before, memory.after - memory.before, memory.seconds))
        }
    }
}

struct BenchGradCAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad-cam",
        abstract: "Time Grad-CAM with ReLU and upsampling to the input, as Captum's LayerGradCam + interpolate.",
        discussion: "FLOPs are counted as one forward and one full backward (2 forwards), the script's convention.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(name: .long, help: "Layer to explain (e.g. layer4, layer3.1, layer4.0.conv2).")
    var layer: String = "layer4"

    @Option(name: .long, help: "Upsampling to the input size: none, nearest, bilinear.")
    var upsample: UpsampleMode = .bilinear

    func run() throws {
        let setup = try attribution.setup(options)
        let layers = try setup.layerNames()
        guard layers.contains(layer) else {
            throw ValidationError("unknown --layer '\(layer)'; available: \(layers.joined(separator: ", "))")
        }
        try options.measure(try setup.gradCAM(target: attribution.target, layer: layer, upsample: upsample), in: setup)
    }
}

struct BenchOcclusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "occlusion",
        abstract: "Time Occlusion (window over all channels, zero baseline), as Captum's Occlusion.",
        discussion: "FLOPs are counted as (windows + 1) forwards, the script's convention.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(name: .long, help: "Window side K: K×K pixels over all 3 channels.")
    var window: Int = 15

    @Option(name: .long, help: "Stride in pixels (1...window).")
    var stride: Int = 8

    @Option(name: .long, help: "Occluded copies per forward pass.")
    var perturbationsPerEval: Int = 32

    @Option(
        name: .customLong("occlusion-tau"),
        help: "Approximate (Krypton): projective-field threshold T in (0, 1] (1 is exact).")
    var occlusionTau: Double?

    @Option(
        name: .customLong("occlusion-drilldown"),
        help:
            "Approximate (Krypton): coarse pass at twice the stride, the given stride in the top R fraction; R in (0, 1]."
    )
    var occlusionDrilldown: Double?

    @Option(
        name: .customLong("occlusion-drilldown-rank"),
        help: "Approximate: rank coarse windows by magnitude (|output drop|) or signed (the drop).")
    var occlusionDrilldownRank: OcclusionDrillDownRanking = .magnitude

    func validate() throws {
        guard window >= 1, window <= options.size else { throw ValidationError("--window must be 1...--size") }
        guard stride >= 1, stride <= window else { throw ValidationError("--stride must be 1...--window") }
        guard perturbationsPerEval >= 1 else { throw ValidationError("--perturbations-per-eval must be at least 1") }
        try OcclusionOptions.validateApproximation(tau: occlusionTau, drillDown: occlusionDrilldown)
    }

    func run() throws {
        let setup = try attribution.setup(options)
        let approximation =
            occlusionTau == nil && occlusionDrilldown == nil
            ? nil
            : OcclusionApproximation(
                projectiveFieldThreshold: occlusionTau ?? 1, drillDown: occlusionDrilldown,
                ranking: occlusionDrilldownRank)
        try options.measure(
            try setup.occlusion(
                target: attribution.target, window: window, stride: stride, perturbationsPerEval: perturbationsPerEval,
                approximation: approximation),
            in: setup)
    }
}
