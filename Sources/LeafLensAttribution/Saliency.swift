import LeafLensMath

/// Saliency (Simonyan et al. 2014), as Captum's `Saliency`: the gradient of the target output with
/// respect to the input, in absolute value by default.
///
///     attribution = |∂F(x)[i, tᵢ]/∂x|      (or the signed gradient with `absolute: false`)
///
/// Shapes: `input` `[N, ...]`, one target per example; the result has the input's shape.
/// ReLU′(0) = 0, so inputs sitting exactly on a kink get gradient 0.
public enum Saliency {
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], absolute: Bool = true
    ) throws -> Tensor<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        var gradient = try targetGradient(model, input, targets: targets)
        if absolute {
            gradient.storage.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] = abs(g[i]) }
            }
        }
        return gradient
    }
}
