import ArgumentParser
import LeafLensPipeline

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print runtime facts as `key: value` lines (BLAS and convolution kernels, threads, CPU).")

    func run() {
        for (key, value) in RuntimeFacts.all(defaultModel: DefaultModel.location) { print("\(key): \(value)") }
    }
}
