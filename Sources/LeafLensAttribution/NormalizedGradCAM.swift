import LeafLensMath

/// Grad-CAM (Selvaraju et al. 2017) as pytorch-grad-cam 1.5.7's `GradCAM` computes it: the weights of
/// Captum's `LayerGradCam` (w_c = mean over h×w of ∂F/∂A_c), then the CAM family's post-processing
/// (ReLU, min–max with 1e−7, bilinear resize; see `CAMEngine`). `GradCAM` keeps Captum's raw maps.
public enum NormalizedGradCAM {
    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters` for layers, eigen-smooth
    /// and aug-smooth);
    /// `targets == nil` explains each image's argmax, as pytorch-grad-cam's `targets=None`.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: false,
            weighting: { data in CAMEngine.channelWeighted(data, weights: gradientMeans(data)) })
    }

    /// w[n, c] = mean over h×w of G[n, c].
    static func gradientMeans<S: TensorScalar>(_ data: CAMLayerData<S>) -> [Double] {
        let area = data.area
        return (0..<(data.batch * data.channels)).map { p in
            var s = 0.0
            for j in 0..<area { s += Double(data.gradient.storage[p * area + j]) }
            return s / Double(area)
        }
    }
}
