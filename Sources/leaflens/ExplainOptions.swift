import ArgumentParser
import Foundation
import LeafLensPipeline

/// `--method a,b,c`: one or more of the pipeline's attribution methods (names or aliases),
/// comma-separated, duplicates dropped, order kept.
struct MethodList: ExpressibleByArgument {
    var methods: [AttributionMethod]

    init?(argument: String) {
        guard let methods = AttributionMethod.list(argument) else { return nil }
        self.methods = methods
    }

    static var allValueStrings: [String] { AttributionMethod.allCases.map(\.rawValue) }
    var defaultValueDescription: String { methods.map(\.rawValue).joined(separator: ",") }

    /// "integrated-gradients (ig), grad-cam (gradcam), occlusion, …" for help texts.
    static var helpList: String {
        AttributionMethod.allCases.map { method in
            method.shortName.map { "\(method.rawValue) (\($0))" } ?? method.rawValue
        }
        .joined(separator: ", ")
    }
}

extension IntegrationRule: ExpressibleByArgument {}
extension UpsampleMode: ExpressibleByArgument {}
extension OcclusionDrillDownRanking: ExpressibleByArgument {}
extension AttributionSign: ExpressibleByArgument {}

extension IntegratedGradientsBaseline: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }
    public var defaultValueDescription: String { description }
    public static var allValueStrings: [String] { ["zero", "blur", "uniform", "<number>", "<file.npy>"] }
}

/// `--colormap`: matplotlib names of the maps LeafLens draws with.
struct ColormapName: ExpressibleByArgument {
    var name: String

    init?(argument: String) {
        guard VisualizationSettings.colormapNames.contains(argument.lowercased()) else { return nil }
        name = argument.lowercased()
    }

    static var allValueStrings: [String] { VisualizationSettings.colormapNames }
}

/// `--steps N|auto`.
enum StepCount: Equatable, ExpressibleByArgument {
    case fixed(Int)
    /// The fewest steps within `--delta-tolerance` (IntegratedGradients+StepSearch.swift).
    case auto

    init?(argument: String) {
        if argument.lowercased() == "auto" {
            self = .auto
        } else if let n = Int(argument) {
            self = .fixed(n)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .fixed(let n): "\(n)"
        case .auto: "auto"
        }
    }

    /// The checks `explain` and `bench ig` share: a fixed count in range and no auto-only option, or auto
    /// with its options in range.
    func validate(deltaTolerance: Double?, maxSteps: Int?, rule: IntegrationRule) throws {
        let range = "\(rule.minimumSteps)...100000"
        switch self {
        case .fixed(let steps):
            guard steps >= rule.minimumSteps, steps <= 100_000 else {
                throw ValidationError(
                    "--steps must be auto or in \(range) for --approximation \(rule.rawValue), got \(steps)")
            }
            if deltaTolerance != nil { throw ValidationError("--delta-tolerance only applies with --steps auto") }
            if maxSteps != nil { throw ValidationError("--max-steps only applies with --steps auto") }
        case .auto:
            if let deltaTolerance, !(deltaTolerance.isFinite && deltaTolerance > 0 && deltaTolerance <= 1) {
                throw ValidationError(
                    "--delta-tolerance must be a fraction in (0, 1] of |F(x) − F(baseline)|, got \(deltaTolerance)")
            }
            if let maxSteps, maxSteps < rule.minimumSteps || maxSteps > 100_000 {
                throw ValidationError(
                    "--max-steps must be in \(range) for --approximation \(rule.rawValue), got \(maxSteps)")
            }
        }
    }
}

/// Integrated Gradients' options.
struct IntegratedGradientsOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Integrated Gradients: number of integration steps, or auto: the fewest steps whose convergence \
            delta is within --delta-tolerance (a doubling ladder up to --max-steps, then bisection).
            """, valueName: "n|auto"))
    var steps: StepCount = .fixed(50)

    @Option(
        name: .customLong("delta-tolerance"),
        help: ArgumentHelp(
            """
            Integrated Gradients with --steps auto: the largest |convergence delta| accepted, as a fraction \
            of |F(x) − F(baseline)| (default: 0.01, i.e. 1%).
            """, valueName: "fraction"))
    var deltaTolerance: Double?

    @Option(
        name: .customLong("max-steps"),
        help: ArgumentHelp(
            "Integrated Gradients with --steps auto: the most steps tried (default: 1024).", valueName: "n"))
    var maxSteps: Int?

    @Option(name: .long, help: "Integrated Gradients: quadrature rule, as Captum's `method`.")
    var approximation: IntegrationRule = .gaussLegendre

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Integrated Gradients: the path's start. zero; blur (the input blurred by a Gaussian of \
            --blur-sigma pixels); uniform (noise from --noise-seed over the normalized pixel range); a \
            number (that value everywhere); or a .npy tensor [3, H, W] or [1, 3, H, W] shaped like the input.
            """, valueName: "baseline"))
    var baseline: IntegratedGradientsBaseline = .zero

    @Option(
        name: .customLong("blur-sigma"),
        help: ArgumentHelp(
            "Integrated Gradients: standard deviation in pixels of the blur baseline (default: 10).",
            valueName: "pixels"))
    var blurSigma: Double?

    @Option(
        name: .customLong("noise-seed"),
        help: ArgumentHelp("Integrated Gradients: seed of the uniform-noise baseline (default: 0).", valueName: "seed"))
    var noiseSeed: UInt64?

    @Option(
        name: .customLong("internal-batch-size"),
        help: "Integrated Gradients: scaled inputs per forward/backward pass; bounds memory whatever --steps is.")
    var internalBatchSize: Int = 16

    func validate() throws {
        try steps.validate(deltaTolerance: deltaTolerance, maxSteps: maxSteps, rule: approximation)
        guard internalBatchSize >= 1 else {
            throw ValidationError("--internal-batch-size must be at least 1, got \(internalBatchSize)")
        }
        if let blurSigma {
            guard baseline == .blur else { throw ValidationError("--blur-sigma only applies with --baseline blur") }
            guard blurSigma.isFinite, blurSigma > 0, blurSigma <= 10_000 else {
                throw ValidationError("--blur-sigma must be in (0, 10000] pixels, got \(blurSigma)")
            }
        }
        if noiseSeed != nil, baseline != .uniform {
            throw ValidationError("--noise-seed only applies with --baseline uniform")
        }
    }

    var settings: IntegratedGradientsSettings {
        var settings = IntegratedGradientsSettings()
        switch steps {
        case .fixed(let steps): settings.steps = steps
        case .auto:
            settings.stepSearch = IntegratedGradientsStepSearch(
                relativeTolerance: deltaTolerance ?? IntegratedGradientsStepSearch.defaultRelativeTolerance,
                maximumSteps: maxSteps ?? IntegratedGradientsStepSearch.defaultMaximumSteps)
        }
        settings.rule = approximation
        settings.baseline = baseline
        settings.blurSigma = blurSigma
        settings.noiseSeed = noiseSeed
        settings.internalBatchSize = internalBatchSize
        return settings
    }
}

/// Grad-CAM's options.
struct GradCAMOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Grad-CAM and the CAM family: the layer whose activations are weighted (layer1…layer4, layer4.1, layer3.0.conv2, …); several, comma-separated, are averaged as pytorch-grad-cam does.",
            valueName: "layer"))
    var layer: String = "layer4"

    @Flag(
        name: .customLong("no-relu"),
        help: "Grad-CAM: keep negative values (Captum's default; the paper applies a ReLU).")
    var noReLU = false

    @Option(name: .long, help: "Grad-CAM: how the layer-resolution map is resized to the input (none keeps it).")
    var upsample: UpsampleMode = .bilinear

    func validate() throws {
        guard !layer.isEmpty else { throw ValidationError("--layer must not be empty") }
    }

    var settings: GradCAMSettings {
        var settings = GradCAMSettings()
        settings.layer = layer
        settings.relu = !noReLU
        settings.upsample = upsample
        return settings
    }
}

/// `--window`/`--stride`: `HxW` or one size for both axes.
struct WindowSize: ExpressibleByArgument {
    var height: Int, width: Int
    init(_ height: Int, _ width: Int) { (self.height, self.width) = (height, width) }
    init?(argument: String) {
        guard let size = OcclusionSettings.parseSize(argument) else { return nil }
        (height, width) = size
    }
    var defaultValueDescription: String { height == width ? "\(height)" : "\(height)x\(width)" }
}

/// `--window-channels all|each|C:S`.
struct ChannelWindowSpec: ExpressibleByArgument {
    var text: String, window: OcclusionChannelWindow
    init?(argument: String) {
        guard let window = OcclusionSettings.parseChannels(argument) else { return nil }
        (text, self.window) = (argument, window)
    }
    var defaultValueDescription: String { text }
}

/// Occlusion's options.
struct OcclusionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Occlusion: the sliding window covers K×K pixels, or H×W with HxW (e.g. 15x25).", valueName: "K|HxW"))
    var window = WindowSize(15, 15)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Occlusion: the window moves S pixels at a time (SHxSW per axis), at most the window.", valueName: "S|SHxSW"
        ))
    var stride = WindowSize(8, 8)

    @Option(
        name: .customLong("window-channels"),
        help: ArgumentHelp(
            "Occlusion: channels one window spans: all (Captum's usual (3, h, w)), each (one at a time), or C:S (C channels sliding by S).",
            valueName: "channels"))
    var windowChannels = ChannelWindowSpec(argument: "all")!  // safe: a literal spec

    @Option(
        name: .customLong("occlusion-baseline"),
        help: ArgumentHelp("Occlusion: the value that replaces occluded inputs (normalized units).", valueName: "V"))
    var occlusionBaseline: Double = 0

    @Option(
        name: .customLong("perturbations-per-eval"),
        help: ArgumentHelp("Occlusion: occluded copies evaluated in one forward pass.", valueName: "P"))
    var perturbationsPerEval: Int = 16

    @Option(
        name: .customLong("occlusion-tau"),
        help: ArgumentHelp(
            "Occlusion, approximate (Krypton): each layer recomputes at most T × its side around a window's changed region (0 < T ≤ 1; 1 is exact).",
            valueName: "T"))
    var occlusionTau: Double?

    @Option(
        name: .customLong("occlusion-drilldown"),
        help: ArgumentHelp(
            "Occlusion, approximate (Krypton): a coarse pass at twice the stride, then the given stride only in the top R fraction of the coarse map (0 < R ≤ 1).",
            valueName: "R"))
    var occlusionDrilldown: Double?

    @Option(
        name: .customLong("occlusion-drilldown-rank"),
        help: ArgumentHelp(
            "Occlusion, drill-down: rank coarse windows by magnitude (|output drop|) or signed (the drop, Krypton's rule).",
            valueName: "rank"))
    var occlusionDrilldownRank: OcclusionDrillDownRanking = .magnitude

    @Flag(
        name: .customLong("check-exact"),
        help:
            "Occlusion, approximate: also compute the exact map and record the SSIM to it (and both times) in the JSON."
    )
    var checkExact = false

    func validate() throws {
        try Self.validateApproximation(tau: occlusionTau, drillDown: occlusionDrilldown)
        if checkExact, occlusionTau == nil, occlusionDrilldown == nil {
            throw ValidationError(
                "--check-exact compares an approximate map with the exact one: give --occlusion-tau or --occlusion-drilldown"
            )
        }
        guard stride.height <= window.height, stride.width <= window.width else {
            throw ValidationError(
                "--stride \(stride.defaultValueDescription) must be at most the window \(window.defaultValueDescription) on each axis"
            )
        }
        if case .groups(let size, let step) = windowChannels.window, size > 3 || step > size {
            throw ValidationError("--window-channels \(windowChannels.text): C must be in 1...3 and S in 1...C")
        }
        guard occlusionBaseline.isFinite else { throw ValidationError("--occlusion-baseline must be finite") }
        guard (1...4096).contains(perturbationsPerEval) else {
            throw ValidationError("--perturbations-per-eval must be in 1...4096, got \(perturbationsPerEval)")
        }
    }

    var settings: OcclusionSettings {
        var settings = OcclusionSettings()
        settings.window = window.height
        settings.windowWidth = window.width
        settings.stride = stride.height
        settings.strideWidth = stride.width
        settings.channels = windowChannels.window
        settings.baseline = occlusionBaseline
        settings.perturbationsPerEval = perturbationsPerEval
        settings.projectiveFieldThreshold = occlusionTau
        settings.drillDown = occlusionDrilldown
        settings.drillDownRanking = occlusionDrilldownRank
        settings.checkExact = checkExact
        return settings
    }

    /// `--occlusion-tau` and `--occlusion-drilldown` must be in (0, 1].
    static func validateApproximation(tau: Double?, drillDown: Double?) throws {
        if let tau, !(tau.isFinite && tau > 0 && tau <= 1) {
            throw ValidationError("--occlusion-tau must be in (0, 1] (1 is exact), got \(tau)")
        }
        if let r = drillDown, !(r.isFinite && r > 0 && r <= 1) {
            throw ValidationError("--occlusion-drilldown must be in (0, 1] (1 refines every window), got \(r)")
        }
    }
}

/// How attribution maps become pictures (Captum's `visualize_image_attr`).
struct VisualizationOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Which part of the attributions to draw (default: absolute_value for input-space methods; \
            for Grad-CAM positive, or all with --no-relu).
            """)
    var sign: AttributionSign?

    @Option(
        name: .customLong("outlier-percent"),
        help: ArgumentHelp("Percent of the attribution mass that saturates the colour scale.", valueName: "percent"))
    var outlierPercent: Double = 2

    @Option(name: .long, help: "Colormap of heat maps and overlays (default: Captum's map for the sign).")
    var colormap: ColormapName?

    func validate() throws {
        guard outlierPercent.isFinite, outlierPercent >= 0, outlierPercent < 100 else {
            throw ValidationError("--outlier-percent must be in [0, 100), got \(outlierPercent)")
        }
    }

    var settings: VisualizationSettings {
        var settings = VisualizationSettings()
        settings.sign = sign
        settings.outlierPercent = outlierPercent
        settings.colormap = colormap?.name
        return settings
    }
}

/// How a data-set run shows progress.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// One bar per shard with images/s and the time left (a terminal).
    case bar
    /// A line every `--progress-every` images (batch logs: Slurm writes them to files).
    case lines
    case none
}

/// `explain --data/--list`: a whole data set, optionally one shard of it.
struct DataSetOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Explain every image under DIR, recursively (class folders become the true labels); outputs go to OUT/<relative path>.",
            valueName: "dir"))
    var data: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Explain the images listed in FILE, one path per line (relative to FILE's folder).", valueName: "file"))
    var list: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Data sets: explain only shard K of N (0 <= K < N, by a stable hash of each relative path), or auto: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX with --shards.",
            valueName: "K/N|auto"))
    var shard: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Data sets: the number of shards N for --shard auto (required with Kubernetes' JOB_COMPLETION_INDEX).",
            valueName: "N"))
    var shards: Int?

    @Option(
        name: .long, help: "Data sets: progress as a bar (default on a terminal), lines (default otherwise) or none.")
    var progress: ProgressMode?

    @Option(
        name: .customLong("progress-every"),
        help: ArgumentHelp("Data sets: with --progress lines, a line every N images.", valueName: "N"))
    var progressEvery: Int = 10

    @Option(
        name: .customLong("batch-size"),
        help: ArgumentHelp("Data sets: images classified in one forward pass.", valueName: "N"))
    var batchSize: Int = 8

    var isActive: Bool { data != nil || list != nil }

    /// The shard named by `--shard` (the whole data set without it); `environment` for `auto`.
    func resolvedShard(_ environment: [String: String]) throws -> Shard {
        guard let shard else { return .whole }
        if shard == "auto" { return try Shard.fromEnvironment(environment, shards: shards) }
        return try Shard(parsing: shard)
    }

    /// Rules that involve the positional inputs and --out.
    func validate(inputs: [String], out: String) throws {
        if data != nil, list != nil { throw ValidationError("--data and --list cannot be used together") }
        guard isActive else {
            guard !inputs.isEmpty else {
                throw ValidationError("give at least one INPUT, or --data DIR, or --list FILE")
            }
            for (name, given) in [
                ("--shard", shard != nil), ("--shards", shards != nil), ("--progress", progress != nil),
                ("--batch-size", batchSize != 8),
            ] where given {
                throw ValidationError("\(name) applies to data sets only (--data DIR or --list FILE)")
            }
            return
        }
        guard inputs.isEmpty else {
            throw ValidationError("give either INPUT files or \(data != nil ? "--data" : "--list"), not both")
        }
        if let shards {
            guard shards >= 1 else { throw ValidationError("--shards must be at least 1, got \(shards)") }
            guard shard == "auto" else { throw ValidationError("--shards only applies with --shard auto") }
        }
        do { _ = try resolvedShard(ProcessInfo.processInfo.environment) } catch let error as ShardError {
            throw ValidationError("--shard \(shard ?? ""): \(error.description)")
        }
        guard progressEvery >= 1 else {
            throw ValidationError("--progress-every must be at least 1, got \(progressEvery)")
        }
        guard (1...256).contains(batchSize) else {
            throw ValidationError("--batch-size must be in 1...256, got \(batchSize)")
        }
        if let data {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--data \(data): not a folder")
            }
            // Outputs inside the data folder would be listed as inputs by the next run.
            let root = URL(fileURLWithPath: data).standardizedFileURL.resolvingSymlinksInPath().path
            let target = URL(fileURLWithPath: out).standardizedFileURL.resolvingSymlinksInPath().path
            if target == root || target.hasPrefix(root + "/") {
                throw ValidationError(
                    "--out \(out) is inside --data \(data); choose an output folder outside the data set")
            }
        }
        if let list {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: list, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw ValidationError("--list \(list): no such file")
            }
        }
    }
}
