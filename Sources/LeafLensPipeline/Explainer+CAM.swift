import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath

/// Options of the pytorch-grad-cam CAM family (and of `grad-cam` with `postprocessing: .gradCAM`).
public struct CAMSettings: Sendable {
    /// Target layers; several are finished one by one and averaged, as pytorch-grad-cam does.
    public var layers = ["layer4"]
    public var eigenSmooth = false
    public var augSmooth = false
    /// Images per forward pass of score-cam and ablation-cam (nil: pytorch-grad-cam's 16 and 32).
    public var batchSize: Int?
    /// Which library's numbers `grad-cam` gives: Captum's raw map (default) or pytorch-grad-cam's finished map.
    public var postprocessing: CAMPostprocessing = .captum
    public var projectionSign: ProjectionSign = .alignedWithChannelSum

    public init() {}
}

/// Options of Captum's segment methods.
public struct SegmentSettings: Sendable {
    public static let defaultSpec = SegmentSpec.grid(8)
    /// Captum's `n_samples` default for ShapleyValueSampling, KernelShap and Lime.
    public static let defaultSamples = 25

    public var spec: SegmentSpec = defaultSpec
    /// Permutations (shapley-value-sampling) or coalitions (kernel-shap, lime); nil: `defaultSamples`.
    public var samples: Int?
    public var seed: UInt64 = 0
    public var limeModel: LimeSurrogate = .lasso
    /// Perturbed copies per forward pass (Captum's `perturbations_per_eval`; numbers do not depend on it).
    public var batchSize = 16

    public init() {}
}

/// A problem with an option's value that shows only once an input or the model is known (a segment
/// image of the wrong size, a grid finer than the input): the CLI reports it as a usage error.
public struct OptionError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Explainer {
    /// The first layer the requested methods name that the model lacks, as a message naming `--layer`.
    public func layerProblem(for methods: [AttributionMethod]) -> String? {
        var needed: [String] = []
        if methods.contains(.gradCAM) {
            needed += settings.cam.postprocessing == .gradCAM ? settings.cam.layers : [settings.gradCAM.layer]
        }
        if methods.contains(where: \.isCAMFamily) { needed += settings.cam.layers }
        guard let missing = needed.first(where: { !layerNames.contains($0) }) else { return nil }
        return "--layer \(missing) is not a layer of the model; available: \(layerNames.joined(separator: ", "))"
    }

    static func loadSegmentLabels(_ settings: SegmentSettings, methods: [AttributionMethod]) throws -> RGBImage? {
        guard methods.contains(where: \.isSegmentMethod), case .labelImage(let path) = settings.spec else { return nil }
        do throws(ImageError) {
            return try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PipelineError("--segments \(path): \(error.problemText)")
        }
    }

    func camOrSegments(
        _ method: AttributionMethod, input: LoadedInput, target: Int, progress: AttributionProgress?
    )
        throws -> Explanation
    {
        if method.isCAMFamily { return try camFamily(method, input: input, target: target) }
        guard method.isSegmentMethod else { throw PipelineError("\(method.rawValue): no dispatch for this method") }
        return try segmentMethod(method, input: input, target: target)
    }

    /// pytorch-grad-cam's finished map (ReLU, min–max, bilinear resize, layers averaged), stored and
    /// drawn at the input's resolution `[H, W]`: the library's own output, as its users expect. Unlike
    /// Captum's grad-cam there is no layer-resolution map to keep once several layers are averaged.
    func camFamily(_ method: AttributionMethod, input: LoadedInput, target: Int) throws -> Explanation {
        let options = settings.cam
        let cam = CAMParameters(
            layers: options.layers, eigenSmooth: options.eigenSmooth, augSmooth: options.augSmooth,
            batchSize: options.batchSize, projectionSign: options.projectionSign)
        let (x, targets) = (input.tensor, [target])
        let map: Tensor<Float>
        var parameters = MethodParameters()
        switch method {
        case .gradCAM:
            map = try NormalizedGradCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .gradCAMPlusPlus:
            map = try GradCAMPlusPlus.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .xGradCAM: map = try XGradCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .layerCAM: map = try LayerCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .hiResCAM: map = try HiResCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .gradCAMElementWise:
            map = try GradCAMElementWise.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .eigenCAM: map = try EigenCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .eigenGradCAM:
            map = try EigenGradCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
        case .scoreCAM:
            map = try ScoreCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
            parameters.camBatchSize = options.batchSize ?? ScoreCAM.defaultBatchSize
        case .ablationCAM:
            map = try AblationCAM.attribute(model: classifier, input: x, targets: targets, parameters: cam)
            parameters.camBatchSize = options.batchSize ?? AblationCAM.defaultBatchSize
        default: throw PipelineError("\(method.rawValue): not a CAM method")
        }
        parameters.layers = options.layers
        parameters.postprocess = CAMPostprocessing.gradCAM.rawValue
        parameters.eigenSmooth = options.eigenSmooth
        parameters.augSmooth = options.augSmooth
        if options.eigenSmooth || method == .eigenCAM || method == .eigenGradCAM {
            parameters.projectionSign = options.projectionSign.rawValue
        }
        let plane = try map.reshaped(input.spatialShape)  // [1, 1, H, W] → [H, W]
        return Explanation(
            method: method, attributions: plane, displayed: plane, parameters: parameters, convergenceDelta: nil,
            seconds: 0)
    }

    /// Captum's segment methods with a zero baseline; the attributions are painted per segment on every
    /// channel, `[3, H, W]`, as Captum returns them for a `[1, 1, H, W]` feature mask.
    func segmentMethod(_ method: AttributionMethod, input: LoadedInput, target: Int) throws -> Explanation {
        let options = settings.segments
        let segments = try featureSegments(for: input)
        var parameters = MethodParameters()
        parameters.segments = options.spec.text
        parameters.segmentCount = segments.count
        parameters.baseline = IntegratedGradientsBaseline.zero.description
        parameters.perturbationsPerEval = options.batchSize
        let samples = options.samples ?? SegmentSettings.defaultSamples
        if method != .featureAblation {
            parameters.samples = samples
            parameters.seed = options.seed
        }
        let (x, targets) = (input.tensor, [target])
        let result: SegmentAttribution
        switch method {
        case .featureAblation:
            result = try FeatureAblation.attribute(
                model: classifier, input: x, targets: targets, segments: segments,
                parameters: .init(batchSize: options.batchSize))
        case .shapleyValueSampling:
            result = try ShapleyValueSampling.attribute(
                model: classifier, input: x, targets: targets, segments: segments,
                parameters: .init(samples: samples, seed: options.seed, batchSize: options.batchSize))
        case .kernelShap:
            guard segments.count >= 2 else {
                throw OptionError("--segments \(options.spec.text): kernel-shap needs at least 2 segments, got 1")
            }
            result = try KernelShap.attribute(
                model: classifier, input: x, targets: targets, segments: segments,
                parameters: .init(samples: samples, seed: options.seed, batchSize: options.batchSize))
        case .lime:
            let lime = Lime.Parameters(
                samples: samples, seed: options.seed, interpretableModel: options.limeModel,
                batchSize: options.batchSize)
            parameters.limeModel = lime.interpretableModel.rawValue
            if lime.interpretableModel == .lasso { parameters.limeAlpha = lime.alpha }
            parameters.kernelWidth = lime.kernelWidth
            result = try Lime.attribute(
                model: classifier, input: x, targets: targets, segments: segments, parameters: lime)
        default: throw PipelineError("\(method.rawValue): not a segment method")
        }
        var explanation = try inputSpace(method, result.attribution, parameters)
        explanation.segments = segments
        return explanation
    }

    /// The segments `settings.segments.spec` gives for this input. SLIC runs on the picture the tensor
    /// shows (the un-normalised RGB crop; for `.npy` inputs the denormalised tensor).
    func featureSegments(for input: LoadedInput) throws -> FeatureSegments {
        let spec = settings.segments.spec
        let (height, width) = (input.tensor.shape[2], input.tensor.shape[3])
        do {
            switch spec {
            case .grid(let n):
                guard n <= min(height, width) else {
                    throw OptionError(
                        "--segments grid:\(n) is finer than the \(height)×\(width) input (N ≤ \(min(height, width)))")
                }
                return try FeatureSegments.grid(n, height: height, width: width)
            case .slic(let n, let compactness):
                let image = input.displayImage
                guard image.height == height, image.width == width else {
                    throw PipelineError(
                        "\(input.path): the picture is \(image.width)×\(image.height), the tensor \(width)×\(height)")
                }
                let planes = try Tensor<Float>(shape: [3, height, width], storage: Self.planes(image))
                return try SLIC.segments(rgb: planes, parameters: .init(segments: n, compactness: compactness))
            case .labelImage(let path):
                guard let labels = segmentLabels else {
                    throw PipelineError("--segments \(path): the label image was not loaded")
                }
                let values = Self.packedPixels(labels)
                return try FeatureSegments.labelImage(
                    values, height: labels.height, width: labels.width, expectedHeight: height, expectedWidth: width,
                    source: "--segments \(path)")
            }
        } catch let error as SegmentError {
            if case .wrongSize = error { throw OptionError(error.description) }
            throw OptionError("--segments \(spec.text): \(error)")
        }
    }

    /// Each pixel as one integer, R<<16 | G<<8 | B (a gray image's levels stay distinct).
    static func packedPixels(_ image: RGBImage) -> [UInt32] {
        let bytes = image.pixels
        var out = [UInt32](repeating: 0, count: bytes.count / 3)
        for p in out.indices {
            let (r, g, b) = (UInt32(bytes[3 * p]), UInt32(bytes[3 * p + 1]), UInt32(bytes[3 * p + 2]))
            out[p] = (r << 16) | (g << 8) | b
        }
        return out
    }

    /// Interleaved RGB bytes → channel planes `[3·H·W]` in 0…1.
    static func planes(_ image: RGBImage) -> [Float] {
        let area = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * area)
        for p in 0..<area {
            for c in 0..<3 { out[c * area + p] = Float(image.pixels[3 * p + c]) / 255 }
        }
        return out
    }
}
