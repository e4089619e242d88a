import LeafLensMath
import LeafLensModel

/// `layerReplay` for a ResNet of any depth: the folded attribution program's own steps above the layer
/// (`ResNetProgram.tail(above:)`, derived from the block table), so BasicBlock and Bottleneck networks
/// replay the blocks they have.
///
/// Layers it can resume from: the stem's `bn1`, `relu` and `maxpool`, every block output `layerS.B` (and its stage alias `layerS`),
/// and `avgpool`. A block's inner values (`layerS.B.bn2`, …) are not boundaries — the block's residual
/// reads its input too — so they return nil, and AblationCAM reports that it cannot use them; so do the
/// output `fc` and names only the unfolded program has (pre-BatchNorm convolution outputs), and so does
/// every layer of a classifier built with `foldingBatchNorm: false`.
extension ResNetClassifier {
    public func layerReplay(_ input: Tensor<T>, layer: String) throws -> LayerReplay<T>? {
        guard folded.foldsBatchNorm, folded.layers[layer] != nil, let tail = try folded.tail(above: layer) else {
            return nil
        }
        let record = try folded.forward(input, taps: [layer])
        guard let activation = record.layerActivations[layer] else { return nil }
        return LayerReplay(activation: activation) { try tail.forward($0) }
    }
}
