import LeafLensMath
import LeafLensModel

/// The ResNet's guided backward passes: the BN-folded program run backwards with every ReLU's local
/// gradient replaced (`ResNetProgram.backward(_:gradOutput:input:layers:reluRule:)`). The program
/// has one ReLU step per torchvision ReLU *call* — the stem's, and in each BasicBlock the two calls
/// of its one reused `relu` module (after `bn1`, and after the residual sum) — which is where
/// Captum's per-call hooks act.
extension ResNetClassifier: OutputGradientModel {
    public func inputGradient(
        _ input: Tensor<T>, targets: [Int], reluRule: ReLUBackwardRule
    ) throws
        -> (outputs: Tensor<T>, gradient: Tensor<T>)
    {
        try validateBatch(input, targets: targets, classCount: classCount)
        let classes = classCount
        return try inputGradient(input, reluRule: reluRule) { _ in
            oneHotRows(targets: targets, classCount: classes)
        }
    }

    public func inputGradient(
        _ input: Tensor<T>, reluRule: ReLUBackwardRule, outputGradient: (Tensor<T>) throws -> Tensor<T>
    ) throws -> (outputs: Tensor<T>, gradient: Tensor<T>) {
        let record = try folded.forward(input, backward: .inputOnly)
        let seed = try outputGradient(record.outputs)
        let result = try folded.backward(record, gradOutput: seed, input: true, reluRule: reluRule)
        guard let gradient = result.input else { throw ModelError.invalidInput("no input gradient was produced") }
        return (record.outputs, gradient)
    }

    public func layerGradient(
        _ input: Tensor<T>, layer: String, outputGradient: (Tensor<T>) throws -> Tensor<T>
    ) throws -> (outputs: Tensor<T>, activation: Tensor<T>, gradient: Tensor<T>) {
        let program = folded.layers[layer] != nil ? folded : unfolded
        guard program.layers[layer] != nil else {
            throw AttributionError.unknownLayer(layer, available: layerNames)
        }
        let record = try program.forward(input, taps: [layer], backward: .layerOnly(layer))
        let seed = try outputGradient(record.outputs)
        let result = try program.backward(record, gradOutput: seed, input: false, layers: [layer])
        guard let activation = record.layerActivations[layer], let gradient = result.layers[layer] else {
            throw ModelError.invalidInput("layer '\(layer)' produced no gradient")
        }
        return (record.outputs, activation, gradient)
    }
}
