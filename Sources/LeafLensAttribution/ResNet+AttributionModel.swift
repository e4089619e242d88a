import LeafLensMath
import LeafLensModel

/// A ResNet (any depth) as attribution methods see it: an adapter from `AttributionModel` to the model
/// module's programs.
///
/// Forward passes and input gradients run the BatchNorm-folded program built for attribution (faster,
/// same function up to rounding — implementation invariance is tested). Taps at pre-BN convolution outputs
/// (`conv1`, `layer3.0.conv2`, …), which do not exist once BN is folded, run the unfolded program.
///
/// `ResNetClassifier(model, foldingBatchNorm: false)` runs everything on the unfolded program, as PyTorch's
/// eval-mode network computes it (`leaflens verify` compares the two); the folded fast paths (regional
/// occlusion, layer replay) are then off, and methods use their general algorithms.
public struct ResNetClassifier<T: TensorScalar>: AttributionModel {
    public typealias Scalar = T
    public let model: ResNet<T>
    /// The program forwards and input gradients run: BN-folded (`.attribution`), or the same program as
    /// `unfolded` when built with `foldingBatchNorm: false`.
    public let folded: ResNetProgram<T>
    public let unfolded: ResNetProgram<T>

    public init(_ model: ResNet<T>, foldingBatchNorm: Bool = true) throws(ModelError) {
        self.model = model
        // Unpacked (`.training` runs im2col): it only serves Grad-CAM on pre-BatchNorm layers, and packing
        // would hold two more copies of the weights (≈ 90 MB for a full-width resnet18).
        unfolded = try model.program(for: .training)
        folded = foldingBatchNorm ? try model.program(for: .attribution) : unfolded
    }

    public var classCount: Int { model.configuration.classCount }
    public var labels: [String] { model.labels }

    /// Layer names a tap can use, in forward order.
    public var layerNames: [String] { unfolded.availableLayers }

    public func outputs(_ input: Tensor<T>) throws -> Tensor<T> {
        try folded.forward(input).outputs
    }

    public func inputGradient(_ input: Tensor<T>, targets: [Int]) throws -> (outputs: Tensor<T>, gradient: Tensor<T>) {
        try checkTargets(targets, batch: input.shape.first ?? 0)
        let record = try folded.forward(input, backward: .inputOnly)
        let seed = try ResNetProgram<T>.oneHot(targets: targets, classCount: classCount)
        let result = try folded.backward(record, gradOutput: seed, input: true)
        // safe: a backward pass asked for the input gradient returns it.
        guard let gradient = result.input else { preconditionFailure("no input gradient was produced") }
        return (record.outputs, gradient)
    }

    public func layerGradient(
        _ input: Tensor<T>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<T>, activation: Tensor<T>, gradient: Tensor<T>)
    {
        try checkTargets(targets, batch: input.shape.first ?? 0)
        let program = folded.layers[layer] != nil ? folded : unfolded
        guard program.layers[layer] != nil else {
            throw AttributionError.unknownLayer(layer, available: layerNames)
        }
        let record = try program.forward(input, taps: [layer], backward: .layerOnly(layer))
        let seed = try ResNetProgram<T>.oneHot(targets: targets, classCount: classCount)
        let result = try program.backward(record, gradOutput: seed, input: false, layers: [layer])
        // safe: a tapped layer above the plan's floor has an activation and a gradient.
        guard let activation = record.layerActivations[layer], let gradient = result.layers[layer] else {
            preconditionFailure("layer '\(layer)' produced no gradient")
        }
        return (record.outputs, activation, gradient)
    }

    /// Occlusion's fast path: only the part of each layer a window can change is recomputed
    /// (`RegionalOcclusion`, from the folded program's steps), in batches of the windows asked for.
    public func occlusionEvaluator(example: Tensor<T>, fill: Tensor<T>, target: Int) throws -> OcclusionEvaluator<T>? {
        try occlusionEvaluator(example: example, fill: fill, target: target, projectiveFieldThreshold: 1)
    }

    /// The same with Krypton's projective-field threshold τ (`RegionalOcclusion`; τ = 1 is exact).
    public func occlusionEvaluator(
        example: Tensor<T>, fill: Tensor<T>, target: Int, projectiveFieldThreshold tau: Double
    ) throws -> OcclusionEvaluator<T>? {
        try folded.validateInput(example.shape)
        guard folded.foldsBatchNorm, example.shape[0] == 1, fill.shape == example.shape else { return nil }
        try checkTargets([target], batch: 1)
        let runner = try RegionalOcclusion(program: folded)
        let clean = try runner.cleanPass(example)
        let classes = classCount
        return OcclusionEvaluator(clean: clean.outputs.storage[target]) { windows in
            let logits = try runner.occludedOutputs(clean, fill: fill, windows: windows, projectiveFieldThreshold: tau)
            return (0..<windows.count).map { logits.storage[$0 * classes + target] }
        }
    }

    private func checkTargets(_ targets: [Int], batch: Int) throws {
        guard targets.count == batch else {
            throw AttributionError.shapeMismatch("\(targets.count) targets for a batch of \(batch)")
        }
        for t in targets where t < 0 || t >= classCount {
            throw AttributionError.targetOutOfRange(target: t, classCount: classCount)
        }
    }
}
