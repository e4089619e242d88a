import Foundation
import LeafLensCheckpoint

/// The torchvision ResNet depths a checkpoint can hold.
public enum ModelArchitecture: String, CaseIterable, Sendable {
    case resnet18, resnet34, resnet50

    var depth: ResNetArchitecture.Depth {
        switch self {
        case .resnet18: .resnet18
        case .resnet34: .resnet34
        case .resnet50: .resnet50
        }
    }
}

/// `leaflens convert`: a PyTorch checkpoint (or a safetensors file with other names or dtypes) → LeafLens
/// safetensors, read natively (no Python, nothing from the file executed), written atomically.
public enum CheckpointConversion {
    public struct Result: Sendable {
        /// Every decision the reader took (where the weights were, which prefix was stripped, labels).
        public var notes: [String]
        /// One line: what was written.
        public var summary: String
    }

    public static func convert(
        input: String, output: String, labelsFile: String?, key: String?, architecture: ModelArchitecture?
    ) throws -> Result {
        let options = CheckpointImportOptions(
            key: key, architecture: architecture?.depth, labels: try labelsFile.map(ModelSource.readLabels))
        let imported: ImportedResNet
        do {
            imported = try CheckpointImporter.load(contentsOf: URL(fileURLWithPath: input), options: options)
            try imported.write(to: URL(fileURLWithPath: output))
        } catch let error as CheckpointError {
            throw PipelineError(error.description)
        } catch {
            throw PipelineError("\(output): \(error)")
        }
        let values = imported.parameters.values.reduce(0) { $0 + $1.count }
        let a = imported.architecture
        return Result(
            notes: imported.notes,
            summary: "wrote \(output): \(a.name), \(a.classCount) classes, width \(a.width), "
                + "\(imported.parameters.count) tensors, \(values) values")
    }
}
