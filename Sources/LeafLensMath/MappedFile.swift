import CLeafLensKernels
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file mapped read-only into memory, read by copying byte ranges out of it.
///
/// Mapping costs no copy up front: pages come from the page cache when first touched, so opening a
/// 45 MB weights file takes microseconds and only the ranges a caller copies are ever read. The price of
/// a mapping is that the file can change under it. Another process that truncates the file makes the
/// pages past the new end raise SIGBUS, which would kill the process; one that rewrites it in place
/// changes the bytes half-way through a read. So every `copy` is
/// * guarded: a SIGBUS inside it becomes a thrown error (`leaflens_guarded_copy`), and
/// * checked: the file's size, modification and status-change times must still be what they were when
///   it was mapped, before and after the copy (an `fstat` each; the file stays open for that).
/// A change is refused as "changed while being read" naming the file. One limit: a rewrite that keeps
/// the size and lands within the file system's timestamp granularity of the mapping (a few
/// milliseconds on Linux) goes unnoticed.
public final class MappedFile: @unchecked Sendable {  // safe: every stored property is immutable after init
    /// The file's path, for error messages.
    public let path: String
    /// The size when it was mapped.
    public let count: Int
    private let descriptor: Int32
    private let base: UnsafeRawPointer?
    private let mappedAt: Snapshot

    /// What must not change while the mapping is in use.
    private struct Snapshot: Equatable {
        var size: Int64
        var modified: timespec
        var changed: timespec

        init(_ info: stat) {
            size = Int64(info.st_size)
            modified = info.st_mtim
            changed = info.st_ctim
        }

        static func == (a: Snapshot, b: Snapshot) -> Bool {
            a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    /// Opens and maps the regular file at `url` (links followed); FIFOs, devices and directories are refused
    /// before anything is read, as `FileAccess.readRegularFile` refuses them.
    public init(_ url: URL) throws(FileFormatError) {
        path = url.path
        let path = self.path
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: path, problem: problem) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw fail(FileAccess.explainOpenFailure(path, errno: errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw fail("cannot be examined (\(FileAccess.describe(errno: code)))")
        }
        let kind = FileAccess.Kind(mode: info.st_mode)
        guard kind == .regularFile else {
            close(fd)
            throw fail(kind == .directory ? "is a directory, not a file" : "is \(kind.phrase), not a regular file")
        }
        let size = Int(info.st_size)
        var mapping: UnsafeRawPointer? = nil
        if size > 0 {
            let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let address, address != MAP_FAILED else {
                let code = errno
                close(fd)
                throw fail("cannot be mapped into memory (\(FileAccess.describe(errno: code)))")
            }
            mapping = UnsafeRawPointer(address)
        }
        descriptor = fd
        base = mapping
        count = size
        mappedAt = Snapshot(info)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
        close(descriptor)
    }

    /// Copies `range` (offsets into the file as mapped) to `destination`, which has room for
    /// `range.count` bytes. Throws, and leaves `destination` unspecified, when the range is outside the
    /// mapping or the file changed (see the type's documentation).
    public func copy(_ range: Range<Int>, to destination: UnsafeMutableRawPointer) throws(FileFormatError) {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw FileFormatError(
                file: path,
                problem: "bytes \(range.lowerBound)..<\(range.upperBound) lie outside the \(count)-byte file")
        }
        guard !range.isEmpty, let base else { return }
        try checkUnchanged()
        guard Self.guardedCopy(destination, base + range.lowerBound, range.count) else {
            throw changed("was cut short while being read (the mapped pages past its new end are gone)")
        }
        try checkUnchanged()
    }

    /// The bytes in `range`, copied.
    public func bytes(_ range: Range<Int>) throws(FileFormatError) -> Data {
        var data = Data(count: range.count)
        var failure: FileFormatError?
        data.withUnsafeMutableBytes { raw in
            guard let address = raw.baseAddress else { return }
            do throws(FileFormatError) { try copy(range, to: address) } catch { failure = error }
        }
        if let failure { throw failure }
        return data
    }

    /// Throws unless size and times are as when the file was mapped.
    public func checkUnchanged() throws(FileFormatError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw FileFormatError(file: path, problem: "cannot be examined (\(FileAccess.describe(errno: errno)))")
        }
        let now = Snapshot(info)
        guard now == mappedAt else {
            throw changed(
                now.size == mappedAt.size
                    ? "was modified while being read"
                    : "was resized from \(mappedAt.size) to \(now.size) bytes while being read")
        }
    }

    /// memcpy that returns false instead of dying of SIGBUS (see `leaflens_guarded_copy`).
    static func guardedCopy(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) -> Bool {
        leaflens_guarded_copy(destination, source, count) == 0
    }

    private func changed(_ what: String) -> FileFormatError {
        FileFormatError(file: path, problem: "\(what); it must not change while LeafLens loads it — run again")
    }
}
