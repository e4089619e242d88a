import LeafLensMath

/// Input × Gradient, as Captum's `InputXGradient`:
///
///     attribution = x ⊙ ∂F(x)[i, tᵢ]/∂x
///
/// Shapes: `input` `[N, ...]`, one target per example; the result has the input's shape.
/// It is Integrated Gradients with a zero baseline for a model that is linear along the path.
public enum InputXGradient {
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]
    ) throws -> Tensor<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        var result = try targetGradient(model, input, targets: targets)
        result.storage.withUnsafeMutableBufferPointer { g in
            input.storage.withUnsafeBufferPointer { x in
                for i in g.indices { g[i] = x[i] * g[i] }
            }
        }
        return result
    }
}
