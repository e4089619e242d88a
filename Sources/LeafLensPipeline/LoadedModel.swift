import Foundation
import LeafLensAttribution
import LeafLensCheckpoint
import LeafLensMath
import LeafLensModel
import LeafLensTraining

/// Where a command's model comes from: a weights file, or the bundled default model, with an optional
/// labels file that overrides the labels stored in the weights.
public struct ModelSource: Sendable {
    /// `--weights`: a `.safetensors` file with torchvision's names; nil for the bundled default.
    public var weights: String?
    /// `--labels`: one label per line.
    public var labelsFile: String?
    /// Where the bundled default model is (the CLI knows where its resources are); nil if it is missing.
    public var bundled: URL?

    public init(weights: String?, labelsFile: String? = nil, bundled: URL?) {
        self.weights = weights
        self.labelsFile = labelsFile
        self.bundled = bundled
    }

    /// The weights file for messages and records: its path, or "bundled default".
    public var description: String { weights ?? "bundled default" }

    /// The file that would be loaded, or nil when the bundled model is asked for and missing.
    public var url: URL? { weights.map { URL(fileURLWithPath: $0) } ?? bundled }

    /// Loads the model (Float), with the labels file applied.
    public func load() throws -> LoadedModel {
        let labelList = try labelsFile.map(Self.readLabels)
        guard let url else { throw PipelineError("the bundled default model was not found; pass --weights FILE") }
        // Nothing at all there; anything else (a loop, a dangling link, a FIFO) the reader explains.
        guard !FileAccess.isMissing(url.path) else { throw PipelineError("\(url.path): no such file") }
        return try Self.loadAnyWeights(url, labels: labelList, description: description)
    }

    /// A labels file: one label per line, surrounding whitespace trimmed, trailing blank lines ignored; a blank
    /// line in between is an error (it would shift every later class).
    public static func readLabels(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PipelineError("\(path): cannot read the labels file")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while lines.last == "" { lines.removeLast() }
        if let blank = lines.firstIndex(of: "") {
            throw PipelineError("\(path): line \(blank + 1) of the labels file is empty")
        }
        return lines
    }

    /// A LeafLens safetensors file loads strictly (names, shapes, metadata as written); anything else the
    /// checkpoint reader accepts — `.pth`/`.pt`/`.bin` from `torch.save`, safetensors with wrapper prefixes,
    /// `fc.1.*` heads or half/bfloat16 weights — is converted in memory, and the reader's decisions come back
    /// as `LoadedModel.notes`. When both fail the reader's error is reported: it names the keys it found and
    /// the nearest expected ones.
    public static func loadAnyWeights(_ url: URL, labels: [String]?, description: String) throws -> LoadedModel {
        let strictError: String
        do {
            return LoadedModel(try ResNet<Float>.load(contentsOf: url, labels: labels), description: description)
        } catch { strictError = error.description }
        let imported: ImportedResNet
        do {
            imported = try CheckpointImporter.load(contentsOf: url, options: .init(labels: labels))
        } catch {
            // A truncated or corrupt safetensors file: the strict loader's message says what is wrong; a
            // readable file whose names or shapes do not fit: the reader's message lists what it found.
            if url.pathExtension.lowercased() == "safetensors" {
                if error.kind != .layout { throw PipelineError(strictError) }
                throw PipelineError("\(strictError); read as a PyTorch-style state_dict: \(error.description)")
            }
            throw PipelineError(error.description)
        }
        do {
            return LoadedModel(try imported.model(), description: description, notes: imported.notes)
        } catch { throw PipelineError(error.description) }
    }
}

/// A loaded ResNet with what the commands ask of it: its classes, its tap layers and the input size
/// recorded in its file.
public struct LoadedModel {
    public let network: ResNet<Float>
    /// The weights file, or "bundled default" (recorded in explanation files and reports).
    public let description: String
    /// What the checkpoint reader decided when the file was not a LeafLens safetensors file (which key held
    /// the weights, which prefix was stripped, where the labels came from), for the CLI to print.
    public let notes: [String]

    public init(_ network: ResNet<Float>, description: String, notes: [String] = []) {
        self.network = network
        self.description = description
        self.notes = notes
    }

    public var classCount: Int { network.configuration.classCount }
    public var labels: [String] { network.labels }
    public var width: Int { network.configuration.width }
    public var metadata: [String: String] { network.metadata }

    /// The attribution view of the network (folded program for forwards and input gradients).
    func classifier() throws -> ResNetClassifier<Float> {
        do { return try ResNetClassifier(network) } catch {
            throw PipelineError("\(description): \(error.description)")
        }
    }
}
