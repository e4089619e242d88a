import Foundation
import LeafLensMath
import LeafLensModel

/// Counts of (true class, predicted class) and the metrics derived from them.
///
/// For class c with TP = m[c][c], FP = Σ_r m[r][c] − TP, FN = Σ_k m[c][k] − TP:
/// precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2·P·R / (P + R); each is 0 when its
/// denominator is 0 (as scikit-learn's `zero_division=0`).
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    public let labels: [String]
    /// `counts[truth][prediction]`.
    public private(set) var counts: [[Int]]

    public init(labels: [String]) {
        self.labels = labels
        counts = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    public mutating func add(truth: Int, prediction: Int) {
        guard counts.indices.contains(truth), counts.indices.contains(prediction) else { return }
        counts[truth][prediction] += 1
    }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    public struct ClassMetrics: Sendable, Equatable, Codable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public var perClass: [ClassMetrics] {
        labels.indices.map { c in
            let tp = counts[c][c]
            let predicted = counts.reduce(0) { $0 + $1[c] }
            let support = counts[c].reduce(0, +)
            let p = predicted == 0 ? 0 : Double(tp) / Double(predicted)
            let r = support == 0 ? 0 : Double(tp) / Double(support)
            let f = p + r == 0 ? 0 : 2 * p * r / (p + r)
            return ClassMetrics(label: labels[c], precision: p, recall: r, f1: f, support: support)
        }
    }

    /// CSV: a header `true\predicted,<labels…>` then one row per true class (labels quoted as RFC 4180).
    public var csv: String {
        func quote(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["true\\predicted," + labels.map(quote).joined(separator: ",")]
        for (i, row) in counts.enumerated() {
            lines.append(quote(labels[i]) + "," + row.map(String.init).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Runs a model over a data set in evaluation mode (BatchNorm folded, running statistics).
public enum ModelEvaluation {
    public struct Result: Sendable {
        public var confusion: ConfusionMatrix
        /// Mean cross-entropy.
        public var loss: Double
        /// Predicted class per sample, in data set order.
        public var predictions: [Int]
    }

    /// `classMap[datasetLabel]` = the model's class index for that data set class.
    public static func run(
        model: ResNet18<Float>, dataset: ImageFolder, transform: ImageTransform, batchSize: Int = 32,
        classMap: [Int]? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        let program = try model.program(foldingBatchNorm: true)
        let loader = BatchLoader(dataset: dataset, transform: transform, batchSize: batchSize, seed: 0)
        loader.startEpoch(0, shuffle: false)
        var confusion = ConfusionMatrix(labels: model.labels)
        var predictions = [Int](repeating: 0, count: dataset.samples.count)
        var lossSum = 0.0
        for b in 0..<loader.batchCount {
            let batch = try loader.batch(b)
            let targets = batch.labels.map { classMap?[$0] ?? $0 }
            let logits = try program.forward(batch.inputs).outputs
            let ce = try CrossEntropy.evaluate(logits: logits, targets: targets)
            lossSum += ce.loss * Double(targets.count)
            for (k, p) in ce.predictions.enumerated() {
                confusion.add(truth: targets[k], prediction: p)
                predictions[batch.indices[k]] = p
            }
            progress(b + 1, loader.batchCount)
        }
        return Result(confusion: confusion, loss: dataset.samples.isEmpty ? 0 : lossSum / Double(dataset.samples.count), predictions: predictions)
    }
}
