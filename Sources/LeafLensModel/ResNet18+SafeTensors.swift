import Foundation
import LeafLensMath

/// Loading and saving ResNet18 weights as safetensors under torchvision's state_dict names.
///
/// The class count and base width are read from the file (`fc.weight` is `[K, 8w]`, `conv1.weight`
/// `[w, 3, 7, 7]`); every other entry must then have exactly the shape torchvision's topology implies.
/// Integer entries (BatchNorm's `num_batches_tracked`) are accepted and ignored. Class labels live in the
/// `__metadata__` map under `labels`, as a JSON array of strings.
extension ResNet18 {
    /// Reads and validates a weights file. Errors name the file, the key and the expected vs found shape.
    public static func load(contentsOf url: URL, labels overrideLabels: [String]? = nil) throws(WeightsError) -> ResNet18 {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(url) } catch { throw WeightsError(file: url.path, problem: error.problem) }
        return try load(file, source: url.path, labels: overrideLabels)
    }

    /// Builds a model from an already decoded file.
    public static func load(_ file: SafeTensorsFile, source: String, labels overrideLabels: [String]? = nil) throws(WeightsError) -> ResNet18 {
        func fail(_ problem: String) -> WeightsError { WeightsError(file: source, problem: problem) }
        guard let fc = file.entries["fc.weight"], fc.shape.count == 2, fc.shape[0] > 0 else {
            throw fail("not a ResNet18 state_dict: no 2-D tensor 'fc.weight'")
        }
        guard let stem = file.entries["conv1.weight"], stem.shape.count == 4, stem.shape[0] > 0 else {
            throw fail("not a ResNet18 state_dict: no 4-D tensor 'conv1.weight'")
        }
        let configuration = ResNet18Configuration(classCount: fc.shape[0], width: stem.shape[0])
        guard fc.shape[1] == 8 * configuration.width else {
            throw fail("tensor 'fc.weight' has shape \(fc.shape), expected [\(fc.shape[0]), \(8 * configuration.width)] for base width \(configuration.width)")
        }
        let expected = configuration.parameterShapes
        let expectedNames = Set(expected.map(\.name))
        let unexpected = file.tensorNames.filter { !expectedNames.contains($0) }
        if !unexpected.isEmpty {
            throw fail("unexpected tensors: \(unexpected.prefix(8).joined(separator: ", ")) (is this a torchvision resnet18?)")
        }
        var parameters: [String: Tensor<T>] = [:]
        for (name, shape) in expected {
            guard let entry = file.entries[name] else { throw fail("missing tensor '\(name)' (expected shape \(shape))") }
            guard entry.shape == shape else { throw fail("tensor '\(name)' has shape \(entry.shape), expected \(shape)") }
            do { parameters[name] = try file.tensor(name, as: T.self) } catch { throw fail(error.problem) }
        }
        var labels = overrideLabels
        if labels == nil {
            do { labels = try file.labels() } catch { throw fail(error.problem) }
        }
        if let labels, labels.count != configuration.classCount {
            throw fail("\(labels.count) labels for a model with \(configuration.classCount) classes")
        }
        do {
            var model = try ResNet18(configuration: configuration, parameters: parameters, labels: labels)
            model.metadata = file.metadata
            return model
        } catch {
            throw fail(error.description)
        }
    }

    /// Writes the state_dict (float32) with labels in the metadata, atomically.
    public func save(to url: URL, metadata extra: [String: String] = [:]) throws(WeightsError) {
        var metadata = self.metadata.merging(extra) { _, new in new }
        metadata[SafeTensorsFile.labelsKey] = SafeTensorsFile.encodeLabels(labels)
        metadata["format"] = metadata["format"] ?? "leaflens-resnet18"
        do {
            try SafeTensorsFile.write(parameters, metadata: metadata, to: url)
        } catch {
            throw WeightsError(file: url.path, problem: error.problem)
        }
    }
}

/// A weights file that cannot be used, with the file and the reason.
public struct WeightsError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var problem: String
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
    public var description: String { "\(file): \(problem)" }
}
