import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system operations `AtomicFileSet` needs, so that tests can inject a failure at any step
/// (a write, a rename, a full disk) without touching a real disk. `POSIXFileSystem` is the real one.
public protocol CommitFileSystem: Sendable {
    /// Creates `path` and missing parents; an existing directory is fine.
    func createDirectory(_ path: String) throws(FileFormatError)
    /// Creates `path` (which must not exist), writes `data`, flushes it to disk and closes it;
    /// returns the new file's identity.
    func writeNewFile(_ data: Data, at path: String) throws(FileFormatError) -> FileAccess.Identity
    /// The kind and identity of `path` (a final symbolic link not followed), nil if absent.
    func status(_ path: String) -> (kind: FileAccess.Kind, identity: FileAccess.Identity)?
    /// A second name `new` for the file `existing` (a hard link).
    func link(_ existing: String, _ new: String) throws(FileFormatError)
    /// Atomically renames `from` to `to`, replacing a file at `to`.
    func rename(_ from: String, _ to: String) throws(FileFormatError)
    func remove(_ path: String) throws(FileFormatError)
    /// Flushes the directory entry changes in `path` (best effort).
    func syncDirectory(_ path: String)
}

/// The files of one unit of output (e.g. every file of one explained input), written all or nothing.
///
/// `commit(into:)` works in three phases, so that any failure — a write error, a full disk, a rename that
/// fails because a directory occupies a name, SIGINT/SIGTERM — leaves either the complete new set or the
/// complete old set, never a mix and never a loss:
///
/// 1. **Stage**: every file is written to a temporary name in the target directory and flushed. A failure
///    removes the temporaries; no target name has been touched. (Each write holds `TemporaryFiles`' lock,
///    which delays a signal's clean-up by at most one file's write.)
/// 2. **Install**: for each file in turn, an existing file at the target name is kept under a second
///    (hard-linked) temporary name, then the staged file is renamed over the target. Each step runs under
///    `TemporaryFiles`' lock, so a signal sees either before or after it.
/// 3. **Finish**: the kept previous versions are removed.
///
/// A failure (or signal) during install rolls back: every name this commit renamed into place gets its
/// previous file back, or is removed if it had none — but only while it still holds the file this commit
/// put there, so a concurrent run's newer file is never deleted. Names the commit never wrote are never
/// touched. If a roll-back step itself fails, the error says where the previous file was kept.
public struct AtomicFileSet: Sendable {
    public private(set) var files: [(name: String, data: Data)] = []

    public init() {}

    /// Adds a file; `name` is a plain file name (no `/`), unique within the set.
    public mutating func add(_ name: String, _ data: Data) { files.append((name, data)) }

    public var names: [String] { files.map(\.name) }

    /// Creates `directory` if needed and writes every file into it, all or nothing (see the type).
    public func commit(
        into directory: URL, fileSystem: some CommitFileSystem = POSIXFileSystem()
    ) throws(FileFormatError) {
        try commit(into: directory, fileSystem: fileSystem, registry: .shared)
    }

    /// `commit(into:fileSystem:)` with its own registry (tests interrupt one without touching others).
    func commit(
        into directory: URL, fileSystem: some CommitFileSystem, registry: TemporaryFiles
    ) throws(FileFormatError) {
        let directoryPath = directory.standardizedFileURL.path
        try validateNames(directoryPath)
        try fileSystem.createDirectory(directoryPath)
        let journal = CommitJournal(fileSystem: fileSystem, directory: directoryPath, names: names)
        let token = registry.register(commit: journal)
        defer { registry.unregister(commit: token) }

        // 1. Stage.
        for (index, file) in files.enumerated() {
            let temporary = journal.path(TemporaryFiles.makeName())
            do {
                // Created and written under the lock: a signal handler that has removed the registered
                // temporaries holds the lock until the process exits, so no temporary can appear after it.
                try registry.step { () throws(FileFormatError) in
                    journal.staged[index] = temporary
                    journal.identities[index] = try fileSystem.writeNewFile(file.data, at: temporary)
                }
            } catch {
                let notes = registry.lockedRollBack(journal)
                throw journal.failure(file.name, error, notes: notes)
            }
        }
        // 2. Install.
        for index in files.indices {
            do {
                try registry.step { () throws(FileFormatError) in try journal.install(index) }
            } catch {
                let notes = registry.lockedRollBack(journal)
                throw journal.failure(files[index].name, error, notes: notes)
            }
        }
        // 3. Finish.
        fileSystem.syncDirectory(directoryPath)
        registry.lockedFinish(journal)
    }

    private func validateNames(_ directory: String) throws(FileFormatError) {
        var seen = Set<String>()
        for name in names {
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
                throw FileFormatError(file: directory, problem: "'\(name)' is not a plain file name")
            }
            guard name.utf8.count <= 255 else {
                throw FileFormatError(
                    file: (directory as NSString).appendingPathComponent(name),
                    problem: "file name is \(name.utf8.count) bytes, longer than the 255-byte limit (NAME_MAX)")
            }
            guard seen.insert(name).inserted else {
                throw FileFormatError(file: directory, problem: "the file set names '\(name)' twice")
            }
        }
    }
}

extension TemporaryFiles {
    func lockedRollBack(_ journal: CommitJournal) -> [String] {
        // The lock is free here: the failing step has returned.
        var notes: [String] = []
        _ = try? step { () throws(FileFormatError) in notes = journal.rollBack() }
        return notes
    }

    func lockedFinish(_ journal: CommitJournal) {
        _ = try? step { () throws(FileFormatError) in journal.finish() }
    }
}

/// What one commit has done so far; mutated only under `TemporaryFiles`' lock.
final class CommitJournal: TemporaryFiles.Interruptible, @unchecked Sendable {
    let fileSystem: any CommitFileSystem
    let directory: String
    let names: [String]
    /// Per file: its staged temporary, the staged file's identity, the previous version's kept name, and
    /// whether the previous version was moved (not linked) aside.
    var staged: [Int: String] = [:]
    var identities: [Int: FileAccess.Identity] = [:]
    var kept: [Int: (path: String, moved: Bool)] = [:]
    var installed: [Int] = []

    init(fileSystem: any CommitFileSystem, directory: String, names: [String]) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.names = names
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Keeps the previous version of file `index` (if any) and renames the staged file over it.
    func install(_ index: Int) throws(FileFormatError) {
        let target = path(names[index])
        guard let temporary = staged[index] else { return }
        if let (kind, _) = fileSystem.status(target) {
            guard kind == .regularFile || kind == .symbolicLink else {
                throw FileFormatError(file: target, problem: "is \(kind.phrase); only a file can be replaced")
            }
            let keep = path(TemporaryFiles.makeName(kind: ".old"))
            do {
                try fileSystem.link(target, keep)
                kept[index] = (keep, false)
            } catch {
                // No hard links here (some network and FAT file systems): move the old file aside instead.
                try fileSystem.rename(target, keep)
                kept[index] = (keep, true)
            }
        }
        do {
            try fileSystem.rename(temporary, target)
        } catch {
            if let (keep, moved) = kept[index] {
                if moved { try? fileSystem.rename(keep, target) } else { try? fileSystem.remove(keep) }
                kept[index] = nil
            }
            throw error
        }
        staged[index] = nil
        installed.append(index)
    }

    /// Undoes every install (newest first), removes staged temporaries. Returns problems, if any.
    func rollBack() -> [String] {
        var notes: [String] = []
        for index in installed.reversed() {
            let target = path(names[index])
            let ours = identities[index].map { fileSystem.status(target)?.identity == $0 } ?? false
            if let (keep, _) = kept[index] {
                if ours {
                    do { try fileSystem.rename(keep, target) } catch {
                        notes.append(
                            "could not restore \(target) (\(error.problem)); its previous version is kept as \(keep)")
                        continue
                    }
                } else {
                    try? fileSystem.remove(keep)  // another writer replaced the name since; its file stays
                }
            } else if ours {
                do { try fileSystem.remove(target) } catch {
                    notes.append("could not remove the new \(target) (\(error.problem))")
                }
            }
            kept[index] = nil
        }
        installed.removeAll()
        for temporary in staged.values { try? fileSystem.remove(temporary) }
        staged.removeAll()
        return notes
    }

    func finish() {
        for (keep, _) in kept.values { try? fileSystem.remove(keep) }
        kept.removeAll()
        installed.removeAll()
    }

    func rollBackForExit() { _ = rollBack() }

    /// The error reported for file `name`: the cause (a temporary's name says nothing to the user, so
    /// errors about one are reported under the target's name) and what the roll-back left.
    func failure(_ name: String, _ error: FileFormatError, notes: [String]) -> FileFormatError {
        let aboutTarget =
            error.file == path(name) || error.file == "<process>"
            || error.file.hasPrefix(path(TemporaryFiles.prefix))
        var problem = aboutTarget ? error.problem : error.description
        problem += "; nothing of this file set was written"
        if !notes.isEmpty { problem += " (but " + notes.joined(separator: "; ") + ")" }
        return FileFormatError(file: path(name), problem: problem)
    }
}

/// `CommitFileSystem` over POSIX calls, with errors in the operating system's words.
public struct POSIXFileSystem: CommitFileSystem {
    public init() {}

    public func createDirectory(_ path: String) throws(FileFormatError) {
        try FileAccess.createDirectory(URL(fileURLWithPath: path))
    }

    public func writeNewFile(_ data: Data, at path: String) throws(FileFormatError) -> FileAccess.Identity {
        try AtomicWrite.writeNewFile(data, at: path)
    }

    public func status(_ path: String) -> (kind: FileAccess.Kind, identity: FileAccess.Identity)? {
        FileAccess.status(path)
    }

    public func link(_ existing: String, _ new: String) throws(FileFormatError) {
        guard posixLink(existing, new) == 0 else {
            throw FileFormatError(
                file: existing, problem: "cannot keep the previous version (\(FileAccess.describe(errno: errno)))")
        }
    }

    public func rename(_ from: String, _ to: String) throws(FileFormatError) {
        guard posixRename(from, to) == 0 else {
            let code = errno
            var reason = FileAccess.describe(errno: code)
            if code == EISDIR || code == ENOTEMPTY || code == EEXIST {
                reason = "a directory occupies the name (\(reason))"
            }
            throw FileFormatError(file: to, problem: "cannot rename the temporary file into place: \(reason)")
        }
    }

    public func remove(_ path: String) throws(FileFormatError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw FileFormatError(file: path, problem: "cannot be removed (\(FileAccess.describe(errno: errno)))")
        }
    }

    public func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

private func posixLink(_ a: String, _ b: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.link(a, b)
    #elseif canImport(Musl)
    Musl.link(a, b)
    #else
    Darwin.link(a, b)
    #endif
}

private func posixRename(_ a: String, _ b: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.rename(a, b)
    #elseif canImport(Musl)
    Musl.rename(a, b)
    #else
    Darwin.rename(a, b)
    #endif
}
