import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary files LeafLens's atomic writers create, and what happens to them when a run is
/// interrupted.
///
/// Names are short and fixed-length, `.leaflens-<pid>-<16 hex>.tmp` (≤ 38 bytes), so a target name of
/// up to NAME_MAX (255) bytes still has a legal temporary beside it, and a sweep recognises them:
///
/// - `register`/`unregister` keep a process-wide list of live temporaries and in-flight file-set commits;
/// - `installSignalHandlers()` (called by the CLI's `main`; a library never installs it by itself) makes
///   SIGINT and SIGTERM remove every live temporary, roll back an unfinished `AtomicFileSet` commit, and
///   exit with 128 + signal (130, 143) — Slurm sends SIGTERM at a job's time limit;
/// - `sweepStale(in:)` removes temporaries a killed process (SIGKILL, power loss) left behind.
public final class TemporaryFiles: @unchecked Sendable {
    /// An unfinished multi-file commit the signal handler can undo (see `AtomicFileSet`).
    protocol Interruptible: AnyObject {
        /// Undoes the commit's renames; runs with the registry lock held.
        func rollBackForExit()
    }

    public static let shared = TemporaryFiles()

    private let lock = NSLock()
    private var paths: [Int: String] = [:]
    private var commits: [Int: Interruptible] = [:]
    private var nextToken = 0
    private var exiting = false

    /// A separate registry (tests); the process's own is `shared`.
    init() {}

    /// The prefix and suffixes every LeafLens temporary has.
    public static let prefix = ".leaflens-"
    static let suffixes = [".tmp", ".old"]

    /// A fresh temporary name (no directory) for a file being written (`.tmp`) or a previous version kept
    /// aside during a commit (`.old`).
    static func makeName(kind: String = ".tmp") -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return prefix + String(getpid()) + "-" + String(repeating: "0", count: 16 - random.count) + random + kind
    }

    /// Records a temporary path so an interrupting signal removes it. Returns a token for `unregister`.
    func register(_ path: String) -> Int {
        lock.withLock {
            nextToken += 1
            paths[nextToken] = path
            return nextToken
        }
    }

    func unregister(_ token: Int) {
        lock.withLock { _ = paths.removeValue(forKey: token) }
    }

    func register(commit: Interruptible) -> Int {
        lock.withLock {
            nextToken += 1
            commits[nextToken] = commit
            return nextToken
        }
    }

    func unregister(commit token: Int) {
        lock.withLock { _ = commits.removeValue(forKey: token) }
    }

    /// Runs `body` with the registry lock held, so a signal arriving meanwhile waits until the step (a
    /// rename and its bookkeeping) is complete. Refuses to start once the process is exiting.
    func step<T>(_ body: () throws(FileFormatError) -> T) throws(FileFormatError) -> T {
        lock.lock()
        defer { lock.unlock() }
        guard !exiting else { throw FileFormatError(file: "<process>", problem: "interrupted: the process is exiting") }
        return try body()
    }

    /// Paths registered now (for tests and diagnostics).
    public var livePaths: [String] { lock.withLock { paths.values.sorted() } }

    /// Rolls back unfinished commits and removes every registered temporary. Further steps are refused.
    /// Called by the signal handler just before the process exits; callable directly (tests).
    public func removeAllForExit() {
        lock.lock()
        defer { lock.unlock() }
        exiting = true
        for token in commits.keys.sorted(by: >) { commits[token]?.rollBackForExit() }
        commits.removeAll()
        for path in paths.values { unlink(path) }
        paths.removeAll()
    }

    /// Allows steps again after `removeAllForExit()` (tests only: a real process has exited by then).
    func resumeAfterTestExit() { lock.withLock { exiting = false } }

    // MARK: Signals

    private nonisolated(unsafe) static var signalSources: [DispatchSourceSignal] = []
    private static let installLock = NSLock()

    /// Makes SIGINT and SIGTERM remove the live temporaries, roll back an unfinished file-set commit, and
    /// exit with status 128 + signal (130 for SIGINT, 143 for SIGTERM). Idempotent. Process-wide: the
    /// CLI calls it at start; a program embedding the library decides for itself.
    public static func installSignalHandlers() {
        installLock.withLock {
            guard signalSources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)  // delivery goes to the dispatch source instead
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global(qos: .userInitiated))
                source.setEventHandler {
                    // Removes what is registered and refuses further steps, so no new temporary appears
                    // between the clean-up and the exit.
                    shared.removeAllForExit()
                    _exit(128 + signalNumber)
                }
                source.resume()
                signalSources.append(source)
            }
        }
    }

    /// Hands `signalNumber` back to the caller: its clean-up source is cancelled and its disposition reset
    /// to the default, so a caller that wants a graceful stop instead (a data-set run finishing its current
    /// image on SIGTERM) can install its own handler.
    public static func releaseSignal(_ signalNumber: Int32) {
        installLock.withLock {
            for source in signalSources where source.handle == UInt(signalNumber) { source.cancel() }
            signalSources.removeAll { $0.handle == UInt(signalNumber) }
            signal(signalNumber, SIG_DFL)
        }
    }

    // MARK: Sweeping

    /// Removes LeafLens temporaries in `directory` that no running writer can still own: names of the
    /// form `.leaflens-<pid>-<16 hex>.tmp|.old` whose process is gone (or is this process from an earlier
    /// exec) and whose last change is older than `minimumAge` seconds, plus the long names earlier
    /// versions used (`.<name>.tmp-<UUID>`) once older than `minimumAge`. A temporary lives only while its
    /// writer runs, so the age guard matters only for writers on other hosts sharing the directory.
    /// Only regular files are removed. Returns the names removed.
    @discardableResult
    public static func sweepStale(in directory: URL, minimumAge: TimeInterval = 600, now: Date = Date()) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where isOwnTemporaryName(name) {
            let path = directory.appendingPathComponent(name).path
            var info = stat()
            guard lstat(path, &info) == 0, FileAccess.Kind(mode: info.st_mode) == .regularFile else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
            guard now.timeIntervalSince(modified) >= minimumAge else { continue }
            if let pid = ownerProcess(name), pid != getpid(), kill(pid, 0) == 0 || errno == EPERM { continue }
            if let pid = ownerProcess(name), pid == getpid(), shared.livePaths.contains(path) { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Whether `name` is a temporary LeafLens creates (current or earlier naming).
    public static func isOwnTemporaryName(_ name: String) -> Bool {
        if ownerProcess(name) != nil { return true }
        // Earlier versions: "." + target + ".tmp-" + UUID (36 characters, upper-case hex and dashes).
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return false }
        let uuid = name[range.upperBound...]
        return range.lowerBound > name.index(after: name.startIndex) && UUID(uuidString: String(uuid)) != nil
    }

    /// The process id in a current-style temporary name, or nil if `name` is not one.
    static func ownerProcess(_ name: String) -> pid_t? {
        guard name.hasPrefix(prefix), let suffix = suffixes.first(where: { name.hasSuffix($0) }) else { return nil }
        let middle = name.dropFirst(prefix.count).dropLast(suffix.count)
        let parts = middle.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit),
            let pid = pid_t(parts[0]), pid > 0
        else { return nil }
        return pid
    }
}
