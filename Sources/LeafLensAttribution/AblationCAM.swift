import LeafLensMath

/// Ablation-CAM (Desai & Ramaswamy 2020) as pytorch-grad-cam 1.5.7's `AblationCAM` (all channels,
/// `ratio_channels_to_ablate = 1`). For each example, with T the layer's activation and y = F(x)[t]:
///
///     y_c   = the network above the layer run on T with channel c set to v
///     w_c   = (y − y_c) / y,    raw = Σ_c w_c·A_c
///
/// **Ablation value (decision).** The library sets v = 0 when min(T) = 0 (ReLU outputs: every block of a
/// ResNet) and otherwise min − 1e7, re-reading the minimum after each row of its batch, so row k gets
/// min − (k + 1)·1e7 and the result depends on its `batch_size`. LeafLens uses one value for every
/// channel: v = 0 if min(T) = 0, else min(T) − 1e7 — what the library gives with batch_size 1. For
/// ReLU-output layers (the usual targets) the numbers agree with the library at any batch size.
/// A negative y flips every weight's sign, as in the library; y = 0 gives non-finite weights.
///
/// Only the layers above the target are re-run (`AttributionModel.layerReplay`); a model or layer
/// without that ability throws `AttributionError.invalidOption`. Batches of `CAMParameters.batchSize`
/// (default 32) ablated copies per forward pass; the batch size does not change LeafLens's numbers.
public enum AblationCAM {
    public static let defaultBatchSize = 32

    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters`); `targets == nil` explains
    /// each image's argmax.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        let batchSize = parameters.batchSize ?? defaultBatchSize
        return try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: false,
            weighting: { data in
                CAMEngine.channelWeighted(data, weights: try weights(model, data, batchSize: batchSize))
            })
    }

    static func weights<Model: AttributionModel>(
        _ model: Model, _ data: CAMLayerData<Model.Scalar>, batchSize: Int
    ) throws -> [Double] {
        typealias S = Model.Scalar
        var all: [Double] = []
        for n in 0..<data.batch {
            let example = data.input.slice(n..<(n + 1))
            guard let replay = try model.layerReplay(example, layer: data.layer) else {
                throw AttributionError.invalidOption(
                    "ablation-cam cannot re-run the model above layer '\(data.layer)'; "
                        + "choose a layer the model can resume from (for a ResNet: maxpool, avgpool or a block output such as layer4 or layer3.1)"
                )
            }
            let t = replay.activation
            guard t.rank == 4, t.shape[0] == 1, t.shape[1] == data.channels else {
                throw AttributionError.shapeMismatch("layer replay gave an activation \(t.shape)")
            }
            let plane = t.shape[2] * t.shape[3], size = t.count
            let target = data.targets[n]
            func scores(_ batch: [S], count: Int) throws -> [S] {
                let x = try checkedTensor(shape: [count] + Array(t.shape.dropFirst()), storage: batch)
                let out = try replay.outputs(x)
                return try selectTargets(
                    out, targets: Array(repeating: target, count: count), classCount: model.classCount
                )
            }
            let original = try scores(t.storage, count: 1)[0]
            let low = t.storage.min() ?? 0
            let value: S = low == 0 ? 0 : low - 10_000_000
            var ablated: [S] = []
            var start = 0
            while start < data.channels {
                let count = min(batchSize, data.channels - start)
                var batch = [S]()
                batch.reserveCapacity(count * size)
                for k in 0..<count {
                    var copy = t.storage
                    let c = start + k
                    for j in 0..<plane { copy[c * plane + j] = value }
                    batch.append(contentsOf: copy)
                }
                ablated.append(contentsOf: try scores(batch, count: count))
                start += count
            }
            all.append(contentsOf: ablated.map { Double((original - $0) / original) })
        }
        return all
    }
}
