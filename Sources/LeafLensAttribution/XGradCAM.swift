import LeafLensMath

/// XGrad-CAM (Fu et al. 2020) as pytorch-grad-cam 1.5.7's `XGradCAM`:
/// w_c = Σ_ij (g·A_c) / (Σ_ij A_c + 1e−7), raw = Σ_c w_c·A_c.
public enum XGradCAM {
    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters` for layers, eigen-smooth
    /// and aug-smooth);
    /// `targets == nil` explains each image's argmax, as pytorch-grad-cam's `targets=None`.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: false,
            weighting: { data in CAMEngine.channelWeighted(data, weights: weights(data)) })
    }

    static func weights<S: TensorScalar>(_ data: CAMLayerData<S>) -> [Double] {
        let area = data.area
        return (0..<(data.batch * data.channels)).map { p in
            var activationSum = 0.0, product = 0.0
            for j in 0..<area {
                let a = Double(data.activation.storage[p * area + j])
                activationSum += a
                product += Double(data.gradient.storage[p * area + j]) * a
            }
            return product / (activationSum + 1e-7)
        }
    }
}
