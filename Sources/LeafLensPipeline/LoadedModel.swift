import Foundation
import LeafLensAttribution
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
        var labelList: [String]? = nil
        if let labelsFile {
            guard let text = try? String(contentsOfFile: labelsFile, encoding: .utf8) else {
                throw PipelineError("\(labelsFile): cannot read the labels file")
            }
            labelList = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            while labelList?.last == "" { labelList?.removeLast() }
        }
        guard let url else { throw PipelineError("the bundled default model was not found; pass --weights FILE") }
        guard FileManager.default.fileExists(atPath: url.path) else { throw PipelineError("\(url.path): no such file") }
        do {
            return LoadedModel(try ResNet18<Float>.load(contentsOf: url, labels: labelList), description: description)
        } catch {
            throw PipelineError(error.description)
        }
    }
}

/// A loaded ResNet with what the commands ask of it: its classes, its tap layers and the input size
/// recorded in its file.
public struct LoadedModel {
    public let network: ResNet18<Float>
    /// The weights file, or "bundled default" (recorded in explanation files and reports).
    public let description: String

    public init(_ network: ResNet18<Float>, description: String) {
        self.network = network
        self.description = description
    }

    public var classCount: Int { network.configuration.classCount }
    public var labels: [String] { network.labels }
    public var width: Int { network.configuration.width }
    public var metadata: [String: String] { network.metadata }

    /// The attribution view of the network (folded program for forwards and input gradients).
    func classifier() throws -> ResNetClassifier<Float> {
        do { return try ResNetClassifier(network) } catch { throw PipelineError("\(description): \(error.description)") }
    }
}
