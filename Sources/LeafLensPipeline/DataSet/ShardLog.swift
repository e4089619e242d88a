import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The record file of one shard, `OUT/records/shard-K-of-N.jsonl`, held under an exclusive lock.
///
/// - **Never a torn line.** Each record is appended with one `write` of the whole line and made durable
///   with `fsync` before `append` returns. A task killed mid-write (SIGKILL) can leave at most an
///   unterminated last line; opening the log again cuts it off before anything is appended.
/// - **One task per shard.** `open` takes `flock(LOCK_EX | LOCK_NB)` on `shard-K-of-N.lock`; a second task
///   given the same shard by mistake fails at once with `DataSetError.shardBusy` instead of interleaving
///   its files with the first one's. The kernel drops the lock when the process dies, however it dies.
/// - **Resumable.** `records` returns the last record per input; an image whose last record is `ok` and
///   whose files all exist is complete and is skipped by a rerun.
public final class ShardLog {
    public let shard: Shard
    public let url: URL
    public let lockURL: URL
    private let lockDescriptor: Int32
    private let descriptor: Int32
    /// The complete records read when the log was opened, in file order.
    public private(set) var existing: [ShardRecord]
    /// Lines that could not be decoded when the log was opened (counted, then ignored).
    public private(set) var unreadableLines: Int

    /// `records/` under the output folder.
    public static func recordsDirectory(_ output: URL) -> URL {
        output.appendingPathComponent("records", isDirectory: true)
    }

    public init(output: URL, shard: Shard) throws(DataSetError) {
        let directory = Self.recordsDirectory(output)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .io(directory.path, "cannot create the records folder: \(error.localizedDescription)")
        }
        self.shard = shard
        url = directory.appendingPathComponent(shard.fileStem + ".jsonl")
        lockURL = directory.appendingPathComponent(shard.fileStem + ".lock")

        let lock = Glibc.open(lockURL.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw .io(lockURL.path, String(cString: strerror(errno))) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            Glibc.close(lock)
            if busy { throw .shardBusy(shard.description, lockURL.path) }
            throw .io(lockURL.path, reason)
        }
        lockDescriptor = lock

        // Read what is there, cut off a torn last line, then append from the end.
        let fd = Glibc.open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(lock)
            throw .io(url.path, reason)
        }
        descriptor = fd
        let data = (try? Data(contentsOf: url)) ?? Data()
        var complete = data.count
        if let last = data.last, last != UInt8(ascii: "\n") {
            complete = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            if ftruncate(fd, off_t(complete)) != 0 {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                Glibc.close(lock)
                throw .io(url.path, "cannot cut off a torn last record: \(reason)")
            }
        }
        (existing, unreadableLines) = Self.decodeLines(data.prefix(complete))
        lseek(fd, 0, SEEK_END)
    }

    deinit {
        Glibc.close(descriptor)
        flock(lockDescriptor, LOCK_UN)
        Glibc.close(lockDescriptor)
    }

    /// Appends one record durably (one `write`, then `fsync`).
    public func append(_ record: ShardRecord) throws(DataSetError) {
        var line: Data
        do { line = try record.jsonLine() } catch {
            throw .io(url.path, "cannot encode the record of \(record.input): \(error)")
        }
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { raw in Glibc.write(descriptor, raw.baseAddress, raw.count) }
        guard written == line.count else {
            let reason =
                written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(line.count) bytes)"
            // Leave no partial line behind for the next reader.
            if written > 0, let end = try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int {
                ftruncate(descriptor, off_t(end - written))
            }
            throw .io(url.path, reason)
        }
        guard fsync(descriptor) == 0 else { throw .io(url.path, String(cString: strerror(errno))) }
        existing.append(record)
    }

    /// The last record per input, from the records read at open and appended since.
    public var latestByInput: [String: ShardRecord] {
        var latest: [String: ShardRecord] = [:]
        for record in existing { latest[record.input] = record }
        return latest
    }

    /// Complete lines of a JSONL file, decoded; undecodable lines are counted, not fatal.
    public static func decodeLines(_ data: Data) -> (records: [ShardRecord], unreadable: Int) {
        var records: [ShardRecord] = []
        var unreadable = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if let record = try? ShardRecord.decode(line: Data(line)) {
                records.append(record)
            } else {
                unreadable += 1
            }
        }
        return (records, unreadable)
    }

    /// Reads a record file without locking it (for `leaflens report`); a torn last line is ignored.
    public static func read(_ url: URL) throws(DataSetError) -> (records: [ShardRecord], unreadable: Int) {
        let (lines, unreadable) = try readLines(url)
        return (lines.map(\.record), unreadable)
    }

    /// As `read`, with each record's line as stored (the report copies it into `index.jsonl` as it is).
    static func readLines(
        _ url: URL
    ) throws(DataSetError) -> (lines: [(record: ShardRecord, line: Data)], unreadable: Int) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .io(url.path, error.localizedDescription) }
        let end =
            data.last == UInt8(ascii: "\n") ? data.count : (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0)
        var lines: [(record: ShardRecord, line: Data)] = []
        var unreadable = 0
        for line in data.prefix(end).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let bytes = Data(line)
            if let record = try? ShardRecord.decode(line: bytes) {
                lines.append((record, bytes))
            } else {
                unreadable += 1
            }
        }
        return (lines, unreadable)
    }
}

/// Errors of data-set runs and reports. Messages name the file.
public enum DataSetError: Error, Equatable, CustomStringConvertible {
    case io(String, String)
    case shardBusy(String, String)
    case invalid(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .shardBusy(let shard, let lock):
            "shard \(shard) is already being run by another task (lock held on \(lock)); two tasks must not share a shard"
        case .invalid(let message): message
        }
    }
}
