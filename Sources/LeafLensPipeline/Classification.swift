import Foundation
import LeafLensMath
import LeafLensModel

/// One ranked class.
public struct Prediction: Codable, Equatable, Sendable {
    public var index: Int
    public var label: String
    public var probability: Double

    /// Softmax (in Double, max-subtracted) and the `top` most probable classes, ties by lower index.
    public static func rank(logits: [Float], labels: [String], top: Int) -> [Prediction] {
        let m = logits.map(Double.init).max() ?? 0
        let exps = logits.map { Foundation.exp(Double($0) - m) }
        let total = exps.reduce(0, +)
        let order = exps.indices.sorted { exps[$0] != exps[$1] ? exps[$0] > exps[$1] : $0 < $1 }
        return order.prefix(top).map {
            Prediction(index: $0, label: $0 < labels.count ? labels[$0] : "class_\($0)", probability: exps[$0] / total)
        }
    }
}

/// What `classify --json` prints per input.
public struct ClassificationRecord: Codable, Sendable {
    public var input: String
    public var predictions: [Prediction]
    public var logits: [Float]
}

/// `classify` as library code: the inference program (BatchNorm folded, fastest convolutions) over
/// inputs loaded by one `InputLoader`.
public struct Classifier {
    let program: ResNetProgram<Float>
    public let model: LoadedModel
    public let loader: InputLoader

    public init(model: LoadedModel, loader: InputLoader) throws {
        self.model = model
        self.loader = loader
        do { program = try model.network.program(fastConvolutions: true) } catch {
            throw PipelineError("\(model.description): \(error.description)")
        }
    }

    /// The `top` most probable classes of the input at `path`, and all logits.
    public func classify(_ path: String, top: Int) throws -> ClassificationRecord {
        let x = try loader.load(path).tensor
        let logits = try program.forward(x).outputs.storage
        return ClassificationRecord(
            input: path, predictions: Prediction.rank(logits: logits, labels: model.labels, top: top), logits: logits)
    }
}
