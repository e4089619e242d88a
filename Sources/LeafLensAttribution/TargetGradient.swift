import LeafLensMath

/// Checks every method shares: a non-empty batch, one target per example, targets in 0..<K.
func validateBatch<Scalar: TensorScalar>(
    _ input: Tensor<Scalar>, targets: [Int], classCount: Int
) throws(AttributionError) {
    guard let batch = input.shape.first, batch > 0 else {
        throw .shapeMismatch("input must be [N, ...] with N ≥ 1, got shape \(input.shape)")
    }
    guard targets.count == batch else {
        throw .shapeMismatch("\(targets.count) targets for a batch of \(batch) examples")
    }
    for target in targets where !(0..<classCount).contains(target) {
        throw .targetOutOfRange(target: target, classCount: classCount)
    }
}

/// outputs[i, targets[i]] for each row i of a model's `[rows, K]` output; throws if the model
/// returned another shape.
func selectTargets<Scalar: TensorScalar>(
    _ outputs: Tensor<Scalar>, targets: [Int], classCount: Int
) throws(AttributionError) -> [Scalar] {
    guard outputs.shape == [targets.count, classCount] else {
        throw .shapeMismatch(
            "model returned outputs of shape \(outputs.shape), expected [\(targets.count), \(classCount)]")
    }
    return targets.indices.map { outputs.storage[$0 * classCount + targets[$0]] }
}

/// The forward pass with targets selected: F(x)ᵢ = outputs[i, targets[i]].
func targetOutputs<Model: AttributionModel>(
    _ model: Model, _ input: Tensor<Model.Scalar>, targets: [Int]
) throws -> [Model.Scalar] {
    let outputs = try model.outputs(input)
    return try selectTargets(outputs, targets: targets, classCount: model.classCount)
}

/// ∂(Σᵢ F(x)[i, targets[i]])/∂x for validated targets, checked to have the input's shape. The path
/// Saliency, InputXGradient and Integrated Gradients share.
func targetGradient<Model: AttributionModel>(
    _ model: Model, _ input: Tensor<Model.Scalar>, targets: [Int]
) throws -> Tensor<Model.Scalar> {
    let (outputs, gradient) = try model.inputGradient(input, targets: targets)
    _ = try selectTargets(outputs, targets: targets, classCount: model.classCount)
    guard gradient.shape == input.shape else {
        throw AttributionError.shapeMismatch(
            "model returned an input gradient of shape \(gradient.shape) for input \(input.shape)")
    }
    return gradient
}

/// A tensor from library-computed values, with a count mismatch reported as an attribution error.
func checkedTensor<Scalar: TensorScalar>(
    shape: [Int], storage: [Scalar]
) throws(AttributionError)
    -> Tensor<Scalar>
{
    do { return try Tensor(shape: shape, storage: storage) } catch {
        throw .shapeMismatch(error.description)
    }
}
