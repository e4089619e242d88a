import ArgumentParser
import Foundation
import LeafLensCheckpoint
import LeafLensModel

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

    enum Architecture: String, ExpressibleByArgument, CaseIterable {
        case resnet18, resnet34, resnet50
        var depth: ResNetArchitecture.Depth {
            switch self {
            case .resnet18: .resnet18
            case .resnet34: .resnet34
            case .resnet50: .resnet50
            }
        }
    }

    @Argument(help: "The checkpoint: .pth/.pt/.bin written by torch.save, or a .safetensors file.")
    var input: String

    @Option(name: [.short, .customLong("output")], help: "The LeafLens weights file to write (.safetensors), atomically.")
    var output: String

    @Option(help: "Class labels, one per line, in class-index order; replace any labels found in the checkpoint.")
    var labels: String?

    @Option(help: "The checkpoint entry holding the weights (default: found automatically; a/b walks into nested dicts).")
    var key: String?

    @Option(help: "The architecture to expect (default: inferred from the keys and shapes).")
    var arch: Architecture?

    func validate() throws {
        guard output.hasSuffix(".safetensors") else {
            throw ValidationError("--output must name a .safetensors file, got '\(output)'")
        }
    }

    func run() throws {
        let options = CheckpointImportOptions(key: key, architecture: arch?.depth, labels: try labels.map(readLabelsFile))
        let imported: ImportedResNet
        do {
            imported = try CheckpointImporter.load(contentsOf: URL(fileURLWithPath: input), options: options)
        } catch {
            throw RuntimeError(error.description)
        }
        for note in imported.notes { print("  \(note)") }
        do {
            try imported.write(to: URL(fileURLWithPath: output))
        } catch {
            throw RuntimeError(error.description)
        }
        let values = imported.parameters.values.reduce(0) { $0 + $1.count }
        print(
            "wrote \(output): \(imported.architecture.name), \(imported.architecture.classCount) classes, "
                + "width \(imported.architecture.width), \(imported.parameters.count) tensors, \(values) values")
    }
}

/// A labels file: one label per line, surrounding whitespace trimmed, trailing blank lines ignored.
func readLabelsFile(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw RuntimeError("\(path): cannot read the labels file")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    while lines.last == "" { lines.removeLast() }
    if let blank = lines.firstIndex(of: "") { throw RuntimeError("\(path): line \(blank + 1) is empty") }
    return lines
}

/// For `--weights` in every command: any file the checkpoint reader accepts (.pth/.pt/.bin/.safetensors,
/// recognised by content), as a ResNet18, plus the reader's decisions for the command to print (e.g. with
/// `warn`). Strict LeafLens safetensors files load exactly as `ResNet18.load` loads them.
func loadWeightsAcceptingCheckpoints(_ path: String, labels: [String]?) throws -> (model: ResNet18<Float>, notes: [String]) {
    do {
        return try CheckpointImporter.loadResNet18(contentsOf: URL(fileURLWithPath: path), options: .init(labels: labels))
    } catch {
        throw RuntimeError(error.description)
    }
}
