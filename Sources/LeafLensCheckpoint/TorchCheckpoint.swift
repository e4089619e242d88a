import Foundation
import LeafLensMath

/// A `torch.save` file, decoded without running anything from it: the unpickled object graph (`root`) with
/// tensors as references into the archive's storages, read when `tensor(_:)` asks for them.
///
///     let checkpoint = try TorchCheckpoint.read(URL(fileURLWithPath: "model.pth"))
///     if case .dict(let d) = checkpoint.root { print(d.stringKeys) }   // e.g. ["epoch", "model_state_dict", …]
///
/// Only the zip format (PyTorch ≥ 1.6) is read; the legacy format is refused with the command that
/// re-saves it. Storages are read lazily, so an optimizer's moments in the same file cost nothing unless used.
public final class TorchCheckpoint {
    public let root: PickleValue
    public let source: String
    /// The archive's top folder (`archive`, or the file stem for older torch versions).
    public let archiveFolder: String
    /// True if the `byteorder` record says `big`.
    public let isBigEndian: Bool
    let archive: TorchArchive
    private var materialisedElements = 0

    /// The first bytes of the legacy (pre-1.6) format: PROTO 2, LONG1 of torch's magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [
        0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19,
    ]

    /// The one-line command that re-saves a legacy or otherwise unreadable file in the zip format.
    public static func resaveCommand(_ path: String) -> String {
        "python3 -c \"import torch; torch.save(torch.load('\(path)', map_location='cpu', weights_only=True), '\(path).zip.pth')\""
    }

    public static func read(_ url: URL, limits: CheckpointLimits = .default) throws(CheckpointError) -> TorchCheckpoint
    {
        try decode(try readCheckpointFile(url), source: url.path, limits: limits)
    }

    /// Decodes checkpoint bytes; `source` names them in errors.
    public static func decode(
        _ data: Data, source: String = "<memory>", limits: CheckpointLimits = .default
    ) throws(CheckpointError) -> TorchCheckpoint {
        let head = [UInt8](data.prefix(512))
        if head.starts(with: legacyMagic) || (head.count > 262 && Array(head[257..<262]) == Array("ustar".utf8)) {
            throw CheckpointError(
                .legacyFormat, file: source,
                "this is PyTorch's legacy (pre-1.6, non-zip) format, which LeafLens does not read; re-save it with: "
                    + resaveCommand(source))
        }
        guard head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) else {
            let shown = head.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
            throw CheckpointError(
                .unknownFormat, file: source,
                "not a PyTorch checkpoint (a torch.save zip) — it starts with bytes \(shown)")
        }
        let archive = try TorchArchive(data: data, source: source, limits: limits)
        let pickle = try archive.pickleBytes()
        var unpickler = RestrictedUnpickler(bytes: pickle, source: source, limits: limits) {
            id throws(CheckpointError) in
            try Self.storage(forPersistentID: id, in: archive)
        }
        let root = try unpickler.load()
        return TorchCheckpoint(root: root, source: source, archive: archive)
    }

    private init(root: PickleValue, source: String, archive: TorchArchive) {
        self.root = root
        self.source = source
        self.archive = archive
        self.archiveFolder = archive.top
        self.isBigEndian = archive.bigEndian
    }

    /// `('storage', StorageClass, key, location, numel)` → a storage whose record exists in this archive.
    static func storage(
        forPersistentID id: PickleTuple, in archive: TorchArchive
    ) throws(CheckpointError) -> StorageReference {
        func fail(_ problem: String) -> CheckpointError {
            CheckpointError(.invalidTensor, file: archive.source, problem)
        }
        let items = id.items
        let tag: String? =
            switch items.first {
            case .string(let s): s
            case .bytes(let b): String(decoding: b, as: UTF8.self)
            default: nil
            }
        guard tag == "storage", items.count == 5 else {
            throw fail(
                "persistent id \(items.first?.description ?? "()") is not a ('storage', type, key, location, size) tuple"
            )
        }
        guard case .global(let type) = items[1], type.module == "torch" || type.module == "torch.storage",
            let dtype = TorchDType.ofStorageClass(type.name)
        else {
            throw CheckpointError(
                .unsupportedType, file: archive.source, "storage type \(items[1].description) is not supported")
        }
        guard let key = items[2].stringValue, !key.isEmpty, key.count <= 64,
            key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), key.allSatisfy(\.isASCII)
        else {
            throw fail(
                "persistent id names storage \(items[2].description), which is not a record name inside the archive")
        }
        guard let count = items[4].intValue, count >= 0 else {
            throw fail("storage '\(key)' has size \(items[4].description)")
        }
        guard let size = archive.recordSize("data/\(key)") else {
            throw fail(
                "persistent id names storage '\(key)', but the archive has no record '\(archive.top)/data/\(key)'")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, needed <= size else {
            throw fail(
                "storage '\(key)' declares \(count) \(dtype.name) elements (\(overflow ? "overflow" : "\(needed) bytes")) but its record holds \(size) bytes"
            )
        }
        return StorageReference(key: key, dtype: dtype, elementCount: count, location: items[3].stringValue ?? "")
    }

    /// The tensor's values in C order, converted to `T` (F16/BF16 exactly widened; integers converted).
    public func tensor<T: TensorScalar>(
        _ reference: TensorReference, as _: T.Type = T.self
    ) throws(CheckpointError) -> Tensor<T> {
        let count = reference.elementCount
        guard count <= archive.limits.maxTensorElements - materialisedElements else {
            throw CheckpointError(
                .sizeLimit, file: source,
                "materialising more than \(archive.limits.maxTensorElements) tensor elements from one checkpoint")
        }
        materialisedElements += count
        let bytes = try archive.storageBytes(reference.storage)
        let values: [T] = bytes.withUnsafeBytes { StridedDecoder.decode($0, reference, bigEndian: isBigEndian) }
        return Tensor(uncheckedShape: reference.shape, storage: values)  // count == product(shape), checked in `validated`
    }
}

/// Reads a file into memory, with errors naming it. Not memory-mapped: the unpickler and the zip reader
/// touch the bytes in many places, and a mapped file truncated under them would raise SIGBUS there
/// (safetensors, read in a few large copies, is mapped: `MappedFile`).
func readCheckpointFile(_ url: URL) throws(CheckpointError) -> Data {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CheckpointError(.unknownFormat, file: url.path, "no such file")
    }
    do {
        return try FileAccess.readRegularFile(url)
    } catch {
        throw CheckpointError(.unknownFormat, file: url.path, "cannot read the file (\(error.problem))")
    }
}
