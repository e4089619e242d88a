import ArgumentParser
import Foundation
import LeafLensMath
import LeafLensModel

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify inputs and print the top predictions.",
        discussion: """
            INPUT is a .png, .jpg or .jpeg image (decoded, resized, center-cropped and ImageNet-normalized) \
            or a .npy holding a preprocessed float tensor [3, H, W] or [1, 3, H, W].
            """)

    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessOptions

    @Option(name: .long, help: "How many of the most probable classes to show (1 to the class count).")
    var top: Int = 5

    @Flag(name: .long, help: "Print one JSON object per input, one per line, with top-K predictions and all logits.")
    var json = false

    @Argument(help: ArgumentHelp("Images (.png, .jpg, .jpeg) or preprocessed tensors (.npy).", valueName: "input"))
    var inputs: [String]

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
    }

    func run() throws {
        let network = try model.loadModel()
        guard top <= network.configuration.classCount else {
            throw ValidationError("--top \(top) is more than the model's \(network.configuration.classCount) classes")
        }
        let program = try network.program(fastConvolutions: true)
        var failures = 0
        for input in inputs {
            do {
                let x = try InputLoader.load(
                    input, preprocessor: preprocessing.preprocessor(for: network), maxPixels: preprocessing.maxPixels
                ).tensor
                let logits = try program.forward(x).outputs.storage
                let result = Prediction.rank(logits: logits, labels: network.labels, top: top)
                if json {
                    let record = ClassifyRecord(input: input, predictions: result, logits: logits)
                    print(try JSONLine.encode(record))
                } else {
                    print(input)
                    for p in result {
                        print(String(format: "  %6.2f%%  %3d  %@", p.probability * 100, p.index, p.label))
                    }
                }
            } catch let error as RuntimeError {
                warn("leaflens: error: \(error.message)")
                failures += 1
            } catch {
                warn("leaflens: error: \(input): \(error)")
                failures += 1
            }
        }
        if failures > 0 { throw RuntimeError("\(failures) of \(inputs.count) inputs failed") }
    }
}

/// One ranked class.
struct Prediction: Codable, Equatable {
    var index: Int
    var label: String
    var probability: Double

    /// Softmax (in Double, max-subtracted) and the `top` most probable classes, ties by lower index.
    static func rank(logits: [Float], labels: [String], top: Int) -> [Prediction] {
        let m = logits.map(Double.init).max() ?? 0
        let exps = logits.map { Foundation.exp(Double($0) - m) }
        let total = exps.reduce(0, +)
        let order = exps.indices.sorted { exps[$0] != exps[$1] ? exps[$0] > exps[$1] : $0 < $1 }
        return order.prefix(top).map {
            Prediction(index: $0, label: $0 < labels.count ? labels[$0] : "class_\($0)", probability: exps[$0] / total)
        }
    }
}

struct ClassifyRecord: Codable {
    var input: String
    var predictions: [Prediction]
    var logits: [Float]
}

enum JSONLine {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
