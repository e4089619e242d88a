import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensMath

/// An in-memory file system with one scripted fault, for `AtomicFileSet`'s fault-injection tests.
final class FaultyFileSystem: CommitFileSystem, @unchecked Sendable {
    enum Operation: String, CaseIterable, Sendable { case write, link, rename, remove }
    struct Node: Equatable {
        var isDirectory: Bool
        var data: Data
        var inode: UInt64
    }

    private let lock = NSLock()
    private(set) var nodes: [String: Node] = [:]
    private var nextInode: UInt64 = 1
    /// Fail the n-th (0-based) call of `operation`; with `diskBytes`, writes fail once that many bytes
    /// are used in total ("full disk").
    var failAt: (operation: Operation, index: Int)?
    var diskBytes: Int?
    private var counts: [Operation: Int] = [:]
    /// Called before each operation (for simulating a concurrent writer).
    var beforeOperation: ((Operation, String, FaultyFileSystem) -> Void)?

    func file(_ path: String) -> Data? { lock.withLock { nodes[path].flatMap { $0.isDirectory ? nil : $0.data } } }
    var files: [String: Data] {
        lock.withLock { nodes.filter { !$0.value.isDirectory }.mapValues(\.data) }
    }

    func put(_ path: String, _ data: Data, directory: Bool = false) {
        lock.withLock {
            nodes[path] = Node(isDirectory: directory, data: data, inode: nextInode)
            nextInode += 1
        }
    }

    private func tick(_ operation: Operation, _ path: String) throws(FileFormatError) {
        beforeOperation?(operation, path, self)
        let index = lock.withLock {
            let n = counts[operation, default: 0]
            counts[operation] = n + 1
            return n
        }
        if let failAt, failAt.operation == operation, failAt.index == index {
            throw FileFormatError(file: path, problem: "injected \(operation.rawValue) failure (EIO)")
        }
    }

    func calls(_ operation: Operation) -> Int { lock.withLock { counts[operation, default: 0] } }

    func createDirectory(_ path: String) throws(FileFormatError) {
        if lock.withLock({ nodes[path] == nil }) { put(path, Data(), directory: true) }
    }

    func writeNewFile(_ data: Data, at path: String) throws(FileFormatError) -> FileAccess.Identity {
        try tick(.write, path)
        let used = lock.withLock { nodes.values.reduce(0) { $0 + $1.data.count } }
        if let diskBytes, used + data.count > diskBytes {
            // A real write on a full disk leaves a partial file that the writer then removes.
            throw FileFormatError(file: path, problem: "cannot write (no space left on device (ENOSPC))")
        }
        guard lock.withLock({ nodes[path] == nil }) else {
            throw FileFormatError(file: path, problem: "exists (EEXIST)")
        }
        put(path, data)
        return lock.withLock { FileAccess.Identity(device: 1, inode: nodes[path]!.inode) }
    }

    func status(_ path: String) -> (kind: FileAccess.Kind, identity: FileAccess.Identity)? {
        lock.withLock {
            nodes[path].map {
                ($0.isDirectory ? .directory : .regularFile, FileAccess.Identity(device: 1, inode: $0.inode))
            }
        }
    }

    func link(_ existing: String, _ new: String) throws(FileFormatError) {
        try tick(.link, new)
        lock.lock()
        defer { lock.unlock() }
        guard let node = nodes[existing], !node.isDirectory, nodes[new] == nil else {
            throw FileFormatError(file: new, problem: "cannot link (EPERM)")
        }
        nodes[new] = node
    }

    func rename(_ from: String, _ to: String) throws(FileFormatError) {
        try tick(.rename, to)
        lock.lock()
        defer { lock.unlock() }
        guard let node = nodes[from] else { throw FileFormatError(file: from, problem: "no such file (ENOENT)") }
        if let existing = nodes[to], existing.isDirectory {
            throw FileFormatError(file: to, problem: "is a directory (EISDIR)")
        }
        nodes[to] = node
        nodes[from] = nil
    }

    func remove(_ path: String) throws(FileFormatError) {
        try tick(.remove, path)
        _ = lock.withLock { nodes.removeValue(forKey: path) }
    }

    func syncDirectory(_ path: String) {}
}

@Suite struct AtomicFileSetTests {
    static let directory = "/out"
    static let old: [String: Data] = ["/out/a.npy": Data("old a".utf8), "/out/a.png": Data("old png".utf8)]

    /// A new set that replaces two existing files and adds two.
    static func newSet() -> AtomicFileSet {
        var set = AtomicFileSet()
        set.add("a.npy", Data("new a".utf8))
        set.add("a.json", Data("new json".utf8))
        set.add("a.png", Data("new png".utf8))
        set.add("a.panel.png", Data("new panel".utf8))
        return set
    }

    static var newFiles: [String: Data] {
        Dictionary(uniqueKeysWithValues: newSet().files.map { ("/out/" + $0.name, $0.data) })
    }

    static func fileSystemWithOldSet() -> FaultyFileSystem {
        let fs = FaultyFileSystem()
        fs.put(directory, Data(), directory: true)
        for (path, data) in old { fs.put(path, data) }
        return fs
    }

    @Test func commitReplacesAndAddsAndLeavesNoTemporaries() throws {
        let fs = Self.fileSystemWithOldSet()
        try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: fs)
        #expect(fs.files == Self.newFiles)
    }

    struct Fault: Sendable, CustomTestStringConvertible {
        var operation: FaultyFileSystem.Operation
        var index: Int
        var testDescription: String { "\(operation.rawValue) #\(index)" }
    }

    /// Every write, link and rename a commit makes (4 writes, 2 links, 4 renames), and a few beyond.
    static let faults: [Fault] =
        (0..<5).map { Fault(operation: .write, index: $0) } + (0..<3).map { Fault(operation: .link, index: $0) }
        + (0..<5).map { Fault(operation: .rename, index: $0) }

    /// A failure at any step leaves the complete old set or the complete new set: never a mix, never a
    /// loss, and no temporary left behind.
    @Test(arguments: faults)
    func faultAtAnyStepLeavesOldOrNewSet(_ fault: Fault) {
        let fs = Self.fileSystemWithOldSet()
        fs.failAt = (fault.operation, fault.index)
        let result = Result { () throws(FileFormatError) in
            try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: fs)
        }
        let files = fs.files
        switch result {
        case .success: #expect(files == Self.newFiles, "committed, so the new set must be complete")
        case .failure(let error):
            #expect(files == Self.old, "failed (\(error)), so the old set must be intact and nothing else left")
            #expect(error.problem.contains("nothing of this file set was written"))
            #expect(!error.description.contains(TemporaryFiles.prefix), "temporary names are not shown: \(error)")
        }
    }

    /// A full disk at any point of staging: the old set stays, the partial new set is removed.
    @Test(arguments: [0, 5, 12, 20, 28, 1_000])
    func fullDiskLeavesOldOrNewSet(_ freeBytes: Int) {
        let fs = Self.fileSystemWithOldSet()
        let used = Self.old.values.reduce(0) { $0 + $1.count }
        fs.diskBytes = used + freeBytes
        let result = Result { () throws(FileFormatError) in
            try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: fs)
        }
        // While the old versions are hard-linked, they cost no space; all new files need 36 bytes.
        if case .failure(let error) = result {
            #expect(fs.files == Self.old)
            #expect(error.problem.contains("ENOSPC"))
        } else {
            #expect(fs.files == Self.newFiles)
            #expect(freeBytes >= Self.newFiles.values.reduce(0) { $0 + $1.count })
        }
    }

    /// Without hard links the old versions are moved aside instead; failures still restore them.
    @Test(arguments: (0..<5).map { Fault(operation: .rename, index: $0) })
    func withoutHardLinksOldVersionsAreMovedAsideAndRestored(_ fault: Fault) {
        let fs = Self.fileSystemWithOldSet()
        fs.failAt = nil
        final class NoLinks: CommitFileSystem, @unchecked Sendable {
            let base: FaultyFileSystem
            init(_ base: FaultyFileSystem) { self.base = base }
            func createDirectory(_ path: String) throws(FileFormatError) { try base.createDirectory(path) }
            func writeNewFile(_ data: Data, at path: String) throws(FileFormatError) -> FileAccess.Identity {
                try base.writeNewFile(data, at: path)
            }
            func status(_ path: String) -> (kind: FileAccess.Kind, identity: FileAccess.Identity)? { base.status(path) }
            func link(_ existing: String, _ new: String) throws(FileFormatError) {
                throw FileFormatError(file: new, problem: "operation not supported (EOPNOTSUPP)")
            }
            func rename(_ from: String, _ to: String) throws(FileFormatError) { try base.rename(from, to) }
            func remove(_ path: String) throws(FileFormatError) { try base.remove(path) }
            func syncDirectory(_ path: String) {}
        }
        fs.failAt = (fault.operation, fault.index)
        let result = Result { () throws(FileFormatError) in
            try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: NoLinks(fs))
        }
        switch result {
        case .success: #expect(fs.files == Self.newFiles)
        case .failure: #expect(fs.files == Self.old)
        }
    }

    /// Issue 10 #2 in the library: a directory occupying one name fails the commit, and the files the
    /// previous run wrote under the other names are restored, not deleted.
    @Test func directoryInTheWayKeepsThePreviousFiles() {
        let fs = Self.fileSystemWithOldSet()
        fs.put("/out/a.panel.png", Data(), directory: true)
        #expect(throws: FileFormatError.self) {
            try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: fs)
        }
        #expect(fs.files == Self.old)
        #expect(fs.status("/out/a.panel.png")?.kind == .directory)
    }

    /// A name another writer replaced after this commit installed it is never removed by the roll-back.
    @Test func rollBackNeverDeletesAnotherWritersFile() {
        let fs = Self.fileSystemWithOldSet()
        fs.failAt = (.rename, 3)  // the last install fails
        fs.beforeOperation = { operation, path, fs in
            // Just before the failing rename, a concurrent run writes its own a.json.
            if operation == .rename, path == "/out/a.panel.png" { fs.put("/out/a.json", Data("other run".utf8)) }
        }
        #expect(throws: FileFormatError.self) {
            try Self.newSet().commit(into: URL(fileURLWithPath: Self.directory), fileSystem: fs)
        }
        var expected = Self.old
        expected["/out/a.json"] = Data("other run".utf8)
        #expect(fs.files == expected)
    }

    @Test func refusesNamesThatAreNotPlainFileNames() {
        for name in ["", ".", "..", "a/b", String(repeating: "x", count: 256)] {
            var set = AtomicFileSet()
            set.add(name, Data())
            #expect(throws: FileFormatError.self) {
                try set.commit(into: URL(fileURLWithPath: "/out"), fileSystem: FaultyFileSystem())
            }
        }
        var twice = AtomicFileSet()
        twice.add("a", Data())
        twice.add("a", Data())
        #expect(throws: FileFormatError.self) {
            try twice.commit(into: URL(fileURLWithPath: "/out"), fileSystem: FaultyFileSystem())
        }
    }

    // MARK: On disk

    /// Issue 10 #5: a 255-byte name (NAME_MAX) works; the temporary beside it is short.
    @Test func longestLegalNameWorksOnDisk() throws {
        let directory = try FixturePaths.temporaryDirectory("fileset")
        defer { try? FileManager.default.removeItem(at: directory) }
        var set = AtomicFileSet()
        let name = String(repeating: "n", count: 251) + ".png"
        set.add(name, Data([1, 2, 3]))
        try set.commit(into: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [name])
    }

    @Test func onDiskDirectoryInTheWayKeepsPreviousFilesAndLeavesNoTemporaries() throws {
        let directory = try FixturePaths.temporaryDirectory("fileset")
        defer { try? FileManager.default.removeItem(at: directory) }
        var first = AtomicFileSet()
        first.add("x.saliency.npy", Data("1".utf8))
        first.add("x.saliency.png", Data("2".utf8))
        try first.commit(into: directory)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("x.panel.png"), withIntermediateDirectories: false)
        var second = AtomicFileSet()
        second.add("x.saliency.npy", Data("3".utf8))
        second.add("x.saliency.png", Data("4".utf8))
        second.add("x.panel.png", Data("5".utf8))
        let error = try #require(throws: FileFormatError.self) { try second.commit(into: directory) }
        #expect(error.file.hasSuffix("/x.panel.png"))
        #expect(error.problem.contains("directory"), "\(error)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == ["x.panel.png", "x.saliency.npy", "x.saliency.png"])
        #expect(try Data(contentsOf: directory.appendingPathComponent("x.saliency.npy")) == Data("1".utf8))
        #expect(try Data(contentsOf: directory.appendingPathComponent("x.saliency.png")) == Data("2".utf8))
    }

    @Test func createsMissingDirectoriesAndReportsAParentThatIsAFile() throws {
        let directory = try FixturePaths.temporaryDirectory("fileset")
        defer { try? FileManager.default.removeItem(at: directory) }
        var set = AtomicFileSet()
        set.add("f", Data([1]))
        try set.commit(into: directory.appendingPathComponent("a/b"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("a/b/f").path))
        try Data([0]).write(to: directory.appendingPathComponent("plain"))
        let error = try #require(throws: FileFormatError.self) {
            try set.commit(into: directory.appendingPathComponent("plain/sub"))
        }
        #expect(error.problem.contains("plain is a regular file, not a directory"), "\(error)")
    }
}
