import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system access that says what the operating system said.
///
/// Foundation's errors lose the cause on Linux (`/dev/zero` reads as "You don't have permission", a
/// symlink loop as "no such file", a path under a regular file as "NSCocoaErrorDomain error 512"), so
/// LeafLens's readers and writers call POSIX directly and turn `errno` into `FileFormatError` problems
/// such as "too many levels of symbolic links (ELOOP)" or "is a FIFO, not a regular file".
public enum FileAccess {
    /// What a path names, from `lstat` (or `stat` when following links).
    public enum Kind: Sendable, Equatable {
        case regularFile, directory, symbolicLink, fifo, characterDevice, blockDevice, socket, unknown

        /// "a FIFO", "a directory", …, for messages.
        public var phrase: String {
            switch self {
            case .regularFile: "a regular file"
            case .directory: "a directory"
            case .symbolicLink: "a symbolic link"
            case .fifo: "a FIFO (named pipe)"
            case .characterDevice: "a character device"
            case .blockDevice: "a block device"
            case .socket: "a socket"
            case .unknown: "not a regular file"
            }
        }

        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regularFile
            case S_IFDIR: self = .directory
            case S_IFLNK: self = .symbolicLink
            case S_IFIFO: self = .fifo
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFSOCK: self = .socket
            default: self = .unknown
            }
        }
    }

    /// A file's identity: device and inode.
    public struct Identity: Hashable, Sendable {
        public var device: UInt64
        public var inode: UInt64
    }

    /// The kind and identity of `path` without following a final symbolic link; nil if absent
    /// (or unreachable).
    /// True when nothing at all is at `path` (ENOENT from lstat); a dangling link, a loop or a parent that
    /// is a file is not "missing" — `readRegularFile` explains those.
    public static func isMissing(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) != 0 && errno == ENOENT
    }

    public static func status(_ path: String, followingLinks: Bool = false) -> (kind: Kind, identity: Identity)? {
        var info = stat()
        let result = followingLinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { return nil }
        return (Kind(mode: info.st_mode), Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }

    /// `errno` as words with its symbolic name, e.g. "too many levels of symbolic links (ELOOP)".
    public static func describe(errno code: Int32) -> String {
        let names: [Int32: String] = [
            ENOENT: "ENOENT", ENOTDIR: "ENOTDIR", ELOOP: "ELOOP", EACCES: "EACCES", EPERM: "EPERM", EROFS: "EROFS",
            ENOSPC: "ENOSPC", EDQUOT: "EDQUOT", ENAMETOOLONG: "ENAMETOOLONG", EISDIR: "EISDIR", EEXIST: "EEXIST",
            EXDEV: "EXDEV", EBUSY: "EBUSY", EIO: "EIO", EMFILE: "EMFILE", ENFILE: "ENFILE", ENOTEMPTY: "ENOTEMPTY",
            EFBIG: "EFBIG", ENXIO: "ENXIO", EINVAL: "EINVAL", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        ]
        let text = String(cString: strerror(code))
        let words = text.prefix(1).lowercased() + text.dropFirst()
        return names[code].map { "\(words) (\($0))" } ?? "\(words) (errno \(code))"
    }

    /// Why `path` cannot be opened, in words: `errno` refined by looking at the path (a dangling
    /// symbolic link, a parent that is a file).
    static func explainOpenFailure(_ path: String, errno code: Int32) -> String {
        switch code {
        case ENOENT:
            if let (kind, _) = status(path), kind == .symbolicLink {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                return "is a dangling symbolic link (to \(target), which does not exist)"
            }
            return "file does not exist"
        case ENOTDIR:
            if let parent = firstNonDirectoryAncestor(of: path) {
                return
                    "cannot be reached: \(parent) is \(status(parent, followingLinks: true)?.kind.phrase ?? "not a directory"), not a directory"
            }
            return describe(errno: code)
        case ELOOP:
            return "cannot be resolved: too many levels of symbolic links (ELOOP; a symbolic link loop)"
        default:
            return describe(errno: code)
        }
    }

    /// The first proper ancestor of `path` that exists but is not a directory (after following links).
    static func firstNonDirectoryAncestor(of path: String) -> String? {
        var components = (path as NSString).pathComponents
        guard components.count > 1 else { return nil }
        components.removeLast()
        var prefix = ""
        for component in components {
            prefix = prefix.isEmpty ? component : (prefix as NSString).appendingPathComponent(component)
            guard let (kind, _) = status(prefix, followingLinks: true) else { return nil }
            if kind != .directory { return prefix }
        }
        return nil
    }

    // MARK: Reading

    /// The bytes of the regular file at `url` (symbolic links followed). FIFOs, devices, sockets and
    /// directories are refused before anything is read (so `/dev/zero` or a FIFO never hangs a run).
    public static func readRegularFile(_ url: URL) throws(FileFormatError) -> Data {
        let path = url.path
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: path, problem: problem) }
        // O_NONBLOCK: opening a FIFO without a writer must not block; it is refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw fail(explainOpenFailure(path, errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("cannot be examined (\(describe(errno: errno)))") }
        let kind = Kind(mode: info.st_mode)
        guard kind == .regularFile else {
            throw fail(kind == .directory ? "is a directory, not a file" : "is \(kind.phrase), not a regular file")
        }
        let size = Int(info.st_size)
        var data = Data(count: size)
        var filled = 0
        let ok = data.withUnsafeMutableBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            while filled < size {
                let n = read(fd, base + filled, size - filled)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                if n == 0 { break }
                filled += n
            }
            return true
        }
        guard ok else { throw fail("cannot be read (\(describe(errno: errno)))") }
        if filled < size { data.removeSubrange(filled...) }  // the file shrank while being read
        return data
    }

    // MARK: Directories

    /// Creates `url` and any missing parents (mode 0777 before umask); existing directories are fine.
    public static func createDirectory(_ url: URL) throws(FileFormatError) {
        let path = url.standardizedFileURL.path
        var missing: [String] = []
        var probe = path
        while !probe.isEmpty, probe != "/" {
            if let (kind, _) = status(probe, followingLinks: true) {
                guard kind == .directory else {
                    throw FileFormatError(
                        file: path,
                        problem: probe == path
                            ? "is \(kind.phrase), not a directory"
                            : "cannot be created: \(probe) is \(kind.phrase), not a directory")
                }
                break
            }
            if status(probe)?.kind == .symbolicLink {
                throw FileFormatError(
                    file: path,
                    problem: probe == path
                        ? explainOpenFailure(probe, errno: ENOENT)
                        : "cannot be created: \(probe) \(explainOpenFailure(probe, errno: ENOENT))")
            }
            missing.append(probe)
            probe = (probe as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() where mkdir(directory, 0o777) != 0 && errno != EEXIST {
            let code = errno
            throw FileFormatError(
                file: path,
                problem:
                    "cannot create the directory\(directory == path ? "" : " \(directory)") (\(explainOpenFailure(directory, errno: code)))"
            )
        }
    }

    /// Checks, before any work starts, that `url` is a directory LeafLens can write into, or one it can
    /// create: an existing directory must be writable, a missing one must have a nearest existing
    /// ancestor that is a writable directory. Nothing is created. Stale temporaries of LeafLens's own
    /// naming pattern inside an existing directory are removed (see `TemporaryFiles.sweepStale`).
    public static func checkOutputDirectory(_ url: URL) throws(FileFormatError) {
        let path = url.standardizedFileURL.path
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: path, problem: problem) }
        var probe = path
        while true {
            if let (kind, _) = status(probe, followingLinks: true) {
                guard kind == .directory else {
                    throw fail(
                        probe == path
                            ? "is \(kind.phrase), not a directory"
                            : "cannot be created: \(probe) is \(kind.phrase), not a directory")
                }
                if access(probe, W_OK | X_OK) != 0 {
                    let reason = describe(errno: errno)
                    throw fail(
                        probe == path ? "is not writable (\(reason))" : "cannot be created in \(probe) (\(reason))")
                }
                if probe == path { TemporaryFiles.sweepStale(in: url) }
                return
            }
            if status(probe) != nil {  // exists as a link that does not resolve
                var info = stat()
                let code = stat(probe, &info) == 0 ? 0 : errno
                let reason = explainOpenFailure(probe, errno: code)
                throw fail(probe == path ? reason : "cannot be created: \(probe) \(reason)")
            }
            let parent = (probe as NSString).deletingLastPathComponent
            if parent == probe || parent.isEmpty { throw fail("cannot be created (no existing parent directory)") }
            probe = parent
        }
    }
}
