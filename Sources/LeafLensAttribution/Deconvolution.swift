import LeafLensMath
import LeafLensModel

/// Deconvolution (Zeiler & Fergus 2014), as Captum 0.9's `Deconvolution`: the gradient of the
/// target output w.r.t. the input, with every ReLU's backward replaced by
///
///     dx = max(dy, 0)                (the forward mask is ignored)
///
/// Shapes: `input` `[N, ...]`, one target per example; the result has the input's shape. Not
/// multiplied by the input; no randomness. Max-pooling and convolutions keep their ordinary
/// backward (Captum hooks ReLUs only).
public enum Deconvolution {
    /// No options (Captum's `attribute(inputs, target)`); kept so every method has one.
    public struct Parameters: Sendable, Equatable {
        public init() {}
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: GuidedAttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters = Parameters()
    ) throws -> Tensor<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        return try guidedTargetGradient(model, input, targets: targets, rule: .deconvolution)
    }
}
