import Foundation

/// A structural check of a zip archive's directory before ZIPFoundation reads it.
///
/// ZIPFoundation trusts the directory: a ZIP64 offset or size above `Int64.max` traps in its `off_t`/`Int64`
/// conversions, and an in-memory archive whose local header points past the end reads with a negative
/// length. So every record is checked here first, against the real byte count:
///
///     end of central directory (EOCD, or its ZIP64 form)  → directory offset + size inside the file
///     each central-directory record (46 bytes + name + extra + comment, ZIP64 extra field honoured)
///       → local header at its offset has the right signature, and header + name + extra + data ends
///         inside the file; method is stored (0) or deflate (8); a stored entry's two sizes agree; a
///         deflated entry claims no more than deflate's 1032 : 1 ratio allows (a zip bomb's lie)
///
/// It returns each entry's name, sizes, data offset and CRC-32.
struct ZipPreflight {
    struct Record: Equatable {
        let path: String
        let method: UInt16
        let compressedSize: Int
        let uncompressedSize: Int
        /// Where the entry's (compressed) bytes start in the file, and their CRC-32 per the directory.
        let dataStart: Int
        let crc: UInt32
    }

    let records: [Record]

    static func check(_ data: Data, source: String, limits: CheckpointLimits) throws(CheckpointError) -> ZipPreflight {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(.malformedArchive, file: source, problem) }
        let bytes = data
        let count = bytes.count
        func u16(_ at: Int) -> Int { Int(bytes[bytes.startIndex + at]) | Int(bytes[bytes.startIndex + at + 1]) << 8 }
        func u32(_ at: Int) -> UInt64 { UInt64(u16(at)) | UInt64(u16(at + 2)) << 16 }
        func u64(_ at: Int) -> UInt64 { u32(at) | u32(at + 4) << 32 }
        /// A 64-bit field as an Int bounded by the file size (anything larger is a lie).
        func bounded(_ value: UInt64, _ what: String) throws(CheckpointError) -> Int {
            guard value <= UInt64(Int.max) else { throw fail("\(what) \(value) is impossible") }
            return Int(value)
        }

        // End of central directory: 22 bytes + comment, within the last 64 KiB + 22 bytes.
        guard count >= 22 else {
            throw fail("the zip archive is \(count) bytes, too short to be complete (truncated?)")
        }
        // ZIPFoundation takes the signature nearest the end, whatever its comment length says, so this
        // check takes the same one and refuses it when its comment does not end the file (a signature
        // inside a comment would otherwise send ZIPFoundation to a directory nothing here checked).
        var eocd = -1
        var at = count - 22
        let lowest = max(0, count - 22 - 65_535)
        while at >= lowest {
            if u32(at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else {
            throw fail("no end-of-central-directory record: the zip archive is truncated or damaged")
        }
        guard eocd + 22 + u16(eocd + 20) == count else {
            throw fail(
                "the end-of-central-directory record at \(eocd) declares a \(u16(eocd + 20))-byte comment, but the file ends \(count - eocd - 22) bytes after it (damaged archive)"
            )
        }
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else { throw fail("multi-disk zip archives are not supported") }
        var entryCount = u16(eocd + 10)
        var directorySize = Int(u32(eocd + 12))
        var directoryOffset = Int(u32(eocd + 16))
        let directoryEnd: Int
        // ZIP64: a locator (20 bytes) right before the EOCD points at the ZIP64 EOCD record (56 bytes).
        // ZIPFoundation uses the record only where and as it reads it — right before the locator (not at
        // the locator's offset), after at least one byte of file, needing version 4.5 (45) — and
        // otherwise falls back to the plain EOCD without a word. Any record this check would read and
        // ZIPFoundation would not is refused, so both always walk the same directory (two fuzzed files
        // got past a looser check, a locator pointing elsewhere and a record needing version 13, and
        // trapped inside ZIPFoundation).
        if eocd >= 20, u32(eocd - 20) == 0x0706_4B50 {
            let locator = eocd - 20
            let recordOffset = try bounded(u64(locator + 8), "ZIP64 end-of-directory offset")
            guard locator > 56, recordOffset == locator - 56, u32(recordOffset) == 0x0606_4B50 else {
                throw fail("the ZIP64 end-of-central-directory record is missing or misplaced")
            }
            guard u16(recordOffset + 14) >= 45 else {
                throw fail(
                    "the ZIP64 end-of-central-directory record needs version \(u16(recordOffset + 14)), not 45 (4.5, ZIP64): damaged archive"
                )
            }
            entryCount = try bounded(u64(recordOffset + 32), "ZIP64 entry count")
            directorySize = try bounded(u64(recordOffset + 40), "ZIP64 directory size")
            directoryOffset = try bounded(u64(recordOffset + 48), "ZIP64 directory offset")
            directoryEnd = recordOffset
        } else {
            directoryEnd = eocd
        }
        guard directoryOffset <= directoryEnd, directorySize <= directoryEnd - directoryOffset else {
            throw fail(
                "the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the \(count)-byte file (truncated?)"
            )
        }
        guard entryCount <= limits.maxEntries else {
            throw CheckpointError(
                .sizeLimit, file: source,
                "the zip archive lists \(entryCount) entries, more than the limit of \(limits.maxEntries)")
        }

        var records: [Record] = []
        records.reserveCapacity(entryCount)
        var cursor = directoryOffset
        let end = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard cursor + 46 <= end, u32(cursor) == 0x0201_4B50 else {
                throw fail("central-directory record \(index) of \(entryCount) is missing or damaged")
            }
            let method = UInt16(u16(cursor + 10))
            let crc = UInt32(u32(cursor + 16))
            var compressed = u32(cursor + 20), uncompressed = u32(cursor + 24)
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            var localOffset = u32(cursor + 42)
            let recordEnd = cursor + 46 + nameLength + extraLength + commentLength
            guard recordEnd <= end else { throw fail("central-directory record \(index) runs past the directory") }
            let path = String(
                decoding: bytes[(bytes.startIndex + cursor + 46)..<(bytes.startIndex + cursor + 46 + nameLength)],
                as: UTF8.self)
            // ZIP64 extended information (id 1): the 64-bit forms of the fields saturated at 0xFFFFFFFF, in order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), size = u16(extra + 2)
                guard extra + 4 + size <= extraEnd else { throw fail("'\(path)': damaged extra field") }
                if id == 1 {
                    var field = extra + 4
                    func next() throws(CheckpointError) -> UInt64 {
                        guard field + 8 <= extra + 4 + size else { throw fail("'\(path)': short ZIP64 extra field") }
                        defer { field += 8 }
                        return u64(field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                extra += 4 + size
            }
            let cSize = try bounded(compressed, "'\(path)' compressed size")
            let uSize = try bounded(uncompressed, "'\(path)' uncompressed size")
            let local = try bounded(localOffset, "'\(path)' local header offset")
            guard local <= count - 30, u32(local) == 0x0403_4B50 else {
                throw fail("'\(path)': its local header at \(local) is missing (truncated or damaged archive)")
            }
            let dataStart = local + 30 + u16(local + 26) + u16(local + 28)
            guard dataStart <= count, cSize <= count - dataStart else {
                throw fail(
                    "'\(path)': \(cSize) bytes of data at \(dataStart) run past the end of the \(count)-byte file (truncated?)"
                )
            }
            switch method {
            case 0:
                guard cSize == uSize else {
                    throw fail("'\(path)' is stored uncompressed but declares \(cSize) ≠ \(uSize) bytes")
                }
            case 8:
                guard uSize / 1032 <= cSize else {
                    throw CheckpointError(
                        .sizeLimit, file: source,
                        "'\(path)' claims to inflate \(cSize) bytes to \(uSize), beyond deflate's 1032:1 limit (zip bomb)"
                    )
                }
            default:
                throw fail("'\(path)' uses compression method \(method); only stored and deflate are supported")
            }
            records.append(
                Record(
                    path: path, method: method, compressedSize: cSize, uncompressedSize: uSize, dataStart: dataStart,
                    crc: crc))
            cursor = recordEnd
        }
        return ZipPreflight(records: records)
    }
}
