import LeafLensMath
import LeafLensModel

/// A model whose backward pass can replace every ReLU's local gradient, for Guided Backprop,
/// Deconvolution and Guided Grad-CAM (Captum 0.9 hooks every `nn.ReLU` call; see `ReLUBackwardRule`).
///
/// Functional ReLUs that Captum would not hook (e.g. `torch.relu` inside `forward`) must keep the
/// standard rule; torchvision's ResNet has only `nn.ReLU` modules (stem + two calls per block), and
/// Captum's per-call hooks on its reused, in-place ReLU give exactly the per-call rule.
public protocol GuidedAttributionModel: AttributionModel {
    /// Outputs `[N, K]` and the gradient of Σᵢ outputs[i, targets[i]] w.r.t. the input, with every
    /// ReLU's backward replaced by `reluRule` (`.standard` is `inputGradient(_:targets:)`).
    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int], reluRule: ReLUBackwardRule
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
}

/// A model that can run its backward pass from any output gradient, not just one-hot rows: what the
/// target-control wrappers (`ProbabilityOutput`, `ContrastiveOutput`) need to differentiate a
/// function of the outputs.
public protocol OutputGradientModel: GuidedAttributionModel {
    /// Forward, then backward from ∂L/∂outputs = `outputGradient(outputs)` (`[N, K]`): returns the
    /// outputs and ∂L/∂input, with every ReLU's backward replaced by `reluRule`.
    func inputGradient(
        _ input: Tensor<Scalar>, reluRule: ReLUBackwardRule,
        outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)

    /// Forward, then backward from ∂L/∂outputs = `outputGradient(outputs)` to a named layer: outputs,
    /// the layer's activation and ∂L/∂activation.
    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
}

/// The one-hot output gradient of Σᵢ outputs[i, targets[i]] for validated targets.
func oneHotRows<Scalar: TensorScalar>(targets: [Int], classCount: Int) -> Tensor<Scalar> {
    var g = Tensor<Scalar>(zeros: [targets.count, classCount])
    for (i, t) in targets.enumerated() where (0..<classCount).contains(t) { g.storage[i * classCount + t] = 1 }
    return g
}

/// ∂(Σᵢ F(x)[i, tᵢ])/∂x under a ReLU rule, checked like `targetGradient`.
func guidedTargetGradient<Model: GuidedAttributionModel>(
    _ model: Model, _ input: Tensor<Model.Scalar>, targets: [Int], rule: ReLUBackwardRule
) throws -> Tensor<Model.Scalar> {
    let (outputs, gradient) = try model.inputGradient(input, targets: targets, reluRule: rule)
    _ = try selectTargets(outputs, targets: targets, classCount: model.classCount)
    guard gradient.shape == input.shape else {
        throw AttributionError.shapeMismatch(
            "model returned an input gradient of shape \(gradient.shape) for input \(input.shape)")
    }
    return gradient
}
