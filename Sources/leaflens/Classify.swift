import ArgumentParser
import Foundation
import LeafLensPipeline

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
        guard top <= network.classCount else {
            throw ValidationError("--top \(top) is more than the model's \(network.classCount) classes")
        }
        let classifier = try Classifier(
            model: network, loader: preprocessing.loader(for: network), images: inputs.count)
        var failures = 0
        for input in inputs {
            do {
                let record = try classifier.classify(input, top: top)
                if json {
                    try printJSON(record)
                } else {
                    print(input)
                    for p in record.predictions {
                        print(String(format: "  %6.2f%%  %3d  %@", p.probability * 100, p.index, p.label))
                    }
                }
            } catch {
                warn("leaflens: error: \(errorText(error, input: input))")
                failures += 1
            }
        }
        if failures > 0 { throw RuntimeError("\(failures) of \(inputs.count) inputs failed") }
    }
}
