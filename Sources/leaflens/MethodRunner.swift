import Foundation
import LeafLensAttribution
import LeafLensMath

/// One method's attributions for one input, in the shapes `explain` writes.
struct MethodOutcome {
    var method: ExplainMethod
    /// What goes into `<stem>.<method>.npy`: `[3, H, W]` for input-space methods, `[h, w]` for Grad-CAM.
    var attributions: Tensor<Float>
    /// What the pictures show, at the input's resolution: `[3, H, W]` or `[H, W]`.
    var displayed: Tensor<Float>
    var parameters: MethodParameters
    /// Σ attributions − (F(x) − F(b)) (Integrated Gradients only).
    var convergenceDelta: Double?
    var seconds: Double
}

/// The parameters a method ran with, as recorded in the JSON file (absent keys do not apply).
struct MethodParameters: Codable, Equatable {
    // Integrated Gradients
    var steps: Int?
    var approximation: String?
    var baseline: String?
    var blurSigma: Double?
    var noiseSeed: UInt64?
    var noiseRange: [Double]?
    var internalBatchSize: Int?
    // Grad-CAM
    var layer: String?
    var relu: Bool?
    var upsample: String?
    var layerShape: [Int]?
    // Occlusion
    var window: [Int]?
    var strides: [Int]?
    var occlusionBaseline: Double?
    var perturbationsPerEval: Int?
    // Saliency
    var absolute: Bool?
}

/// Runs the attribution methods with the command's options. The CLI only translates options into
/// library calls here; the methods themselves live in LeafLensAttribution.
struct MethodRunner {
    var model: ResNetClassifier<Float>
    var integratedGradients: IntegratedGradientsOptions
    var gradCAM: GradCAMOptions
    var occlusion: OcclusionOptions
    /// The `--baseline FILE` tensor `[1, 3, H, W]`, loaded once.
    var baselineTensor: Tensor<Float>?

    func run(
        _ method: ExplainMethod, input: LoadedInput, target: Int, progress: AttributionProgress?
    ) throws -> MethodOutcome {
        let start = ContinuousClock.now
        var outcome: MethodOutcome
        switch method {
        case .integratedGradients: outcome = try runIntegratedGradients(input, target: target, progress: progress)
        case .gradCAM: outcome = try runGradCAM(input, target: target)
        case .occlusion: outcome = try runOcclusion(input, target: target, progress: progress)
        case .saliency:
            let a = try Saliency.attribute(model: model, input: input.tensor, targets: [target])
            outcome = try inputSpace(method, a, MethodParameters(absolute: true))
        case .inputXGradient:
            let a = try InputXGradient.attribute(model: model, input: input.tensor, targets: [target])
            outcome = try inputSpace(method, a, MethodParameters())
        }
        let elapsed = ContinuousClock.now - start
        outcome.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return outcome
    }

    private func inputSpace(_ method: ExplainMethod, _ batch: Tensor<Float>, _ parameters: MethodParameters) throws
        -> MethodOutcome
    {
        let item = try batch.reshaped(Array(batch.shape.dropFirst()))  // [1, 3, H, W] → [3, H, W]
        return MethodOutcome(
            method: method, attributions: item, displayed: item, parameters: parameters, convergenceDelta: nil,
            seconds: 0)
    }

    private func runIntegratedGradients(_ input: LoadedInput, target: Int, progress: AttributionProgress?) throws
        -> MethodOutcome
    {
        let options = integratedGradients
        var parameters = MethodParameters(
            steps: options.steps, approximation: options.approximation.rawValue,
            baseline: options.baseline.description, internalBatchSize: options.internalBatchSize)
        let baseline: Baseline<Float>
        switch options.baseline {
        case .zero: baseline = .zero
        case .constant(let value): baseline = .constant(value)
        case .blur:
            let sigma = options.blurSigma ?? IntegratedGradientsOptions.defaultBlurSigma
            parameters.blurSigma = sigma
            baseline = .gaussianBlur(sigma: sigma)
        case .uniform:
            let seed = options.noiseSeed ?? IntegratedGradientsOptions.defaultNoiseSeed
            let range = IntegratedGradientsOptions.noiseRange
            parameters.noiseSeed = seed
            parameters.noiseRange = [range.low, range.high]
            baseline = .uniformNoise(low: range.low, high: range.high, seed: seed)
        case .file(let path):
            guard let tensor = baselineTensor else { throw RuntimeError("\(path): baseline was not loaded") }
            guard tensor.shape == input.tensor.shape else {
                throw RuntimeError(
                    "\(input.path): the baseline \(path) has shape \(Array(tensor.shape.dropFirst())), "
                        + "the input \(Array(input.tensor.shape.dropFirst()))")
            }
            baseline = .tensor(tensor)
        }
        let result = try IntegratedGradients.attribute(
            model: model, input: input.tensor, baseline: baseline, targets: [target], steps: options.steps,
            rule: options.approximation, internalBatchSize: options.internalBatchSize, progress: progress)
        var outcome = try inputSpace(.integratedGradients, result.attributions, parameters)
        outcome.convergenceDelta = result.convergenceDelta.first.map(Double.init)
        return outcome
    }

    private func runGradCAM(_ input: LoadedInput, target: Int) throws -> MethodOutcome {
        let options = gradCAM
        // At the layer's resolution first, then resized here, so the pictures can be drawn at the input's
        // size even when the .npy keeps the layer resolution (--upsample none).
        let raw = try GradCAM.attribute(
            model: model, input: input.tensor, layer: options.layer, targets: [target], relu: !options.noReLU,
            upsample: .none)
        guard raw.rank == 4 else {
            throw RuntimeError("\(input.path): layer '\(options.layer)' gives a \(raw.shape) map, not a spatial one")
        }
        let size = Array(input.tensor.shape.dropFirst(2))
        let saved = try Upsample.resize(raw, to: size, mode: options.upsample)
        let shown = options.upsample == .none ? try Upsample.resize(raw, to: size, mode: .bilinear) : saved
        let parameters = MethodParameters(
            layer: options.layer, relu: !options.noReLU, upsample: options.upsample.rawValue,
            layerShape: Array(raw.shape.dropFirst(2)))
        return MethodOutcome(
            method: .gradCAM, attributions: try saved.reshaped(Array(saved.shape.dropFirst(2))),
            displayed: try shown.reshaped(Array(shown.shape.dropFirst(2))), parameters: parameters,
            convergenceDelta: nil, seconds: 0)
    }

    private func runOcclusion(_ input: LoadedInput, target: Int, progress: AttributionProgress?) throws -> MethodOutcome {
        let options = occlusion
        let (height, width) = (input.tensor.shape[2], input.tensor.shape[3])
        guard options.window <= height, options.window <= width else {
            throw RuntimeError(
                "\(input.path): the occlusion window \(options.window)×\(options.window) does not fit the "
                    + "\(height)×\(width) input; use a smaller --window")
        }
        let window = [3, options.window, options.window]
        let strides = [3, options.stride, options.stride]
        let a = try Occlusion.attribute(
            model: model, input: input.tensor, targets: [target], window: window, strides: strides,
            baseline: .constant(options.occlusionBaseline), perturbationsPerEval: options.perturbationsPerEval,
            progress: progress)
        return try inputSpace(
            .occlusion, a,
            MethodParameters(
                window: window, strides: strides, occlusionBaseline: options.occlusionBaseline,
                perturbationsPerEval: options.perturbationsPerEval))
    }
}
