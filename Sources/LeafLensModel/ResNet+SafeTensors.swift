import Foundation
import LeafLensMath

/// Loading and saving ResNet weights as safetensors under torchvision's state_dict names.
///
/// The depth, class count and base width are read from the file (`ResNetConfiguration.inferred`: Bottleneck
/// if `layer1.0.conv3` exists, blocks per stage from the `layerS.B` indices, `conv1.weight` `[w, 3, 7, 7]`,
/// `fc.weight` `[K, 8w·expansion]`); every other entry must then have exactly the shape torchvision's
/// topology implies. Integer entries (BatchNorm's `num_batches_tracked`) are accepted and ignored. Class
/// labels live in the `__metadata__` map under `labels`, as a JSON array of strings.
extension ResNet {
    /// Reads and validates a weights file. Errors name the file, the key and the expected vs found shape.
    public static func load(contentsOf url: URL, labels overrideLabels: [String]? = nil) throws(WeightsError) -> ResNet
    {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(url) } catch { throw WeightsError(file: url.path, problem: error.problem) }
        return try load(file, source: url.path, labels: overrideLabels)
    }

    /// Builds a model from an already decoded file.
    public static func load(
        _ file: SafeTensorsFile, source: String, labels overrideLabels: [String]? = nil
    ) throws(WeightsError) -> ResNet {
        func fail(_ problem: String) -> WeightsError { WeightsError(file: source, problem: problem) }
        let configuration: ResNetConfiguration
        do {
            configuration = try ResNetConfiguration.inferred(fromShapes: file.entries.mapValues(\.shape))
        } catch {
            throw fail(error.description)
        }
        let expected = configuration.parameterShapes
        let expectedNames = Set(expected.map(\.name))
        let unexpected = file.tensorNames.filter { !expectedNames.contains($0) }
        if !unexpected.isEmpty {
            throw fail(
                "unexpected tensors: \(unexpected.prefix(8).joined(separator: ", ")) (is this a torchvision \(configuration.architecture)?)"
            )
        }
        for (name, shape) in expected {
            guard let entry = file.entries[name] else {
                throw fail("missing tensor '\(name)' (expected shape \(shape))")
            }
            guard entry.shape == shape else {
                throw fail("tensor '\(name)' has shape \(entry.shape), expected \(shape)")
            }
        }
        // Decoding copies every tensor out of the file (45 MB for the full-width ResNet18, most of the time
        // first-touch page faults): spread over the workers, largest first; the first error in `expected`
        // order is the one reported.
        let names = expected.map(\.name)
        let sizes = expected.map { $0.shape.reduce(1, *) }
        let work = names.indices.sorted { sizes[$0] > sizes[$1] }
        var decoded = [Result<Tensor<T>, FileFormatError>?](repeating: nil, count: names.count)
        decoded.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            Parallel.forEach(work.count) { k in
                let i = work[k]
                // Each worker writes its own element of `out`.
                do throws(FileFormatError) { out.value[i] = .success(try file.tensor(names[i], as: T.self)) } catch {
                    out.value[i] = .failure(error)
                }
            }
        }
        var parameters: [String: Tensor<T>] = [:]
        for (i, result) in decoded.enumerated() {
            switch result {
            case .success(let tensor): parameters[names[i]] = tensor
            case .failure(let error): throw fail(error.problem)
            case nil: throw fail("tensor '\(names[i])' was not read")
            }
        }
        var labels = overrideLabels
        if labels == nil {
            do { labels = try file.labels() } catch { throw fail(error.problem) }
        }
        if let labels, labels.count != configuration.classCount {
            throw fail("\(labels.count) labels for a model with \(configuration.classCount) classes")
        }
        do {
            var model = try ResNet(configuration: configuration, parameters: parameters, labels: labels)
            model.metadata = file.metadata
            return model
        } catch {
            throw fail(error.description)
        }
    }

    /// Writes the state_dict (float32) with labels in the metadata, atomically. The `format` entry is
    /// `leaflens-resnet18` (`leaflens-resnet50`, …) unless the metadata already has one.
    public func save(to url: URL, metadata extra: [String: String] = [:]) throws(WeightsError) {
        var metadata = self.metadata.merging(extra) { _, new in new }
        metadata[SafeTensorsFile.labelsKey] = SafeTensorsFile.encodeLabels(labels)
        metadata["format"] = metadata["format"] ?? "leaflens-\(configuration.architecture)"
        do {
            try SafeTensorsFile.write(parameters, metadata: metadata, to: url)
        } catch {
            throw WeightsError(file: url.path, problem: error.problem)
        }
    }
}

/// A weights file that cannot be used: the one file error type of LeafLens (`FileFormatError`), under
/// the name model code has used.
public typealias WeightsError = FileFormatError
