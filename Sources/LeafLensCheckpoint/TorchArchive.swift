import CLeafLensZlib
import Foundation
import ZIPFoundation

/// The zip container `torch.save` writes since PyTorch 1.6:
///
///     <top>/data.pkl          the pickled object (protocol 2 by default)
///     <top>/data/<key>        one record per storage, raw little- (or big-) endian elements
///     <top>/byteorder         "little" or "big" (absent in files from before torch 1.10: little)
///     <top>/version, <top>/.format_version, <top>/.storage_alignment, <top>/.data/serialization_id
///
/// `<top>` is `archive` for files saved to a stream, or the file's stem for older torch versions; it is
/// found from `data.pkl`. `ZipPreflight` checks the whole directory first. Stored entries (all that torch
/// writes) are then slices of the file read into memory, checked against their CRC-32 with zlib — no copy;
/// deflated entries (a re-zipped checkpoint) are inflated by ZIPFoundation, bounded by their declared size.
/// (Measured on a 95 MB resnet50 checkpoint: reading storages through ZIPFoundation's extract made two
/// extra copies of every byte plus its Swift CRC loop, ≈ 1 s; the slices take a CRC pass.)
final class TorchArchive {
    let source: String
    let top: String
    let limits: CheckpointLimits
    let bigEndian: Bool
    private let archive: Archive
    private let data: Data
    private var entries: [String: Entry] = [:]
    private var records: [String: ZipPreflight.Record] = [:]
    private var bytesRead = 0
    private var storageCache: [String: Data] = [:]

    init(data: Data, source: String, limits: CheckpointLimits) throws(CheckpointError) {
        self.source = source
        self.limits = limits
        self.data = data
        let preflight = try ZipPreflight.check(data, source: source, limits: limits)
        for record in preflight.records where records[record.path] == nil { records[record.path] = record }
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw CheckpointError(.malformedArchive, file: source, "not a readable zip archive (\(error))")
        }
        for entry in archive where entries[entry.path] == nil { entries[entry.path] = entry }
        guard entries.count == Set(preflight.records.map(\.path)).count else {
            throw CheckpointError(.malformedArchive, file: source, "the zip directory could not be read completely")
        }
        let pickles = entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }.sorted()
        guard let pickle = pickles.first else {
            if entries.keys.contains(where: { $0.hasSuffix("/constants.pkl") || $0.contains("/code/") }) {
                throw CheckpointError(
                    .torchScript, file: source,
                    "this is a TorchScript archive (torch.jit.save); re-save its weights with: python3 -c \"import torch; "
                        + "torch.save(torch.jit.load('\(source)').state_dict(), 'weights.pth')\"")
            }
            throw CheckpointError(
                .malformedArchive, file: source,
                "a zip archive without <top>/data.pkl, so not a torch.save file (entries: \(entries.keys.sorted().prefix(5).joined(separator: ", ")))"
            )
        }
        top = String(pickle.dropLast("/data.pkl".count))
        var order = "little"
        if entries["\(top)/byteorder"] != nil {
            let marker = try TorchArchive.read(
                archive, entries["\(top)/byteorder"], record: records["\(top)/byteorder"], data: data, cap: 16,
                source: source, name: "byteorder")
            order = String(decoding: marker, as: UTF8.self)
            guard order == "little" || order == "big" else {
                throw CheckpointError(
                    .malformedArchive, file: source, "byteorder record says '\(order.prefix(16))', not little or big")
            }
        }
        bigEndian = order == "big"
        if entries.keys.contains(where: { $0.hasPrefix("\(top)/code/") }) || entries["\(top)/constants.pkl"] != nil {
            throw CheckpointError(
                .torchScript, file: source,
                "this is a TorchScript archive (torch.jit.save); re-save its weights with: python3 -c \"import torch; "
                    + "torch.save(torch.jit.load('\(source)').state_dict(), 'weights.pth')\"")
        }
    }

    /// `<top>/data.pkl`.
    func pickleBytes() throws(CheckpointError) -> [UInt8] {
        [UInt8](try record("data.pkl", cap: limits.maxPickleBytes))
    }

    /// The bytes of storage `key`, which must be `byteCount` long or longer (torch pads nothing; a longer
    /// record is accepted, a shorter one refused). Read once, then shared by every tensor viewing it.
    func storageBytes(_ storage: StorageReference) throws(CheckpointError) -> Data {
        if let cached = storageCache[storage.key] { return cached }
        let bytes = try record("data/\(storage.key)", cap: limits.maxEntryBytes)
        let (needed, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteSize)
        guard !overflow, bytes.count >= needed else {
            throw CheckpointError(
                .invalidTensor, file: source,
                "storage '\(storage.key)' declares \(storage.elementCount) \(storage.dtype.name) elements but its record holds \(bytes.count) bytes"
            )
        }
        storageCache[storage.key] = bytes
        return bytes
    }

    /// Whether a storage record exists (for persistent ids), and its size.
    func recordSize(_ name: String) -> Int? {
        entries["\(top)/\(name)"].map { Int(clamping: $0.uncompressedSize) }
    }

    private func record(_ name: String, cap: Int) throws(CheckpointError) -> Data {
        guard let entry = entries["\(top)/\(name)"] else {
            throw CheckpointError(.invalidTensor, file: source, "the archive has no record '\(top)/\(name)'")
        }
        let size = Int(clamping: entry.uncompressedSize)
        guard size <= limits.maxTotalBytes - bytesRead else {
            throw CheckpointError(
                .sizeLimit, file: source,
                "reading '\(name)' would exceed the limit of \(limits.maxTotalBytes) bytes read from one archive")
        }
        let bytes = try Self.read(
            archive, entry, record: records["\(top)/\(name)"], data: data, cap: cap, source: source, name: name)
        bytesRead += bytes.count
        return bytes
    }

    /// One entry's bytes: refused before reading if it declares more than `cap`, and while reading if it
    /// inflates past its declared size; the CRC-32 must match.
    private static func read(
        _ archive: Archive, _ entry: Entry?, record: ZipPreflight.Record?, data: Data, cap: Int, source: String,
        name: String
    ) throws(CheckpointError) -> Data {
        guard let entry, let record else {
            throw CheckpointError(.invalidTensor, file: source, "the archive has no record '\(name)'")
        }
        let declared = Int(clamping: entry.uncompressedSize)
        guard declared <= cap, record.uncompressedSize <= cap else {
            throw CheckpointError(
                .sizeLimit, file: source, "'\(entry.path)' declares \(declared) bytes, more than the limit of \(cap)")
        }
        if record.method == 0 {
            // Stored: the bytes are in the file as they are (ZipPreflight checked the range).
            let start = data.startIndex + record.dataStart
            let slice = data[start..<(start + record.uncompressedSize)]
            let checksum = slice.withUnsafeBytes { raw in
                crc32(0, raw.bindMemory(to: UInt8.self).baseAddress, UInt32(raw.count))
            }
            guard UInt32(truncatingIfNeeded: checksum) == record.crc else {
                throw CheckpointError(
                    .malformedArchive, file: source, "'\(entry.path)' fails its CRC-32 check (damaged archive)")
            }
            return slice
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(declared)
        var overflowed = false
        var checksum: UInt = 0
        do {
            // The CRC is zlib's (ZIPFoundation's on Linux is a byte-at-a-time Swift loop, ~10× slower).
            _ = try archive.extract(entry, bufferSize: max(1, min(declared, 8 << 20)), skipCRC32: true) { chunk in
                guard chunk.count <= declared - bytes.count else {
                    overflowed = true
                    throw CheckpointError(.sizeLimit, file: source, "")
                }
                chunk.withUnsafeBytes { raw in
                    checksum = crc32(checksum, raw.bindMemory(to: UInt8.self).baseAddress, UInt32(raw.count))
                }
                bytes.append(contentsOf: chunk)
            }
        } catch {
            if overflowed {
                throw CheckpointError(
                    .sizeLimit, file: source,
                    "'\(entry.path)' inflates beyond the \(declared) bytes it declares (zip bomb)")
            }
            throw CheckpointError(.malformedArchive, file: source, "cannot read '\(entry.path)' (\(error))")
        }
        guard bytes.count == declared else {
            throw CheckpointError(
                .malformedArchive, file: source,
                "'\(entry.path)' holds \(bytes.count) bytes but declares \(declared) (truncated)")
        }
        guard UInt32(truncatingIfNeeded: checksum) == entry.checksum else {
            throw CheckpointError(
                .malformedArchive, file: source, "'\(entry.path)' fails its CRC-32 check (damaged archive)")
        }
        return Data(bytes)
    }
}
