import LeafLensMath

/// A model's ability to run only the part of the network above a layer, on activations the caller
/// supplies (AblationCAM ablates channels there; pytorch-grad-cam swaps the layer for a module returning
/// prepared activations and re-runs the whole network, which gives the same numbers for layers whose
/// output nothing else reads).
public struct LayerReplay<Scalar: TensorScalar> {
    /// The layer's output for the input the replay was made for, `[N, C, h, w]`.
    public let activation: Tensor<Scalar>
    /// Outputs `[B, K]` of the network above the layer for activations `[B, C, h, w]`.
    public let outputs: (Tensor<Scalar>) throws -> Tensor<Scalar>

    public init(activation: Tensor<Scalar>, outputs: @escaping (Tensor<Scalar>) throws -> Tensor<Scalar>) {
        self.activation = activation
        self.outputs = outputs
    }
}

extension AttributionModel {
    /// Default: the model cannot replay (AblationCAM then throws a typed error).
    public func layerReplay(_ input: Tensor<Scalar>, layer: String) throws -> LayerReplay<Scalar>? { nil }
}
