import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensMath

/// What SIGINT/SIGTERM do (issue 10 #3), without sending a signal: `removeAllForExit` is the handler's
/// body. Each test uses its own registry so that other tests' temporaries are not touched.
@Suite struct InterruptedCommitTests {
    @Test func exitRemovesRegisteredTemporaries() throws {
        let directory = try FixturePaths.temporaryDirectory("interrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let registry = TemporaryFiles()
        let path = directory.appendingPathComponent(TemporaryFiles.makeName()).path
        try Data([1]).write(to: URL(fileURLWithPath: path))
        _ = registry.register(path)
        #expect(registry.livePaths == [path])
        registry.removeAllForExit()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(registry.livePaths.isEmpty)
    }

    /// A signal arriving at any step (the handler runs on another thread, as the dispatch source does):
    /// the commit ends with the complete old set or the complete new set, and no temporary is left.
    @Test(arguments: [FaultyFileSystem.Operation.write, .link, .rename], [0, 1, 2, 3])
    func interruptAtAnyStepLeavesOldOrNewSet(_ operation: FaultyFileSystem.Operation, _ index: Int) {
        let fs = AtomicFileSetTests.fileSystemWithOldSet()
        let registry = TemporaryFiles()
        let handled = DispatchSemaphore(value: 0)
        var fired = false
        fs.beforeOperation = { op, _, fs in
            guard op == operation, fs.calls(op) == index, !fired else { return }
            fired = true
            DispatchQueue.global().async {
                registry.removeAllForExit()
                handled.signal()
            }
        }
        let result = Result { () throws(FileFormatError) in
            try AtomicFileSetTests.newSet().commit(
                into: URL(fileURLWithPath: "/out"), fileSystem: fs, registry: registry)
        }
        if fired { handled.wait() }
        let files = fs.files
        switch result {
        case .success: #expect(files == AtomicFileSetTests.newFiles || files == AtomicFileSetTests.old)
        case .failure: #expect(files == AtomicFileSetTests.old)
        }
    }

    /// A signal between two installs: the files already renamed into place get their previous versions
    /// back and the added ones are removed, so the input has its old files and nothing else.
    @Test func interruptDuringInstallRestoresThePreviousFiles() throws {
        let fs = AtomicFileSetTests.fileSystemWithOldSet()
        let registry = TemporaryFiles()
        let names = AtomicFileSetTests.newSet().names
        let journal = CommitJournal(fileSystem: fs, directory: "/out", names: names)
        _ = registry.register(commit: journal)
        for (index, file) in AtomicFileSetTests.newSet().files.enumerated() {
            let temporary = journal.path(TemporaryFiles.makeName())
            journal.staged[index] = temporary
            journal.identities[index] = try fs.writeNewFile(file.data, at: temporary)
        }
        try journal.install(0)
        try journal.install(1)
        #expect(fs.file("/out/a.npy") == Data("new a".utf8))
        registry.removeAllForExit()
        #expect(fs.files == AtomicFileSetTests.old)
    }
}
