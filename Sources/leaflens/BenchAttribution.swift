import ArgumentParser
import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel

/// What the attribution benchmarks run on, besides `BenchOptions`: by default the model of
/// scripts/bench_pytorch.py — the seeded torchvision-width ResNet18 (seed 1003, 38 classes), input
/// `seededInput(seed: 2003)`, target 5 — so LeafLens and Captum time the same computation.
struct BenchAttributionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Base width of the seeded ResNet18 (seed 1003, 38 classes) to time; 64 is torchvision's resnet18, as timed by scripts/bench_pytorch.py. Ignored with --weights or --bundled.")
    var seededWidth: Int = 64

    @Flag(name: .long, help: "Time the bundled default model instead of the seeded one.")
    var bundled = false

    @Option(name: .long, help: "Class whose logit is explained, for every image.")
    var target: Int = 5

    func validate() throws {
        guard (1...512).contains(seededWidth) else { throw ValidationError("--seeded-width must be 1...512") }
        guard target >= 0 else { throw ValidationError("--target must be ≥ 0") }
    }

    /// The model and input to time, with the target checked against the model's classes.
    func setUp(_ options: BenchOptions) throws -> (model: ResNetClassifier<Float>, input: Tensor<Float>, targets: [Int]) {
        let network: ResNet18<Float>
        if options.model.weights != nil || bundled {
            network = try options.model.loadModel()
        } else {
            network = try ResNet18<Float>.seeded(
                seed: 1003, configuration: ResNet18Configuration(classCount: 38, width: seededWidth))
        }
        guard target < network.configuration.classCount else {
            throw ValidationError("--target \(target) is outside the model's classes 0..<\(network.configuration.classCount)")
        }
        let input = ResNet18<Float>.seededInput(seed: 2003, shape: [options.batch, 3, options.size, options.size])
        return (try ResNetClassifier(network), input, Array(repeating: target, count: options.batch))
    }

    /// One forward at the benchmark's size, in FLOPs (2 per multiply–accumulate), for all images.
    func forwardFlops(_ model: ResNetClassifier<Float>, _ options: BenchOptions) -> Double {
        2 * Double(model.model.configuration.multiplyAccumulates(height: options.size, width: options.size))
            * Double(options.batch)
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

    @Option(name: .long, help: "Integration steps n.")
    var steps: Int = 50

    @Option(name: .long, help: "Steps × images per forward/backward (bounds memory); default: all steps at once.")
    var internalBatchSize: Int?

    @Option(name: .long, help: "Quadrature rule: \(IntegrationRule.allCases.map(\.rawValue).joined(separator: ", ")).")
    var approximation: IntegrationRule = .gaussLegendre

    @Flag(name: .long, help: "Report peak memory of one attribution instead of timing.")
    var rss = false

    func validate() throws {
        guard steps >= approximation.minimumSteps else {
            throw ValidationError("--steps must be at least \(approximation.minimumSteps) for \(approximation.rawValue)")
        }
        if let size = internalBatchSize, size < 1 { throw ValidationError("--internal-batch-size must be at least 1") }
    }

    func run() throws {
        let (model, input, targets) = try attribution.setUp(options)
        let attribute = {
            _ = try IntegratedGradients.attribute(
                model: model, input: input, targets: targets, steps: steps, rule: approximation,
                internalBatchSize: internalBatchSize)
        }
        if rss {
            try reportPeakMemory(
                task: "ig steps \(steps) internal batch \(internalBatchSize.map(String.init) ?? "none")",
                json: options.json, attribute)
            return
        }
        let name = "ig \(approximation.rawValue) \(steps) steps"
            + (internalBatchSize.map { ", internal batch \($0)" } ?? "")
        try options.measure(
            task: name, flopsPerRun: Double(steps) * 2 * attribution.forwardFlops(model, options), attribute)
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
        let (model, input, targets) = try attribution.setUp(options)
        guard model.layerNames.contains(layer) else {
            throw ValidationError("unknown --layer '\(layer)'; available: \(model.layerNames.joined(separator: ", "))")
        }
        try options.measure(
            task: "grad-cam \(layer) \(upsample.rawValue)", flopsPerRun: 2 * attribution.forwardFlops(model, options)
        ) {
            _ = try GradCAM.attribute(model: model, input: input, layer: layer, targets: targets, upsample: upsample)
        }
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

    func validate() throws {
        guard window >= 1, window <= options.size else { throw ValidationError("--window must be 1...--size") }
        guard stride >= 1, stride <= window else { throw ValidationError("--stride must be 1...--window") }
        guard perturbationsPerEval >= 1 else { throw ValidationError("--perturbations-per-eval must be at least 1") }
    }

    func run() throws {
        let (model, input, targets) = try attribution.setUp(options)
        let perAxis = (options.size - window + stride - 1) / stride + 1
        try options.measure(
            task: "occlusion window \(window) stride \(stride) ppe \(perturbationsPerEval) (\(perAxis * perAxis) windows)",
            flopsPerRun: Double(perAxis * perAxis + 1) * attribution.forwardFlops(model, options)
        ) {
            _ = try Occlusion.attribute(
                model: model, input: input, targets: targets, window: [3, window, window],
                strides: [3, stride, stride], perturbationsPerEval: perturbationsPerEval)
        }
    }
}

/// Runs `body` once and prints the process's peak RSS (getrusage ru_maxrss, KiB on Linux) before and
/// after it, in MiB. The model is already loaded, so the increase is what the attribution needs.
private func reportPeakMemory(task: String, json: Bool, _ body: () throws -> Void) throws {
    func peakMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
    let before = peakMiB()
    let start = Date()
    try body()
    let seconds = Date().timeIntervalSince(start)
    let after = peakMiB()
    if json {
        let fields = [
            "\"task\": \"\(task)\"", String(format: "\"max_rss_mib_before\": %.1f", before),
            String(format: "\"max_rss_mib\": %.1f", after), String(format: "\"rss_increase_mib\": %.1f", after - before),
            String(format: "\"seconds\": %.3f", seconds),
        ]
        print("{" + fields.joined(separator: ", ") + "}")
    } else {
        print(String(
            format: "%@: max RSS %.0f MiB (before %.0f MiB, +%.0f MiB), %.2f s", task, after, before, after - before,
            seconds))
    }
}
