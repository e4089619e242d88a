import LeafLensMath

/// Grad-CAM element-wise (Pillai et al. 2021) as pytorch-grad-cam 1.5.7's `GradCAMElementWise`:
/// raw = Σ_c relu(g·A_c).
public enum GradCAMElementWise {
    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters` for layers, eigen-smooth
    /// and aug-smooth);
    /// `targets == nil` explains each image's argmax, as pytorch-grad-cam's `targets=None`.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: false,
            weighting: { data in CAMEngine.elementWise(data) { g, a in max(g * a, 0) } })
    }
}
