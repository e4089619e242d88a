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
/// A missing target directory is an error; nothing is created in that case.
public enum AtomicWrite {
    public static func write(_ data: Data, to url: URL) throws(FileFormatError) {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        // Hidden, unique, and recognisable if a crash ever leaves one behind.
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else {
            throw FileFormatError(file: target, problem: "cannot create a temporary file (\(errnoText()))")
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
            failure = "cannot write (\(errnoText()))"
        } else if fsync(fd) != 0 {
            failure = "cannot flush to disk (\(errnoText()))"
        }
        if close(fd) != 0, failure == nil {
            failure = "cannot close the temporary file (\(errnoText()))"
        }
        if failure == nil, rename(temporary, target) != 0 {
            failure = "cannot rename the temporary file into place (\(errnoText()))"
        }
        if let failure {
            unlink(temporary)
            throw FileFormatError(file: target, problem: failure)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
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
