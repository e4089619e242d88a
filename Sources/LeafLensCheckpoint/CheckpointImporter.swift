import Foundation
import LeafLensMath
import LeafLensModel

/// What `leaflens convert` and `--weights` need from a checkpoint: how to find the weights and labels.
public struct CheckpointImportOptions: Sendable, Equatable {
    /// The top-level entry holding the weights (`--key`); `a/b` walks into nested dicts. Nil: automatic.
    public var key: String?
    /// The architecture the user asserts (`--arch`); checked against the keys. Nil: inferred.
    public var architecture: ResNetArchitecture.Depth?
    /// Class labels that replace any found in the file (`--labels FILE`).
    public var labels: [String]?
    public var limits: CheckpointLimits

    public init(
        key: String? = nil, architecture: ResNetArchitecture.Depth? = nil, labels: [String]? = nil,
        limits: CheckpointLimits = .default
    ) {
        self.key = key
        self.architecture = architecture
        self.labels = labels
        self.limits = limits
    }
}

/// A ResNet state_dict read from a checkpoint or safetensors file, under torchvision's names, in Float,
/// with the labels and every decision taken on the way (`notes`, one sentence each, for the CLI to print).
public struct ImportedResNet: Sendable {
    public var architecture: ResNetArchitecture
    /// torchvision names (no `num_batches_tracked`) → Float tensors.
    public var parameters: [String: Tensor<Float>]
    public var labels: [String]
    public var notes: [String]
    public var source: String
    /// Metadata carried over from a safetensors input (e.g. `image_size` written by `leaflens train`).
    public var metadata: [String: String]

    /// The `__metadata__` LeafLens writes: labels, format, architecture, source file name.
    public var safetensorsMetadata: [String: String] {
        var result = metadata
        result[SafeTensorsFile.labelsKey] = SafeTensorsFile.encodeLabels(labels)
        result["format"] = architecture.depth == .resnet18 ? "leaflens-resnet18" : "leaflens-resnet"
        result["architecture"] = architecture.name
        result["source"] = URL(fileURLWithPath: source).lastPathComponent
        return result
    }

    /// Writes the state_dict as float32 safetensors with `safetensorsMetadata`, atomically.
    public func write(to url: URL) throws(FileFormatError) {
        try SafeTensorsFile.write(parameters, metadata: safetensorsMetadata, to: url)
    }

    /// The weights as a model of the depth that was read (resnet18, resnet34 or resnet50).
    public func model() throws(CheckpointError) -> ResNet<Float> {
        do {
            let configuration = try ResNetConfiguration(
                depth: architecture.depth.rawValue, width: architecture.width, classCount: architecture.classCount)
            var model = try ResNet<Float>(configuration: configuration, parameters: parameters, labels: labels)
            model.metadata = metadata
            return model
        } catch {
            throw CheckpointError(.layout, file: source, error.description)
        }
    }
}

/// Reads `.pth`/`.pt`/`.bin` (torch.save zip) and `.safetensors` files into an `ImportedResNet`,
/// recognising the file by its bytes, not its name.
public enum CheckpointImporter {
    public static func load(
        contentsOf url: URL, options: CheckpointImportOptions = .init()
    ) throws(CheckpointError) -> ImportedResNet {
        try load(try readCheckpointFile(url), source: url.path, options: options)
    }

    /// True if the bytes look like a safetensors file (a little-endian header length, then a JSON object).
    public static func looksLikeSafeTensors(_ data: Data) -> Bool {
        guard data.count >= 10 else { return false }
        let length = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return length >= 2 && length <= UInt64(data.count - 8) && data[data.startIndex + 8] == UInt8(ascii: "{")
    }

    public static func load(
        _ data: Data, source: String, options: CheckpointImportOptions = .init()
    ) throws(CheckpointError) -> ImportedResNet {
        if looksLikeSafeTensors(data) { return try loadSafeTensors(data, source: source, options: options) }
        let checkpoint = try TorchCheckpoint.decode(data, source: source, limits: options.limits)
        var notes = [
            "read a torch.save zip archive (folder '\(checkpoint.archiveFolder)', \(checkpoint.isBigEndian ? "big" : "little")-endian storages)"
        ]
        let layout = CheckpointLayout(source: source, maxVisits: 100_000)
        let located = try layout.locate(checkpoint.root, key: options.key)
        notes += located.notes
        let items = located.entries.map { entry in
            StateDictMapping.Item(
                name: entry.name, shape: entry.tensor.shape, dtype: entry.tensor.dtype.name,
                isFloatingPoint: entry.tensor.dtype.isFloatingPoint)
        }
        let mapping = try StateDictMapping(source: source).map(items, architecture: options.architecture)
        notes += mapping.notes
        var byName: [String: TensorReference] = [:]
        for entry in located.entries where byName[entry.name] == nil { byName[entry.name] = entry.tensor }
        var parameters: [String: Tensor<Float>] = [:]
        for (expected, original) in mapping.renames {
            guard let reference = byName[original] else {
                throw CheckpointError(.layout, file: source, "missing tensor '\(original)'")
            }
            parameters[expected] = try checkpoint.tensor(reference, as: Float.self)
        }
        let labels = try resolveLabels(
            found: located.labels, options: options, architecture: mapping.architecture, source: source, notes: &notes)
        return ImportedResNet(
            architecture: mapping.architecture, parameters: parameters, labels: labels, notes: notes, source: source,
            metadata: [:])
    }

    /// Safetensors input, forgiving in the same ways (prefixes, `fc.1.*`, F16/BF16, counters).
    static func loadSafeTensors(
        _ data: Data, source: String, options: CheckpointImportOptions
    ) throws(CheckpointError) -> ImportedResNet {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.decode(data, source: source) } catch {
            throw CheckpointError(.malformedArchive, file: source, error.problem)
        }
        var notes = ["read a safetensors file (\(file.entries.count) tensors)"]
        let items = file.entries.sorted { $0.key < $1.key }.map { name, entry in
            StateDictMapping.Item(
                name: name, shape: entry.shape, dtype: entry.dtype.rawValue,
                isFloatingPoint: entry.dtype.isFloatingPoint)
        }
        let mapping = try StateDictMapping(source: source).map(items, architecture: options.architecture)
        notes += mapping.notes
        var parameters: [String: Tensor<Float>] = [:]
        for (expected, original) in mapping.renames {
            do { parameters[expected] = try file.tensor(original, as: Float.self) } catch {
                throw CheckpointError(.invalidTensor, file: source, error.problem)
            }
        }
        var found: [String]? = nil
        do { found = try file.labels() } catch { throw CheckpointError(.layout, file: source, error.problem) }
        if let found { notes.append("labels: \(found.count) class names from the file's metadata") }
        let labels = try resolveLabels(
            found: found, options: options, architecture: mapping.architecture, source: source, notes: &notes)
        var metadata = file.metadata
        for key in [SafeTensorsFile.labelsKey, "format", "architecture", "source"] { metadata[key] = nil }
        return ImportedResNet(
            architecture: mapping.architecture, parameters: parameters, labels: labels, notes: notes, source: source,
            metadata: metadata)
    }

    /// `--labels` first (it is explicit), then the file's own, then `class_0…`; the count must match.
    static func resolveLabels(
        found: [String]?, options: CheckpointImportOptions, architecture: ResNetArchitecture, source: String,
        notes: inout [String]
    ) throws(CheckpointError) -> [String] {
        let k = architecture.classCount
        if let given = options.labels {
            guard given.count == k else {
                throw CheckpointError(
                    .layout, file: source, "--labels gives \(given.count) labels for a model with \(k) classes")
            }
            notes.append(
                found == nil
                    ? "labels: \(k) from --labels"
                    : "labels: \(k) from --labels, replacing the \(found?.count ?? 0) found in the file")
            return given
        }
        if let found {
            guard found.count == k else {
                throw CheckpointError(
                    .layout, file: source,
                    "the file's labels name \(found.count) classes but fc has \(k) outputs; pass --labels FILE")
            }
            return found
        }
        notes.append("labels: none in the file; using class_0 … class_\(k - 1) (pass --labels FILE to name them)")
        return (0..<k).map { "class_\($0)" }
    }

    /// A model from any weights file LeafLens reads, with the notes (for `--weights` in every command).
    public static func loadModel(
        contentsOf url: URL, options: CheckpointImportOptions = .init()
    ) throws(CheckpointError) -> (model: ResNet<Float>, notes: [String]) {
        let imported = try load(contentsOf: url, options: options)
        return (try imported.model(), imported.notes)
    }
}

/// Fuzzing entry point: decodes arbitrary bytes as a checkpoint and maps them; must never trap, hang or
/// allocate without bound, whatever the bytes. Uses small limits so each input stays cheap.
public func fuzzCheckpoint(_ data: Data) {
    let limits = CheckpointLimits(
        maxEntryBytes: 64 << 20, maxTotalBytes: 128 << 20, maxPickleBytes: 16 << 20, maxEntries: 10_000, maxDepth: 100,
        maxTensorElements: 32 << 20)
    _ = try? CheckpointImporter.load(data, source: "<fuzz>", options: CheckpointImportOptions(limits: limits))
    if let checkpoint = try? TorchCheckpoint.decode(data, source: "<fuzz>", limits: limits) {
        // Materialise every tensor reachable from a top-level dict as well, to exercise the strided decoder.
        if case .dict(let d) = checkpoint.root {
            for (_, value) in d.entries.prefix(64) {
                if case .tensor(let t) = value { _ = try? checkpoint.tensor(t, as: Float.self) }
            }
        }
    }
}
