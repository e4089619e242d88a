import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

/// One method's attributions for one input.
public struct Explanation: Sendable {
    public var method: AttributionMethod
    /// What goes into `<stem>.<method>.npy`: `[3, H, W]` for input-space methods; `[h, w]` for Grad-CAM
    /// (the layer's resolution with `upsample: .none`, else the input's).
    public var attributions: Tensor<Float>
    /// What the pictures show and the scores read, always at the input's resolution: `[3, H, W]` or `[H, W]`.
    public var displayed: Tensor<Float>
    public var parameters: MethodParameters
    /// Σ attributions − (F(x) − F(b)) (Integrated Gradients only).
    public var convergenceDelta: Double?
    public var seconds: Double
    /// The segments a segment method perturbed (drawn as outlines over the pictures).
    public var segments: FeatureSegments? = nil

    /// `displayed` summed over channels, `[H·W]` row-major: the map the scores compare with masks.
    public var map: [Float] { ExplanationMetrics.channelSum(displayed) }
}

/// The parameters a method ran with, as recorded in the JSON file (absent keys do not apply).
public struct MethodParameters: Codable, Equatable, Sendable {
    // Integrated Gradients
    public var steps: Int?
    public var approximation: String?
    public var baseline: String?
    public var blurSigma: Double?
    public var noiseSeed: UInt64?
    public var noiseRange: [Double]?
    public var internalBatchSize: Int?
    /// `--steps auto`: how `steps` was chosen (Explainer+StepSearch.swift).
    public var stepSearch: StepSearchRecord?
    // Grad-CAM
    public var layer: String?
    public var relu: Bool?
    public var upsample: String?
    public var layerShape: [Int]?
    // Occlusion
    public var window: [Int]?
    public var strides: [Int]?
    public var occlusionBaseline: Double?
    public var perturbationsPerEval: Int?
    /// Approximate occlusion's settings and cost, and its SSIM to the exact map (Explainer+Occlusion.swift).
    public var occlusionApproximation: OcclusionApproximationRecord?
    // Saliency
    public var absolute: Bool?
    // CAM family (and grad-cam with pytorch-grad-cam's post-processing)
    public var layers: [String]?
    public var postprocess: String?
    public var eigenSmooth: Bool?
    public var augSmooth: Bool?
    public var camBatchSize: Int?
    public var projectionSign: String?
    // Segment methods (baseline and perturbations per eval use the fields above)
    public var segments: String?
    public var segmentCount: Int?
    public var samples: Int?
    public var seed: UInt64?
    public var limeModel: String?
    public var limeAlpha: Double?
    public var kernelWidth: Double?
    // Noise tunnel, GradientShap, target control (Explainer+Gradients.swift)
    public var noiseTunnel: NoiseTunnelRecord?
    public var gradientShap: GradientShapRecord?
    public var targetOutput: TargetOutputRecord?

    public init() {}
}

/// `baseline` of Integrated Gradients: a named baseline, a constant, or a tensor file.
public enum IntegratedGradientsBaseline: Equatable, Sendable, CustomStringConvertible {
    case zero
    /// The input blurred by a Gaussian (`IntegratedGradientsSettings.blurSigma`).
    case blur
    /// Uniform noise over the normalized pixel range (`IntegratedGradientsSettings.noiseSeed`).
    case uniform
    case constant(Double)
    /// A `.npy` tensor `[3, H, W]` or `[1, 3, H, W]` shaped like the input.
    case file(String)

    /// Parses `zero`, `blur`, `uniform` (and their synonyms), a finite number, or a path ending in `.npy`.
    public init?(text: String) {
        switch text.lowercased() {
        case "zero", "zeros": self = .zero
        case "blur", "gaussian-blur": self = .blur
        case "uniform", "noise": self = .uniform
        default:
            if let value = Double(text), value.isFinite {
                self = .constant(value)
            } else if text.lowercased().hasSuffix(".npy") {
                self = .file(text)
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .zero: "zero"
        case .blur: "blur"
        case .uniform: "uniform"
        case .constant(let value): "\(value)"
        case .file(let path): path
        }
    }
}

public struct IntegratedGradientsSettings: Sendable {
    public static let defaultBlurSigma = 10.0
    public static let defaultNoiseSeed: UInt64 = 0
    /// Uniform-noise baselines span the values ImageNet-normalized pixels can take:
    /// [min_c (0 − mean_c)/std_c, max_c (1 − mean_c)/std_c).
    public static let noiseRange: (low: Double, high: Double) = (
        zip(ImagePreprocessor.imageNetMean, ImagePreprocessor.imageNetStd).map { (0 - $0) / $1 }.min() ?? -2.2,
        zip(ImagePreprocessor.imageNetMean, ImagePreprocessor.imageNetStd).map { (1 - $0) / $1 }.max() ?? 2.7
    )

    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    public var baseline: IntegratedGradientsBaseline = .zero
    /// nil: `defaultBlurSigma` (recorded only for the blur baseline).
    public var blurSigma: Double?
    /// nil: `defaultNoiseSeed` (recorded only for the uniform baseline).
    public var noiseSeed: UInt64?
    public var internalBatchSize = 16
    /// `--steps auto`: search for the fewest steps within a delta tolerance (`steps` is then unused);
    /// nil runs `steps` steps.
    public var stepSearch: IntegratedGradientsStepSearch?

    public init() {}
}

public struct GradCAMSettings: Sendable {
    public var layer = "layer4"
    /// The paper's ReLU; false gives Captum's `LayerGradCam` default.
    public var relu = true
    /// How the stored map is resized to the input (`.none` keeps the layer's resolution).
    public var upsample: UpsampleMode = .bilinear

    public init() {}
}

public struct OcclusionSettings: Sendable {
    /// K: the window covers K×K pixels of all channels.
    public var window = 15
    /// S: the window moves S pixels at a time (at most K).
    public var stride = 8
    /// The value that replaces occluded inputs (normalized units).
    public var baseline = 0.0
    public var perturbationsPerEval = 16
    /// Rectangular windows and channel windows (nil: square `window`, `stride` on both axes; all channels).
    public var windowWidth: Int?, strideWidth: Int?
    public var channels: OcclusionChannelWindow = .all
    /// Krypton's projective-field threshold τ ∈ (0, 1] (nil: exact; see `Occlusion.Approximation`).
    public var projectiveFieldThreshold: Double?
    /// Krypton's adaptive drill-down fraction R ∈ (0, 1] (nil: none), and what it ranks coarse windows by.
    public var drillDown: Double?
    public var drillDownRanking: OcclusionDrillDownRanking = .magnitude
    /// With an approximation: also compute the exact map and record the SSIM of the approximate one to it.
    public var checkExact = false

    /// Whether τ or R is set (the approximate path runs, even for τ = 1).
    public var isApproximate: Bool { projectiveFieldThreshold != nil || drillDown != nil }

    public init() {}
}

/// Every method's settings.
public struct ExplainerSettings: Sendable {
    public var integratedGradients = IntegratedGradientsSettings()
    public var gradCAM = GradCAMSettings()
    public var occlusion = OcclusionSettings()
    public var cam = CAMSettings()
    public var segments = SegmentSettings()
    public var gradients = GradientSettings()

    public init() {}
}

/// The one dispatcher from `AttributionMethod` to the attribution library, used by `explain` and
/// `evaluate` alike. It owns the Grad-CAM policy: the map is computed at the layer's resolution, stored
/// as `upsample` says, and always drawn (and scored) upsampled to the input — bilinearly when the
/// stored map is not upsampled.
public struct Explainer {
    let classifier: ResNetClassifier<Float>
    public var settings: ExplainerSettings
    /// The `.file` baseline tensor `[1, 3, H, W]`, loaded once (nil for the other baselines).
    let baselineTensor: Tensor<Float>?
    /// The `--segments FILE.png` label image, decoded once (nil for the other segment specs).
    let segmentLabels: RGBImage?
    /// GradientShap's baseline rows `[K, 3, H, W]` from a `.npy` (nil for named baselines).
    let shapBaselineRows: Tensor<Float>?

    /// Prepares `model` for attribution and loads the baseline file the settings name, if any.
    public init(
        model: LoadedModel, settings: ExplainerSettings = ExplainerSettings(), methods: [AttributionMethod]
    )
        throws
    {
        try self.init(classifier: model.classifier(), settings: settings, methods: methods)
    }

    init(classifier: ResNetClassifier<Float>, settings: ExplainerSettings, methods: [AttributionMethod] = []) throws {
        self.classifier = classifier
        self.settings = settings
        if methods.contains(.integratedGradients), case .file(let path) = settings.integratedGradients.baseline {
            baselineTensor = try InputLoader.loadTensor(path, role: "--baseline")
        } else {
            baselineTensor = nil
        }
        try Self.checkStepSearch(settings, methods: methods)
        segmentLabels = try Self.loadSegmentLabels(settings.segments, methods: methods)
        shapBaselineRows = try Self.loadShapBaselines(settings.gradients, methods: methods)
    }

    public var classCount: Int { classifier.classCount }
    public var labels: [String] { classifier.labels }
    /// The names `GradCAMSettings.layer` can take, in forward order (torchvision module paths).
    public var layerNames: [String] { classifier.layerNames }

    /// The model's logits for one input `[1, 3, H, W]`, ranked.
    public func predictions(_ input: LoadedInput) throws -> [Prediction] {
        let logits = try classifier.outputs(input.tensor).storage
        return Prediction.rank(logits: logits, labels: classifier.labels, top: classifier.classCount)
    }

    /// Runs `method` on one input for class `target`. `progress` is called as the work proceeds (IG step
    /// chunks, occlusion forwards).
    public func explain(
        _ method: AttributionMethod, input: LoadedInput, target: Int, progress: AttributionProgress? = nil
    ) throws -> Explanation {
        let start = ContinuousClock.now
        var explanation: Explanation
        if routesThroughGradients(method) {
            explanation = try explainGradient(method, input: input, target: target, progress: progress)
        } else {
            switch method {
            case .integratedGradients:
                explanation = try integratedGradients(input, target: target, progress: progress, model: classifier)
            case .gradCAM where settings.cam.postprocessing == .gradCAM:
                explanation = try camFamily(method, input: input, target: target)
            case .gradCAM: explanation = try gradCAM(input, target: target, model: classifier)
            case .saliency:
                let a = try Saliency.attribute(model: classifier, input: input.tensor, targets: [target])
                var parameters = MethodParameters()
                parameters.absolute = true
                explanation = try inputSpace(method, a, parameters)
            case .inputXGradient:
                let a = try InputXGradient.attribute(model: classifier, input: input.tensor, targets: [target])
                explanation = try inputSpace(method, a, MethodParameters())
            default: explanation = try camOrSegments(method, input: input, target: target, progress: progress)
            }
        }
        let elapsed = ContinuousClock.now - start
        explanation.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return explanation
    }

    func inputSpace(
        _ method: AttributionMethod, _ batch: Tensor<Float>, _ parameters: MethodParameters
    )
        throws -> Explanation
    {
        let item = try batch.reshaped(Array(batch.shape.dropFirst()))  // [1, 3, H, W] → [3, H, W]
        return Explanation(
            method: method, attributions: item, displayed: item, parameters: parameters, convergenceDelta: nil,
            seconds: 0)
    }

    func integratedGradients<Model: AttributionModel>(
        _ input: LoadedInput, target: Int, progress: AttributionProgress?, model: Model
    ) throws -> Explanation where Model.Scalar == Float {
        let (baseline, parameters) = try integratedGradientsBaseline(input)
        let options = settings.integratedGradients
        if let search = options.stepSearch {
            return try integratedGradients(
                input, target: target, progress: progress, model: model, baseline: baseline, parameters: parameters,
                search: search)
        }
        let result = try IntegratedGradients.attribute(
            model: model, input: input.tensor, baseline: baseline, targets: [target], steps: options.steps,
            rule: options.rule, internalBatchSize: options.internalBatchSize, progress: progress)
        var explanation = try inputSpace(.integratedGradients, result.attributions, parameters)
        explanation.convergenceDelta = result.convergenceDelta.first.map(Double.init)
        return explanation
    }

    /// IG's baseline for `input` as the settings name it, and the parameters that record it.
    func integratedGradientsBaseline(_ input: LoadedInput) throws -> (Baseline<Float>, MethodParameters) {
        let options = settings.integratedGradients
        var parameters = MethodParameters()
        parameters.steps = options.steps
        parameters.approximation = options.rule.rawValue
        parameters.baseline = options.baseline.description
        parameters.internalBatchSize = options.internalBatchSize
        let baseline: Baseline<Float>
        switch options.baseline {
        case .zero: baseline = .zero
        case .constant(let value): baseline = .constant(value)
        case .blur:
            let sigma = options.blurSigma ?? IntegratedGradientsSettings.defaultBlurSigma
            parameters.blurSigma = sigma
            baseline = .gaussianBlur(sigma: sigma)
        case .uniform:
            let seed = options.noiseSeed ?? IntegratedGradientsSettings.defaultNoiseSeed
            let range = IntegratedGradientsSettings.noiseRange
            parameters.noiseSeed = seed
            parameters.noiseRange = [range.low, range.high]
            baseline = .uniformNoise(low: range.low, high: range.high, seed: seed)
        case .file(let path):
            guard let tensor = baselineTensor else { throw PipelineError("\(path): baseline was not loaded") }
            guard tensor.shape == input.tensor.shape else {
                throw PipelineError(
                    "\(input.path): the baseline \(path) has shape \(Array(tensor.shape.dropFirst())), "
                        + "the input \(Array(input.tensor.shape.dropFirst()))")
            }
            baseline = .tensor(tensor)
        }
        return (baseline, parameters)
    }

    /// Store at layer resolution (or upsampled, as `upsample` says), draw upsampled: the pictures and
    /// scores are at the input's size even when the `.npy` keeps the layer's grid.
    func gradCAM<Model: AttributionModel>(_ input: LoadedInput, target: Int, model: Model) throws -> Explanation
    where Model.Scalar == Float {
        let options = settings.gradCAM
        let raw = try GradCAM.attribute(
            model: model, input: input.tensor, layer: options.layer, targets: [target], relu: options.relu,
            upsample: .none)
        guard raw.rank == 4 else {
            throw PipelineError("\(input.path): layer '\(options.layer)' gives a \(raw.shape) map, not a spatial one")
        }
        let size = input.spatialShape
        let stored = try Upsample.resize(raw, to: size, mode: options.upsample)
        let shown = options.upsample == .none ? try Upsample.resize(raw, to: size, mode: .bilinear) : stored
        var parameters = MethodParameters()
        parameters.layer = options.layer
        parameters.relu = options.relu
        parameters.upsample = options.upsample.rawValue
        parameters.layerShape = Array(raw.shape.dropFirst(2))
        return Explanation(
            method: .gradCAM, attributions: try stored.reshaped(Array(stored.shape.dropFirst(2))),
            displayed: try shown.reshaped(Array(shown.shape.dropFirst(2))), parameters: parameters,
            convergenceDelta: nil, seconds: 0)
    }
}
