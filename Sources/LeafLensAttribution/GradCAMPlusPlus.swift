import LeafLensMath

/// Grad-CAM++ (Chattopadhay et al. 2018) as pytorch-grad-cam 1.5.7's `GradCAMPlusPlus`: the closed form of the
/// paper's eq. 19 with powers of the first derivative g = ∂F/∂A,
///
///     α = g² / (2g² + S_c·g³ + 1e−6),  S_c = Σ_ij A_c,  α := 0 where g = 0 (the gradient, as the library does)
///     w_c = Σ_ij relu(g)·α,            raw = Σ_c w_c·A_c
public enum GradCAMPlusPlus {
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
            var activationSum = 0.0
            for j in 0..<area { activationSum += Double(data.activation.storage[p * area + j]) }
            var w = 0.0
            for j in 0..<area {
                let g = Double(data.gradient.storage[p * area + j])
                guard g != 0 else { continue }
                let g2 = g * g
                let alpha = g2 / (2 * g2 + activationSum * g2 * g + 1e-6)
                w += max(g, 0) * alpha
            }
            return w
        }
    }
}
