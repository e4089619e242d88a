import LeafLensMath

/// Grad-CAM (Selvaraju et al. 2017) on a named layer, as Captum 0.9's `LayerGradCam`.
///
/// With A the layer's output `[N, C, h, w]` and G = ∂(Σᵢ F(x)[i, tᵢ])/∂A:
///
///     weights[n, c] = mean over h, w of G[n, c]     (a 2-D layer output `[N, C]` uses G as is)
///     cam[n, 0]     = Σ_c weights[n, c] · A[n, c]   → `[N, 1, h, w]` (or `[N, 1]`)
///
/// `sumOverChannels: false` returns the per-channel products weights·A `[N, C, h, w]` instead
/// (Captum's `attr_dim_summation=False`).
///
/// **Differs from Captum's default:** `relu` defaults to **true**, the paper's Grad-CAM, which keeps
/// only features with a positive influence; Captum defaults to `relu_attributions=False`. Pass
/// `relu: false` for Captum's numbers. A map with no positive value becomes all zeros, never NaN.
///
/// `upsample` resizes the map to the input's spatial size (`input.shape[2...]`); `.none` (Captum's
/// behaviour) keeps the layer's resolution. The ReLU is applied before upsampling.
public enum GradCAM {
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, layer: String, targets: [Int],
        relu: Bool = true, sumOverChannels: Bool = true, upsample: UpsampleMode = .none
    ) throws -> Tensor<Model.Scalar> {
        typealias Scalar = Model.Scalar
        try validateBatch(input, targets: targets, classCount: model.classCount)
        let (outputs, activation, gradient) = try model.layerGradient(input, layer: layer, targets: targets)
        _ = try selectTargets(outputs, targets: targets, classCount: model.classCount)
        guard activation.shape == gradient.shape, activation.rank >= 2,
            activation.shape[0] == input.shape[0]
        else {
            throw AttributionError.shapeMismatch(
                "layer '\(layer)' gave activation \(activation.shape) and gradient \(gradient.shape)")
        }
        let weights = channelWeights(gradient)
        var cam =
            sumOverChannels
            ? weightedChannelSum(activation, weights: weights)
            : weightedChannels(activation, weights: weights)
        if relu {
            cam.storage.withUnsafeMutableBufferPointer { c in
                for i in c.indices { c[i] = c[i] > 0 ? c[i] : 0 }
            }
        }
        if upsample == .none { return cam }
        guard cam.rank == input.rank else {
            throw AttributionError.shapeMismatch(
                "cannot upsample a \(cam.shape) map from layer '\(layer)' to the input's \(input.shape)")
        }
        return try Upsample.resize(cam, to: Array(input.shape.dropFirst(2)), mode: upsample)
    }

    /// Per-(example, channel) weights `[N·C]`: the spatial mean of G, or G itself for `[N, C]`.
    @_specialize(where Scalar == Float)
    static func channelWeights<Scalar: TensorScalar>(_ gradient: Tensor<Scalar>) -> [Scalar] {
        let planes = gradient.shape[0] * gradient.shape[1]
        let area = gradient.shape.dropFirst(2).reduce(1, *)
        if gradient.rank == 2 { return gradient.storage }
        return gradient.storage.withUnsafeBufferPointer { g in
            (0..<planes).map { p in
                var sum = 0.0
                for j in 0..<area { sum += Double(g[p * area + j]) }
                return Scalar(sum) / Scalar(area)
            }
        }
    }

    /// Σ_c w[n, c]·A[n, c] keeping a channel axis of 1; products rounded to the scalar type, the
    /// channel sum accumulated in Double.
    @_specialize(where Scalar == Float)
    static func weightedChannelSum<Scalar: TensorScalar>(
        _ activation: Tensor<Scalar>, weights: [Scalar]
    )
        -> Tensor<Scalar>
    {
        let (batch, channels) = (activation.shape[0], activation.shape[1])
        let area = activation.shape.dropFirst(2).reduce(1, *)
        var sums = [Double](repeating: 0, count: batch * area)
        sums.withUnsafeMutableBufferPointer { s in
            activation.storage.withUnsafeBufferPointer { a in
                for n in 0..<batch {
                    for c in 0..<channels {
                        let w = weights[n * channels + c]
                        let plane = (n * channels + c) * area
                        for j in 0..<area { s[n * area + j] += Double(w * a[plane + j]) }
                    }
                }
            }
        }
        var shape = activation.shape
        shape[1] = 1
        return (try? Tensor(shape: shape, storage: sums.map { Scalar($0) })) ?? activation
    }

    /// w[n, c]·A[n, c] per channel, `[N, C, ...]`.
    @_specialize(where Scalar == Float)
    static func weightedChannels<Scalar: TensorScalar>(
        _ activation: Tensor<Scalar>, weights: [Scalar]
    )
        -> Tensor<Scalar>
    {
        var result = activation
        let area = activation.shape.dropFirst(2).reduce(1, *)
        result.storage.withUnsafeMutableBufferPointer { r in
            for p in weights.indices {
                let w = weights[p]
                for j in 0..<area { r[p * area + j] *= w }
            }
        }
        return result
    }
}
