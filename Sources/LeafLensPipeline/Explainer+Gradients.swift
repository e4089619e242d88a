import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

// The gradient family in the pipeline: GradientShap, Guided Backprop, Deconvolution, Guided Grad-CAM,
// the NoiseTunnel modifier over every gradient method, rectangular/channel Occlusion windows, and
// target control (`--output probability`, `--versus B`), which wraps the model before any method runs.

public typealias NoiseTunnelKind = LeafLensAttribution.NoiseTunnelKind
public typealias OcclusionChannelWindow = Occlusion.ChannelWindow

/// What the methods explain: the target's logit (Captum's usual use) or its softmax probability
/// (pytorch-grad-cam's `ClassifierOutputSoftmaxTarget`).
public enum TargetOutput: String, CaseIterable, Codable, Sendable {
    case logit, probability
}

/// One GradientShap baseline, resolved against each input.
public enum GradientShapBaseline: Equatable, Sendable, CustomStringConvertible {
    case zero
    /// The input blurred by a Gaussian (`IntegratedGradientsSettings.blurSigma`, default 10 pixels).
    case blur
    /// Uniform noise over the normalized pixel range, seeded by `GradientSettings.seed`.
    case uniform
    /// The normalised black image: (0 − mean_c)/std_c per channel (Captum tutorial's `input * 0` of
    /// the unnormalised picture).
    case black
    /// The input itself (the Captum tutorial's second baseline).
    case input
    case constant(Double)

    public init?(text: String) {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "zero", "zeros": self = .zero
        case "blur", "gaussian-blur": self = .blur
        case "uniform", "noise": self = .uniform
        case "black": self = .black
        case "input": self = .input
        default:
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
            self = .constant(value)
        }
    }

    public var description: String {
        switch self {
        case .zero: "zero"
        case .blur: "blur"
        case .uniform: "uniform"
        case .black: "black"
        case .input: "input"
        case .constant(let value): "\(value)"
        }
    }
}

/// GradientShap's baseline distribution: several named baselines, or a `.npy` of K rows `[K, 3, H, W]`.
public enum GradientShapBaselines: Equatable, Sendable, CustomStringConvertible {
    case list([GradientShapBaseline])
    case file(String)

    /// `zero,black,input` or `refs.npy`; nil when a part is not a baseline.
    public init?(text: String) {
        if text.lowercased().hasSuffix(".npy") {
            self = .file(text)
            return
        }
        var baselines: [GradientShapBaseline] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let baseline = GradientShapBaseline(text: String(part)) else { return nil }
            baselines.append(baseline)
        }
        guard !baselines.isEmpty else { return nil }
        self = .list(baselines)
    }

    public var description: String {
        switch self {
        case .list(let baselines): baselines.map(\.description).joined(separator: ",")
        case .file(let path): path
        }
    }
}

public struct NoiseTunnelSettings: Sendable, Equatable {
    public var kind: NoiseTunnelKind = .smoothGrad
    /// Samples per input (Captum's `nt_samples`, default 5).
    public var samples = 5
    /// σ of the added noise in normalised units (Captum's default 1.0).
    public var stdev = 1.0
    /// Samples per internal batch (Captum's `nt_samples_batch_size`); nil: the library's default.
    public var batchSize: Int?

    public init() {}
}

public struct GradientShapSettings: Sendable, Equatable {
    public var baselines: GradientShapBaselines = .list([.zero])
    /// Samples per input (Captum's `n_samples`, default 5).
    public var samples = 5
    /// σ of the noise added to the input (Captum's `stdevs`, default 0).
    public var stdev = 0.0
    /// Rows per forward/backward; nil: the library's default.
    public var internalBatchSize: Int?

    public init() {}
}

public struct TargetSettings: Sendable, Equatable {
    public var output: TargetOutput = .logit
    /// Explain output(target) − output(versus) instead of output(target).
    public var versus: Int?

    public var isDefault: Bool { output == .logit && versus == nil }

    public init() {}
}

/// The gradient family's settings and the one seed of its random draws.
public struct GradientSettings: Sendable {
    /// nil: no noise tunnel.
    public var noiseTunnel: NoiseTunnelSettings?
    public var gradientShap = GradientShapSettings()
    public var target = TargetSettings()
    /// Seeds NoiseTunnel's and GradientShap's draws (and a uniform GradientShap baseline).
    public var seed: UInt64 = 0

    public init() {}
}

/// The JSON record of a noise tunnel run.
public struct NoiseTunnelRecord: Codable, Equatable, Sendable {
    public var kind: String
    public var samples: Int
    public var stdev: Double
    public var batchSize: Int?
    public var seed: UInt64
}

/// The JSON record of a GradientShap run.
public struct GradientShapRecord: Codable, Equatable, Sendable {
    public var baselines: [String]
    public var samples: Int
    public var stdev: Double
    public var seed: UInt64
    public var internalBatchSize: Int?
}

/// What was explained, when not the plain logit.
public struct TargetOutputRecord: Codable, Equatable, Sendable {
    public var output: String
    public var versus: Int?
}

/// A bad option value found while preparing the explainer; `option` is the flag to name.
public struct ExplainerOptionError: Error, CustomStringConvertible, Sendable {
    public var option: String
    public var message: String
    public var description: String { "\(option): \(message)" }
}

extension AttributionMethod {
    /// Methods NoiseTunnel can wrap (gradient methods with input-space attributions).
    public var acceptsNoiseTunnel: Bool {
        switch self {
        case .integratedGradients, .saliency, .inputXGradient, .guidedBackprop, .deconvolution, .gradientShap: true
        default: false
        }
    }

    /// Methods that run on a wrapped model (`--output probability`, `--versus`).
    public var acceptsTargetOutput: Bool {
        switch self {
        case .integratedGradients, .saliency, .inputXGradient, .guidedBackprop, .deconvolution, .gradientShap,
            .guidedGradCAM, .gradCAM, .occlusion:
            true
        default: false
        }
    }
}

extension Explainer {
    /// Loads GradientShap's `.npy` baseline rows and checks they are `[K, 3, H, W]`.
    static func loadShapBaselines(_ settings: GradientSettings, methods: [AttributionMethod]) throws -> Tensor<Float>? {
        guard methods.contains(.gradientShap), case .file(let path) = settings.gradientShap.baselines else {
            return nil
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExplainerOptionError(option: "--shap-baselines", message: "\(path): no such file")
        }
        let rows: Tensor<Float>
        do {
            rows = try NPY.decode(try Data(contentsOf: URL(fileURLWithPath: path)), source: path)
        } catch {
            throw ExplainerOptionError(option: "--shap-baselines", message: "\(path): \(error)")
        }
        guard rows.rank == 4, rows.shape[0] >= 1, rows.shape[1] == 3 else {
            throw ExplainerOptionError(
                option: "--shap-baselines",
                message: "\(path) has shape \(rows.shape); GradientShap baseline rows must be [K, 3, H, W]")
        }
        return rows
    }

    /// Whether `explainGradient` runs `method` (new methods and occlusion always; the others when a
    /// noise tunnel or a target output applies).
    func routesThroughGradients(_ method: AttributionMethod) -> Bool {
        let options = settings.gradients
        switch method {
        case .gradientShap, .guidedBackprop, .deconvolution, .guidedGradCAM, .occlusion: return true
        default:
            return (options.noiseTunnel != nil && method.acceptsNoiseTunnel)
                || (!options.target.isDefault && method.acceptsTargetOutput)
        }
    }

    /// Runs `method` on the model as `--output`/`--versus` see it.
    func explainGradient(
        _ method: AttributionMethod, input: LoadedInput, target: Int, progress: AttributionProgress?
    ) throws -> Explanation {
        let options = settings.gradients.target
        var explanation: Explanation
        switch (options.output, options.versus) {
        case (.logit, nil):
            explanation = try gradientMethod(
                method, input: input, target: target, progress: progress, model: classifier)
        case (.probability, nil):
            explanation = try gradientMethod(
                method, input: input, target: target, progress: progress, model: ProbabilityOutput(classifier))
        case (.logit, let versus?):
            explanation = try gradientMethod(
                method, input: input, target: target, progress: progress,
                model: try ContrastiveOutput(classifier, versus: versus))
        case (.probability, let versus?):
            explanation = try gradientMethod(
                method, input: input, target: target, progress: progress,
                model: try ContrastiveOutput(ProbabilityOutput(classifier), versus: versus))
        }
        if !options.isDefault {
            explanation.parameters.targetOutput = TargetOutputRecord(
                output: options.output.rawValue, versus: options.versus)
        }
        return explanation
    }

    private func gradientMethod<Model: OutputGradientModel>(
        _ method: AttributionMethod, input: LoadedInput, target: Int, progress: AttributionProgress?, model: Model
    ) throws -> Explanation where Model.Scalar == Float {
        if let tunnel = settings.gradients.noiseTunnel, method.acceptsNoiseTunnel {
            return try noiseTunnel(method, tunnel, input: input, target: target, progress: progress, model: model)
        }
        switch method {
        case .saliency:
            let a = try Saliency.attribute(model: model, input: input.tensor, targets: [target])
            var parameters = MethodParameters()
            parameters.absolute = true
            return try inputSpace(method, a, parameters)
        case .inputXGradient:
            let a = try InputXGradient.attribute(model: model, input: input.tensor, targets: [target])
            return try inputSpace(method, a, MethodParameters())
        case .integratedGradients:
            return try integratedGradients(input, target: target, progress: progress, model: model)
        case .gradCAM:
            return try gradCAM(input, target: target, model: model)
        case .occlusion:
            return try occlusion(input, target: target, progress: progress, model: model)
        case .guidedBackprop:
            let a = try GuidedBackprop.attribute(model: model, input: input.tensor, targets: [target])
            return try inputSpace(method, a, MethodParameters())
        case .deconvolution:
            let a = try Deconvolution.attribute(model: model, input: input.tensor, targets: [target])
            return try inputSpace(method, a, MethodParameters())
        case .guidedGradCAM:
            let layer = settings.gradCAM.layer
            let a = try GuidedGradCAM.attribute(
                model: model, input: input.tensor, targets: [target],
                parameters: .init(layer: layer, upsample: .nearest))
            var parameters = MethodParameters()
            parameters.layer = layer
            parameters.relu = true
            parameters.upsample = UpsampleMode.nearest.rawValue
            return try inputSpace(method, a, parameters)
        case .gradientShap:
            let (shap, record) = try gradientShapParameters(input)
            let result = try GradientShap.attribute(
                model: model, input: input.tensor, targets: [target], parameters: shap, progress: progress)
            var parameters = MethodParameters()
            parameters.gradientShap = record
            return try inputSpace(method, result.attributions, parameters)
        default:
            throw PipelineError("\(method.rawValue) does not support --output/--versus")
        }
    }

    private func noiseTunnel<Model: OutputGradientModel>(
        _ method: AttributionMethod, _ tunnel: NoiseTunnelSettings, input: LoadedInput, target: Int,
        progress: AttributionProgress?, model: Model
    ) throws -> Explanation where Model.Scalar == Float {
        var parameters = MethodParameters()
        let inner: NoiseTunnel.Method<Float>
        switch method {
        case .saliency:
            inner = .saliency(absolute: true)
            parameters.absolute = true
        case .inputXGradient: inner = .inputXGradient
        case .guidedBackprop: inner = .guidedBackprop
        case .deconvolution: inner = .deconvolution
        case .integratedGradients:
            let options = settings.integratedGradients
            let (baseline, igParameters) = try integratedGradientsBaseline(input)
            parameters = igParameters
            inner = .integratedGradients(
                baseline: baseline, steps: options.steps, rule: options.rule,
                internalBatchSize: options.internalBatchSize)
        case .gradientShap:
            let (shap, record) = try gradientShapParameters(input)
            parameters.gradientShap = record
            inner = .gradientShap(shap)
        default: throw PipelineError("\(method.rawValue) cannot run inside a noise tunnel")
        }
        let seed = settings.gradients.seed
        let a = try NoiseTunnel.attribute(
            model: model, input: input.tensor, targets: [target], method: inner,
            parameters: .init(
                kind: tunnel.kind, samples: tunnel.samples, stdev: tunnel.stdev, batchSize: tunnel.batchSize, seed: seed
            ),
            progress: progress)
        parameters.noiseTunnel = NoiseTunnelRecord(
            kind: tunnel.kind.rawValue, samples: tunnel.samples, stdev: tunnel.stdev, batchSize: tunnel.batchSize,
            seed: seed)
        return try inputSpace(method, a, parameters)
    }

    /// GradientShap's library parameters for `input`, and their JSON record.
    private func gradientShapParameters(
        _ input: LoadedInput
    ) throws
        -> (GradientShap.Parameters<Float>, GradientShapRecord)
    {
        let options = settings.gradients.gradientShap
        let seed = settings.gradients.seed
        let distribution: GradientShap.Distribution<Float>
        let names: [String]
        switch options.baselines {
        case .file(let path):
            guard let rows = shapBaselineRows else { throw PipelineError("\(path): baselines were not loaded") }
            guard Array(rows.shape.dropFirst()) == Array(input.tensor.shape.dropFirst()) else {
                throw PipelineError(
                    "\(input.path): the --shap-baselines rows \(path) are \(Array(rows.shape.dropFirst())), "
                        + "the input \(Array(input.tensor.shape.dropFirst()))")
            }
            distribution = .rows(rows)
            names = ["\(path) (\(rows.shape[0]) rows)"]
        case .list(let baselines):
            distribution = .perExample(try baselines.map { try shapBaseline($0, input: input, seed: seed) })
            names = baselines.map(\.description)
        }
        let parameters = GradientShap.Parameters<Float>(
            baselines: distribution, samples: options.samples, stdev: options.stdev, seed: seed,
            internalBatchSize: options.internalBatchSize)
        let record = GradientShapRecord(
            baselines: names, samples: options.samples, stdev: options.stdev, seed: seed,
            internalBatchSize: options.internalBatchSize)
        return (parameters, record)
    }

    private func shapBaseline(
        _ baseline: GradientShapBaseline, input: LoadedInput, seed: UInt64
    ) throws
        -> Baseline<Float>
    {
        switch baseline {
        case .zero: return .zero
        case .constant(let value): return .constant(value)
        case .blur:
            return .gaussianBlur(
                sigma: settings.integratedGradients.blurSigma ?? IntegratedGradientsSettings.defaultBlurSigma)
        case .uniform:
            let range = IntegratedGradientsSettings.noiseRange
            return .uniformNoise(low: range.low, high: range.high, seed: seed)
        case .input: return .tensor(input.tensor)
        case .black:
            var black = Tensor<Float>(zeros: input.tensor.shape)
            let channels = input.tensor.shape[1]
            let area = input.tensor.count / max(channels, 1)
            let means = ImagePreprocessor.imageNetMean, stds = ImagePreprocessor.imageNetStd
            guard channels == means.count else {
                throw PipelineError("\(input.path): the black baseline needs 3 channels, the input has \(channels)")
            }
            for c in 0..<channels {
                let value = Float((0 - means[c]) / stds[c])
                for i in 0..<area { black.storage[c * area + i] = value }
            }
            return .tensor(black)
        }
    }

    /// Occlusion with the settings' window (square or `H×W`), strides and channel window.
    private func occlusion<Model: AttributionModel>(
        _ input: LoadedInput, target: Int, progress: AttributionProgress?, model: Model
    ) throws -> Explanation where Model.Scalar == Float {
        let options = settings.occlusion
        let (height, width) = (input.tensor.shape[2], input.tensor.shape[3])
        let windowWidth = options.windowWidth ?? options.window
        guard options.window <= height, windowWidth <= width else {
            throw PipelineError(
                "\(input.path): the occlusion window \(options.window)×\(windowWidth) does not fit the "
                    + "\(height)×\(width) input; use a smaller --window")
        }
        let occlusion = Occlusion.Parameters<Float>(
            height: options.window, width: windowWidth, strideHeight: options.stride,
            strideWidth: options.strideWidth ?? options.stride, channels: options.channels,
            baseline: .constant(options.baseline), perturbationsPerEval: options.perturbationsPerEval)
        let (window, strides) = try occlusion.captumWindow(channelCount: input.tensor.shape[1])
        var parameters = MethodParameters()
        let a: Tensor<Float>
        if options.isApproximate {
            (a, parameters.occlusionApproximation) = try approximateOcclusion(
                input, target: target, parameters: occlusion, progress: progress, model: model)
        } else {
            a = try Occlusion.attribute(
                model: model, input: input.tensor, targets: [target], parameters: occlusion, progress: progress)
        }
        parameters.window = window
        parameters.strides = strides
        parameters.occlusionBaseline = options.baseline
        parameters.perturbationsPerEval = options.perturbationsPerEval
        return try inputSpace(.occlusion, a, parameters)
    }
}

extension MethodParameters {
    /// The gradient family's report lines (see `displayPairs`).
    var gradientDisplayPairs: [(String, String)] {
        var pairs: [(String, String)] = []
        if let tunnel = noiseTunnel {
            pairs.append(("noise tunnel", "\(tunnel.kind), \(tunnel.samples) samples, stdev \(tunnel.stdev)"))
            if let batch = tunnel.batchSize { pairs.append(("noise tunnel batch size", "\(batch)")) }
            pairs.append(("noise tunnel seed", "\(tunnel.seed)"))
        }
        if let shap = gradientShap {
            pairs.append(("baselines", shap.baselines.joined(separator: ", ")))
            pairs.append(("samples", "\(shap.samples)"))
            pairs.append(("stdev", "\(shap.stdev)"))
            pairs.append(("seed", "\(shap.seed)"))
        }
        if let output = targetOutput {
            pairs.append(("output", output.output))
            if let versus = output.versus { pairs.append(("versus", "\(versus)")) }
        }
        return pairs
    }
}

// Target specs for the CLI (which imports only the pipeline).
public typealias TargetRequest = LeafLensAttribution.TargetRequest
public typealias ClassLabels = LeafLensAttribution.ClassLabels
public typealias TargetError = LeafLensAttribution.TargetError

extension OcclusionSettings {
    /// `HxW` (`15x25`) or `K` (a square); nil unless positive integers.
    public static func parseSize(_ text: String) -> (height: Int, width: Int)? { try? Occlusion.parseWindow(text) }

    /// `all`, `each`, or `C:S` (windows of C consecutive channels sliding by S); nil otherwise.
    public static func parseChannels(_ text: String) -> OcclusionChannelWindow? {
        switch text.lowercased() {
        case "all": return .all
        case "each": return .each
        default:
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 2, let size = parts[0], let stride = parts[1], size >= 1, stride >= 1 else {
                return nil
            }
            return .groups(size: size, stride: stride)
        }
    }
}
