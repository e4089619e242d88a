import ArgumentParser
import Foundation
import LeafLensPipeline

/// `leaflens convert`: a PyTorch checkpoint (or a safetensors file with other names or dtypes) →
/// LeafLens safetensors, read natively (no Python), printing every decision the reader took.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch checkpoint (.pth/.pt/.bin) or safetensors file to LeafLens safetensors.",
        discussion: """
            Reads torch.save files (PyTorch ≥ 1.6) without Python and without running anything from the \
            file: plain state_dicts, checkpoint dicts (model_state_dict, state_dict, model, net, state), \
            whole pickled models, wrapper prefixes (module., _orig_mod., model., backbone., …), \
            Sequential(Dropout, Linear) heads and float16/bfloat16 weights. The architecture (resnet18, \
            resnet34, resnet50), class count and width are inferred from the keys and shapes.
            """)

    @Argument(help: "The checkpoint: .pth/.pt/.bin written by torch.save, or a .safetensors file.")
    var input: String

    @Option(
        name: [.short, .customLong("output")], help: "The LeafLens weights file to write (.safetensors), atomically.")
    var output: String

    @Option(help: "Class labels, one per line, in class-index order; replace any labels found in the checkpoint.")
    var labels: String?

    @Option(
        help: "The checkpoint entry holding the weights (default: found automatically; a/b walks into nested dicts).")
    var key: String?

    @Option(help: "The architecture to expect (default: inferred from the keys and shapes).")
    var arch: ModelArchitecture?

    func validate() throws {
        guard output.hasSuffix(".safetensors") else {
            throw ValidationError("--output must name a .safetensors file, got '\(output)'")
        }
    }

    func run() throws {
        let result = try CheckpointConversion.convert(
            input: input, output: output, labelsFile: labels, key: key, architecture: arch)
        for note in result.notes { print("  \(note)") }
        print(result.summary)
    }
}

extension ModelArchitecture: ExpressibleByArgument {}
