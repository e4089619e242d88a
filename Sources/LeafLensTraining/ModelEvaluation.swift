import Foundation
import LeafLensMath
import LeafLensModel

/// Runs a model over a data set in evaluation mode (BatchNorm folded, running statistics): the
/// validation pass of training and the first step of `leaflens evaluate` (whose confusion matrix and
/// report live in LeafLensPipeline).
public enum ModelEvaluation {
    public struct Result: Sendable {
        /// Mean cross-entropy (0 for an empty data set).
        public var loss: Double
        /// Predicted class per sample, in data set order.
        public var predictions: [Int]
        /// The model's class index of each sample's true class (`classMap` applied), in data set order.
        public var targets: [Int]

        /// Share of samples whose prediction is their target (0 for an empty data set).
        public var accuracy: Double {
            predictions.isEmpty
                ? 0 : Double(zip(predictions, targets).filter { $0 == $1 }.count) / Double(predictions.count)
        }
    }

    /// `classMap[datasetLabel]` = the model's class index for that data set class.
    public static func run(
        model: ResNet18<Float>, dataset: ImageFolder, transform: ImageTransform, batchSize: Int = 32,
        classMap: [Int]? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        let program = try model.program(foldingBatchNorm: true)
        let loader = BatchLoader(dataset: dataset, transform: transform, batchSize: batchSize, seed: 0)
        loader.startEpoch(0, shuffle: false)
        var predictions = [Int](repeating: 0, count: dataset.samples.count)
        var targets = [Int](repeating: 0, count: dataset.samples.count)
        var lossSum = 0.0
        for b in 0..<loader.batchCount {
            let batch = try loader.batch(b)
            let batchTargets = batch.labels.map { classMap?[$0] ?? $0 }
            let logits = try program.forward(batch.inputs).outputs
            let ce = try CrossEntropy.evaluate(logits: logits, targets: batchTargets)
            lossSum += ce.loss * Double(batchTargets.count)
            for (k, p) in ce.predictions.enumerated() {
                predictions[batch.indices[k]] = p
                targets[batch.indices[k]] = batchTargets[k]
            }
            progress(b + 1, loader.batchCount)
        }
        return Result(
            loss: dataset.samples.isEmpty ? 0 : lossSum / Double(dataset.samples.count), predictions: predictions,
            targets: targets)
    }
}
