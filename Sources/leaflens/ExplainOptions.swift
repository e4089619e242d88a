import ArgumentParser
import Foundation
import LeafLensAttribution
import LeafLensImaging

/// An attribution method `explain` can run. Raw values are the canonical names used in output file
/// names (`<stem>.<method>.npy`); `init(argument:)` also takes the short aliases.
enum ExplainMethod: String, CaseIterable, ExpressibleByArgument, Codable {
    case integratedGradients = "integrated-gradients"
    case gradCAM = "grad-cam"
    case occlusion
    case saliency
    case inputXGradient = "input-x-gradient"

    /// Accepted spellings besides the canonical name.
    static let aliases: [String: ExplainMethod] = [
        "ig": .integratedGradients, "integrated_gradients": .integratedGradients,
        "integratedgradients": .integratedGradients,
        "gradcam": .gradCAM, "grad_cam": .gradCAM, "layer-grad-cam": .gradCAM,
        "input-x-grad": .inputXGradient, "input_x_gradient": .inputXGradient, "inputxgradient": .inputXGradient,
        "ixg": .inputXGradient,
    ]

    init?(argument: String) {
        let key = argument.trimmingCharacters(in: .whitespaces).lowercased()
        guard let method = ExplainMethod(rawValue: key) ?? Self.aliases[key] else { return nil }
        self = method
    }

    /// The title used in panels and reports.
    var title: String {
        switch self {
        case .integratedGradients: "Integrated Gradients"
        case .gradCAM: "Grad-CAM"
        case .occlusion: "Occlusion"
        case .saliency: "Saliency"
        case .inputXGradient: "Input x Gradient"
        }
    }

    /// Methods whose attributions live in input space `[3, H, W]` (all but Grad-CAM).
    var isInputSpace: Bool { self != .gradCAM }
}

/// `--method a,b,c`: one or more methods, comma-separated, duplicates dropped, order kept.
struct MethodList: ExpressibleByArgument {
    var methods: [ExplainMethod]

    init?(argument: String) {
        var methods: [ExplainMethod] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let method = ExplainMethod(argument: String(part)) else { return nil }
            if !methods.contains(method) { methods.append(method) }
        }
        guard !methods.isEmpty else { return nil }
        self.methods = methods
    }

    static var allValueStrings: [String] { ExplainMethod.allCases.map(\.rawValue) }
    var defaultValueDescription: String { methods.map(\.rawValue).joined(separator: ",") }
}

extension IntegrationRule: ExpressibleByArgument {}
extension UpsampleMode: ExpressibleByArgument {}
extension AttributionSign: ExpressibleByArgument {}

/// `--baseline`: a named baseline, a constant, or a tensor file.
enum BaselineChoice: ExpressibleByArgument, Equatable, CustomStringConvertible {
    case zero
    case blur
    case uniform
    case constant(Double)
    case file(String)

    init?(argument: String) {
        switch argument.lowercased() {
        case "zero", "zeros": self = .zero
        case "blur", "gaussian-blur": self = .blur
        case "uniform", "noise": self = .uniform
        default:
            if let value = Double(argument), value.isFinite {
                self = .constant(value)
            } else if argument.lowercased().hasSuffix(".npy") {
                self = .file(argument)
            } else {
                return nil
            }
        }
    }

    var description: String {
        switch self {
        case .zero: "zero"
        case .blur: "blur"
        case .uniform: "uniform"
        case .constant(let value): "\(value)"
        case .file(let path): path
        }
    }

    var defaultValueDescription: String { description }
    static var allValueStrings: [String] { ["zero", "blur", "uniform", "<number>", "<file.npy>"] }
}

/// `--colormap`: matplotlib names of the maps LeafLens draws with.
enum ColormapName: String, CaseIterable, ExpressibleByArgument {
    case rdwhgn, greens, reds, blues, viridis, inferno, jet, gray

    init?(argument: String) {
        guard let value = ColormapName(rawValue: argument.lowercased()) else { return nil }
        self = value
    }

    var colormap: Colormap? { Colormap.named(rawValue) }
}

/// Integrated Gradients' options.
struct IntegratedGradientsOptions: ParsableArguments {
    static let defaultBlurSigma = 10.0
    static let defaultNoiseSeed: UInt64 = 0
    /// Uniform-noise baselines span the values ImageNet-normalized pixels can take:
    /// [min_c (0 − mean_c)/std_c, max_c (1 − mean_c)/std_c).
    static let noiseRange: (low: Double, high: Double) = (
        zip(ImagePreprocessor.imageNetMean, ImagePreprocessor.imageNetStd).map { (0 - $0) / $1 }.min() ?? -2.2,
        zip(ImagePreprocessor.imageNetMean, ImagePreprocessor.imageNetStd).map { (1 - $0) / $1 }.max() ?? 2.7
    )

    @Option(name: .long, help: "Integrated Gradients: number of integration steps.")
    var steps: Int = 50

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
    var baseline: BaselineChoice = .zero

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
        guard steps >= approximation.minimumSteps, steps <= 100_000 else {
            throw ValidationError(
                "--steps must be in \(approximation.minimumSteps)...100000 for --approximation \(approximation.rawValue), got \(steps)")
        }
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
}

/// Grad-CAM's options.
struct GradCAMOptions: ParsableArguments {
    @Option(name: .long, help: "Grad-CAM: the layer whose activations are weighted (layer1…layer4, layer4.1, layer3.0.conv2, …).")
    var layer: String = "layer4"

    @Flag(name: .customLong("no-relu"), help: "Grad-CAM: keep negative values (Captum's default; the paper applies a ReLU).")
    var noReLU = false

    @Option(name: .long, help: "Grad-CAM: how the layer-resolution map is resized to the input (none keeps it).")
    var upsample: UpsampleMode = .bilinear

    func validate() throws {
        guard !layer.isEmpty else { throw ValidationError("--layer must not be empty") }
    }
}

/// Occlusion's options.
struct OcclusionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Occlusion: the sliding window covers K×K pixels of all channels.", valueName: "K"))
    var window: Int = 15

    @Option(name: .long, help: ArgumentHelp("Occlusion: the window moves S pixels at a time (at most K).", valueName: "S"))
    var stride: Int = 8

    @Option(
        name: .customLong("occlusion-baseline"),
        help: ArgumentHelp("Occlusion: the value that replaces occluded inputs (normalized units).", valueName: "V"))
    var occlusionBaseline: Double = 0

    @Option(
        name: .customLong("perturbations-per-eval"),
        help: ArgumentHelp("Occlusion: occluded copies evaluated in one forward pass.", valueName: "P"))
    var perturbationsPerEval: Int = 16

    func validate() throws {
        guard window >= 1 else { throw ValidationError("--window must be at least 1, got \(window)") }
        guard stride >= 1, stride <= window else {
            throw ValidationError("--stride must be in 1...\(window) (the window size), got \(stride)")
        }
        guard occlusionBaseline.isFinite else { throw ValidationError("--occlusion-baseline must be finite") }
        guard (1...4096).contains(perturbationsPerEval) else {
            throw ValidationError("--perturbations-per-eval must be in 1...4096, got \(perturbationsPerEval)")
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

    /// The sign a method's pictures use.
    func sign(for method: ExplainMethod, relu: Bool) -> AttributionSign {
        if let sign { return sign }
        if method == .gradCAM { return relu ? .positive : .all }
        return .absoluteValue
    }
}
