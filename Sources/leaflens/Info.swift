import ArgumentParser
import LeafLensPipeline

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print runtime facts as `key: value` lines (BLAS and convolution kernels, threads, CPU).",
        discussion: """
            With --weights, also what the weights file holds: architecture, width, classes, labels, input size, \
            parameters, multiply–accumulates per image and source (a PyTorch checkpoint is read natively).
            """)

    @Option(name: .long, help: "A weights file to describe (.safetensors, .pth/.pt/.bin).")
    var weights: String?

    @Option(name: .long, help: "Class labels, one per line; overrides the labels stored in the weights file.")
    var labels: String?

    func run() throws {
        for (key, value) in RuntimeFacts.all(defaultModel: DefaultModel.location) { print("\(key): \(value)") }
        if let weights {
            let model = try ModelSource(weights: weights, labelsFile: labels, bundled: nil).load()
            for (key, value) in ModelFacts.all(model) { print("\(key): \(value)") }
        }
    }
}
