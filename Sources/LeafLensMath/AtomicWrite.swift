import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old content or the complete new content, never a
/// partial file: the bytes go to a temporary file in the target's directory (same file system, so
/// `rename(2)` is atomic), are flushed with `fsync`, and the temporary file is renamed over the
/// target. On any failure the temporary file is removed and the target is left untouched.
///
/// Temporary names are short (`.leaflens-<pid>-<16 hex>.tmp`, see `TemporaryFiles`), so a target name
/// of up to 255 bytes works; the temporary is registered so that SIGINT/SIGTERM remove it (once the CLI
/// has called `TemporaryFiles.installSignalHandlers()`). For several files that must appear together,
/// use `AtomicFileSet`.
///
/// A missing target directory is an error; nothing is created in that case.
public enum AtomicWrite {
    public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        guard url.lastPathComponent.utf8.count <= 255 else {
            throw FileFormatError(
                file: target,
                problem:
                    "file name is \(url.lastPathComponent.utf8.count) bytes, longer than the 255-byte limit (NAME_MAX)")
        }
        let temporary = (directory as NSString).appendingPathComponent(TemporaryFiles.makeName())
        let token = TemporaryFiles.shared.register(temporary)
        defer { TemporaryFiles.shared.unregister(token) }
        do {
            // Under the registry's lock, so that a signal's clean-up never races with the file's creation.
            try TemporaryFiles.shared.step { () throws(FileFormatError) in _ = try writeNewFile(data, at: temporary) }
        } catch {
            throw FileFormatError(file: target, problem: error.problem)
        }
        if rename(temporary, target) != 0 {
            let code = errno
            unlink(temporary)
            var reason = FileAccess.describe(errno: code)
            if code == EISDIR || code == ENOTEMPTY || code == EEXIST {
                reason = "a directory occupies the name (\(reason))"
            }
            throw FileFormatError(file: target, problem: "cannot rename the temporary file into place: \(reason)")
        }
    }

    /// Creates `path` exclusively, writes `data`, flushes and closes it; on failure removes it again.
    /// Returns the new file's device and inode.
    static func writeNewFile(_ data: Data, at path: String) throws(FileFormatError) -> FileAccess.Identity {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            let code = errno
            let directory = (path as NSString).deletingLastPathComponent
            let reason =
                code == ENOENT || code == ENOTDIR || code == ELOOP
                ? "the directory \(directory) \(FileAccess.explainOpenFailure(directory, errno: code))"
                : FileAccess.describe(errno: code)
            throw FileFormatError(file: path, problem: "cannot create a temporary file (\(reason))")
        }
        var failure: String?
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = systemWrite(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        if !written {
            failure = "cannot write (\(FileAccess.describe(errno: errno)))"
        } else if fsync(fd) != 0 {
            failure = "cannot flush to disk (\(FileAccess.describe(errno: errno)))"
        }
        var info = stat()
        if failure == nil, fstat(fd, &info) != 0 {
            failure = "cannot examine the temporary file (\(FileAccess.describe(errno: errno)))"
        }
        if close(fd) != 0, failure == nil {
            failure = "cannot close the temporary file (\(FileAccess.describe(errno: errno)))"
        }
        if let failure {
            unlink(path)
            throw FileFormatError(file: path, problem: failure)
        }
        return FileAccess.Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// POSIX `write(2)`, named apart from `AtomicWrite.write` so the call inside it is unambiguous.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
