import LeafLensMath
import LeafLensModel

/// Guided Backpropagation (Springenberg et al. 2015), as Captum 0.9's `GuidedBackprop`: the gradient
/// of the target output w.r.t. the input, with every ReLU's backward replaced by
///
///     dx = max(dy, 0)·[x > 0]        (strict: x = 0 blocks)
///
/// Shapes: `input` `[N, ...]`, one target per example; the result has the input's shape. Not
/// multiplied by the input; no convergence delta; no randomness. On torchvision's ResNet the rule
/// acts at every ReLU call (stem, and both calls of each block's reused module), which is what
/// Captum's clone-based hooks give on the in-place, reused modules (reference A3: bitwise equal to
/// separate non-inplace modules).
public enum GuidedBackprop {
    /// No options (Captum's `attribute(inputs, target)`); kept so every method has one.
    public struct Parameters: Sendable, Equatable {
        public init() {}
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: GuidedAttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters = Parameters()
    ) throws -> Tensor<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        return try guidedTargetGradient(model, input, targets: targets, rule: .guided)
    }
}
