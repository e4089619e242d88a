import LeafLensMath

/// Eigen-CAM (Muhammad & Yeasin 2020) as pytorch-grad-cam 1.5.7's `EigenCAM`: the projection of the layer's
/// activations on their first principal component (`CAMProjection`, sign by `CAMParameters.projectionSign`).
/// Gradients and targets do not enter the map (the targets still pick nothing: EigenCAM is class-agnostic).
public enum EigenCAM {
    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters` for layers, eigen-smooth
    /// and aug-smooth);
    /// `targets == nil` explains each image's argmax, as pytorch-grad-cam's `targets=None`.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: true,
            weighting: { data in CAMEngine.elementWise(data) { _, a in a } })
    }
}
