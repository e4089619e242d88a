import ArgumentParser
import Foundation
import LeafLensPipeline

// The second wave's benchmark subcommands (scripts/bench-compare runs them beside scripts/bench_peer.py).
// Each parses, hands the work to `BenchmarkSetup`, and prints.

extension BenchOptions {
    /// Prints a peak-memory reading (`--rss`) as text or one JSON object.
    func printMemory(_ memory: PeakMemoryReport) throws {
        if json {
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

    /// Times `subject`, or with `rss` runs it once and reports peak memory.
    func measureOrMemory(_ subject: BenchmarkSubject, in setup: BenchmarkSetup, rss: Bool) throws {
        if rss { try printMemory(try setup.peakMemory(subject)) } else { try measure(subject, in: setup) }
    }
}

struct BenchNoiseTunnel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise-tunnel",
        abstract:
            "Time NoiseTunnel around Integrated Gradients (zero baseline), as Captum's NoiseTunnel(IntegratedGradients).",
        discussion: """
            FLOPs are counted as samples × steps × 2 forwards. With --rss, runs one attribution and reports \
            the process's peak resident set size before and after it.
            """)

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(name: .customLong("nt-samples"), help: "Noisy samples per input.")
    var samples: Int = 10
    @Option(name: .long, help: "Integration steps of each Integrated Gradients.")
    var steps: Int = 50
    @Option(name: .long, help: "How the samples are combined: smoothgrad, smoothgrad-sq, vargrad.")
    var kind: NoiseTunnelKind = .smoothGrad
    @Option(name: .customLong("nt-stdev"), help: "Standard deviation of the noise (Captum's default 1.0).")
    var stdev: Double = 1.0
    @Option(name: .customLong("nt-batch-size"), help: "Samples per partition (default: LeafLens's).")
    var ntBatchSize: Int?
    @Option(name: .long, help: "Scaled inputs per forward/backward of each IG (default: LeafLens's).")
    var internalBatchSize: Int?
    @Flag(name: .long, help: "Report peak memory of one attribution instead of timing.")
    var rss = false

    func validate() throws {
        guard samples >= 1, steps >= 1 else { throw ValidationError("--nt-samples and --steps must be at least 1") }
        guard stdev.isFinite, stdev >= 0 else { throw ValidationError("--nt-stdev must be ≥ 0") }
        if let b = ntBatchSize, b < 1 { throw ValidationError("--nt-batch-size must be at least 1") }
        if let b = internalBatchSize, b < 1 { throw ValidationError("--internal-batch-size must be at least 1") }
    }

    func run() throws {
        let setup = try attribution.setup(options)
        let subject = try setup.noiseTunnel(
            target: attribution.target, samples: samples, steps: steps, kind: kind, stdev: stdev,
            batchSize: ntBatchSize, internalBatchSize: internalBatchSize)
        try options.measureOrMemory(subject, in: setup, rss: rss)
    }
}

struct BenchGradientShap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradient-shap",
        abstract: "Time GradientShap with a zero baseline, as Captum's GradientShap.",
        discussion: "FLOPs are counted as samples × 2 forwards. With --rss, reports peak memory of one attribution.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(name: .long, help: "Samples per input (Captum's n_samples).")
    var samples: Int = 50
    @Option(name: .long, help: "Standard deviation of the noise added to the input (Captum's stdevs).")
    var stdev: Double = 0
    @Option(name: .long, help: "Rows per forward/backward (default: LeafLens's).")
    var internalBatchSize: Int?
    @Flag(name: .long, help: "Report peak memory of one attribution instead of timing.")
    var rss = false

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard stdev.isFinite, stdev >= 0 else { throw ValidationError("--stdev must be ≥ 0") }
        if let b = internalBatchSize, b < 1 { throw ValidationError("--internal-batch-size must be at least 1") }
    }

    func run() throws {
        let setup = try attribution.setup(options)
        let subject = try setup.gradientShap(
            target: attribution.target, samples: samples, stdev: stdev, internalBatchSize: internalBatchSize)
        try options.measureOrMemory(subject, in: setup, rss: rss)
    }
}

/// The options of the two perturbation CAMs.
struct BenchCAMOptions: ParsableArguments {
    @Option(name: .long, help: "Layer to explain (a block output such as layer4).")
    var layer: String = "layer4"
    @Option(name: .customLong("cam-batch-size"), help: "Images per forward pass (default: pytorch-grad-cam's).")
    var batchSize: Int?

    func validate() throws {
        if let b = batchSize, b < 1 { throw ValidationError("--cam-batch-size must be at least 1") }
    }

    func checkedLayer(_ setup: BenchmarkSetup) throws -> String {
        let layers = try setup.layerNames()
        guard layers.contains(layer) else {
            throw ValidationError("unknown --layer '\(layer)'; available: \(layers.joined(separator: ", "))")
        }
        return layer
    }
}

struct BenchScoreCAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score-cam", abstract: "Time Score-CAM, as pytorch-grad-cam's ScoreCAM.",
        discussion: "FLOPs are counted as (channels + 1) forwards.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions
    @OptionGroup var cam: BenchCAMOptions

    func run() throws {
        let setup = try attribution.setup(options)
        try options.measure(
            try setup.scoreCAM(
                target: attribution.target, layer: try cam.checkedLayer(setup), batchSize: cam.batchSize),
            in: setup)
    }
}

struct BenchAblationCAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablation-cam", abstract: "Time Ablation-CAM, as pytorch-grad-cam's AblationCAM.",
        discussion: "FLOPs are counted as pytorch-grad-cam runs it, (channels + 1) full forwards.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions
    @OptionGroup var cam: BenchCAMOptions

    func run() throws {
        let setup = try attribution.setup(options)
        try options.measure(
            try setup.ablationCAM(
                target: attribution.target, layer: try cam.checkedLayer(setup), batchSize: cam.batchSize),
            in: setup)
    }
}

struct BenchDeletionInsertion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deletion-insertion",
        abstract:
            "Time the deletion and insertion curves (RISE) of one image, as `explain --metrics deletion,insertion`.",
        discussion: """
            The ranked explanation is Saliency's, computed before timing. FLOPs are counted as the forwards of \
            both curves.
            """)

    @OptionGroup var options: BenchOptions
    @OptionGroup var attribution: BenchAttributionOptions

    @Option(name: .long, help: "Pixels moved per step (default: the image width, as RISE).")
    var metricStep: Int?
    @Option(name: .long, help: "Curve states per forward pass.")
    var metricBatchSize: Int = 16

    func validate() throws {
        guard options.batch == 1 else { throw ValidationError("deletion-insertion scores one image: --batch-size 1") }
        if let s = metricStep, !(1...(options.size * options.size)).contains(s) {
            throw ValidationError("--metric-step must be 1...\(options.size * options.size)")
        }
        guard metricBatchSize >= 1 else { throw ValidationError("--metric-batch-size must be at least 1") }
    }

    func run() throws {
        let setup = try attribution.setup(options)
        try options.measure(
            try setup.deletionInsertion(target: attribution.target, step: metricStep, batchSize: metricBatchSize),
            in: setup)
    }
}

struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Time reading a weights file (.safetensors or a PyTorch checkpoint), as every command loads it.",
        discussion: """
            Median, min and max over --iterations after one warm-up read (so the file is in the page cache). \
            With --program, also folds BatchNorm and packs the convolution weights, as `classify` does.
            """)

    @Option(name: .long, help: "The weights file (.safetensors, .pth/.pt/.bin).")
    var weights: String
    @Option(name: .long, help: "Timed iterations (after 1 warm-up).")
    var iterations: Int = 5
    @Flag(name: .long, help: "Also build the classification program (fold BatchNorm, pack weights).")
    var program = false
    @Flag(name: .long, help: "Print one JSON object with median_ms, min_ms, max_ms.")
    var json = false

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let report = try LoadBenchmark.measure(
            LoadBenchmark.subject(weights: weights, program: program), iterations: iterations)
        if json {
            try printJSON(report)
        } else {
            print(
                String(
                    format: "%@: median %.1f ms (min %.1f, max %.1f) over %d runs", report.task, report.medianMs,
                    report.minMs, report.maxMs, iterations))
        }
    }
}
