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
///
/// `images`, when known, is how many inputs the run will classify. Below `preparationMinimumImages` the
/// program skips preparations that take longer than they save: on a CPU without the packed AVX-512
/// kernel, the Winograd filters (1.8× the weights' memory, ≈ 25 ms and 16 thousand page faults for a
/// full-width resnet18 in a fresh process) save ≈ 5 ms per image, so a one-image run uses the
/// attribution program (BN folded, im2col) instead. Probabilities then differ from a longer run's in
/// float32 rounding only.
public struct Classifier {
    let program: ResNetProgram<Float>
    public let model: LoadedModel
    public let loader: InputLoader

    /// Runs of fewer images than this skip the Winograd filter transform (see the type's documentation).
    public static let preparationMinimumImages = 4

    public init(model: LoadedModel, loader: InputLoader, images: Int? = nil) throws {
        self.model = model
        self.loader = loader
        // With the packed kernel, classification packs the forward weights only: nothing to skip.
        let short = (images ?? Self.preparationMinimumImages) < Self.preparationMinimumImages
        let purpose: ProgramPurpose = short && !PackedMatrix.isAvailable ? .attribution : .classification
        do { program = try model.network.program(for: purpose) } catch {
            throw PipelineError("\(model.description): \(error.description)")
        }
    }

    /// What the program was built for (`.classification`, or `.attribution` for a short run).
    public var purpose: ProgramPurpose { program.purpose }

    /// The `top` most probable classes of the input at `path`, and all logits.
    public func classify(_ path: String, top: Int) throws -> ClassificationRecord {
        let x = try loader.load(path).tensor
        let logits = try program.forward(x).outputs.storage
        return ClassificationRecord(
            input: path, predictions: Prediction.rank(logits: logits, labels: model.labels, top: top), logits: logits)
    }
}
