import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensMath

/// Issue 10 #6: errors say what the operating system said. Each expectation below failed before the fix
/// (Foundation said "You don't have permission" for /dev/zero, FIFOs and /dev/null, "no such file" for a
/// symlink loop, "NSCocoaErrorDomain error 512" under a regular file, "A file with the same name already
/// exists" for a dangling symbolic link).
@Suite struct FileAccessTests {
    private func problem(reading path: String) -> String {
        do {
            _ = try FileAccess.readRegularFile(URL(fileURLWithPath: path))
            return "read"
        } catch { return error.problem }
    }

    @Test func specialFilesAreNamedAndNeverRead() throws {
        #expect(problem(reading: "/dev/zero") == "is a character device, not a regular file")
        #expect(problem(reading: "/dev/null") == "is a character device, not a regular file")
        let directory = try FixturePaths.temporaryDirectory("file-access")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe.png").path
        #expect(mkfifo(fifo, 0o644) == 0)
        // Opening a FIFO without a writer would block forever; it is refused instead.
        #expect(problem(reading: fifo) == "is a FIFO (named pipe), not a regular file")
        #expect(problem(reading: directory.path) == "is a directory, not a file")
    }

    @Test func linksAndParentsAreExplained() throws {
        let directory = try FixturePaths.temporaryDirectory("file-access")
        defer { try? FileManager.default.removeItem(at: directory) }
        let loop = directory.appendingPathComponent("loop.png").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop.png")
        #expect(problem(reading: loop).contains("ELOOP"))
        let dangling = directory.appendingPathComponent("dangling.npy").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "nowhere.npy")
        #expect(problem(reading: dangling) == "is a dangling symbolic link (to nowhere.npy, which does not exist)")
        let file = directory.appendingPathComponent("file")
        try Data([1]).write(to: file)
        #expect(
            problem(reading: file.path + "/inside.png")
                == "cannot be reached: \(file.path) is a regular file, not a directory")
        #expect(problem(reading: directory.appendingPathComponent("missing.png").path) == "file does not exist")
        let link = directory.appendingPathComponent("link.png").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "file")
        #expect(try FileAccess.readRegularFile(URL(fileURLWithPath: link)) == Data([1]))
    }

    @Test func outputDirectoryIsCheckedWithoutCreatingAnything() throws {
        let directory = try FixturePaths.temporaryDirectory("file-access")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Missing but creatable: fine, and still missing afterwards.
        let nested = directory.appendingPathComponent("a/b/c")
        try FileAccess.checkOutputDirectory(nested)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("a").path))

        let file = directory.appendingPathComponent("file")
        try Data([1]).write(to: file)
        func problem(_ url: URL) -> String {
            do { try FileAccess.checkOutputDirectory(url); return "ok" } catch { return error.problem }
        }
        #expect(problem(file) == "is a regular file, not a directory")
        #expect(
            problem(file.appendingPathComponent("out"))
                == "cannot be created: \(file.path) is a regular file, not a directory")
        let dangling = directory.appendingPathComponent("dangling")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "nowhere")
        #expect(problem(dangling) == "is a dangling symbolic link (to nowhere, which does not exist)")
        let loop = directory.appendingPathComponent("loop")
        try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: "loop")
        #expect(problem(loop.appendingPathComponent("x")).contains("ELOOP"))
        #expect(problem(URL(fileURLWithPath: "/proc/sys/out")).contains("cannot be created in /proc/sys"))
    }

    @Test func createDirectoryReportsTheObstacle() throws {
        let directory = try FixturePaths.temporaryDirectory("file-access")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("file")
        try Data([1]).write(to: file)
        #expect(
            throws: FileFormatError(
                file: file.appendingPathComponent("x/y").path,
                problem: "cannot be created: \(file.path) is a regular file, not a directory")
        ) { try FileAccess.createDirectory(file.appendingPathComponent("x/y")) }
        try FileAccess.createDirectory(directory.appendingPathComponent("p/q"))
        #expect(FileAccess.status(directory.appendingPathComponent("p/q").path)?.kind == .directory)
    }
}

@Suite struct TemporaryFilesTests {
    @Test func namesAreShortAndRecognised() {
        let name = TemporaryFiles.makeName()
        #expect(name.utf8.count <= 38)
        #expect(TemporaryFiles.isOwnTemporaryName(name))
        #expect(TemporaryFiles.ownerProcess(name) == getpid())
        #expect(TemporaryFiles.isOwnTemporaryName(".leaf.saliency.png.tmp-" + UUID().uuidString))
        for other in [
            "leaf.png", ".leaflens-12-abc.tmp", ".leaflens-x-0123456789abcdef.tmp", ".tmp-" + UUID().uuidString,
            ".leaflens-12-0123456789abcdef.txt", ".hidden",
        ] {
            #expect(!TemporaryFiles.isOwnTemporaryName(other), "\(other)")
        }
    }

    @Test func sweepRemovesOnlyStaleTemporariesOfOurPattern() throws {
        let directory = try FixturePaths.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: directory) }
        // pid 2^22 + 1 is above Linux's maximum pid, so no process has it.
        let dead = ".leaflens-4194305-0123456789abcdef.tmp"
        let deadOld = ".leaflens-4194305-fedcba9876543210.old"
        let legacy = ".x.png.tmp-" + UUID().uuidString
        let live = ".leaflens-1-0123456789abcdef.tmp"  // pid 1 is always running
        let user = "keep.png"
        for name in [dead, deadOld, legacy, live, user] {
            try Data([0]).write(to: directory.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent(".leaflens-4194305-0000000000000000.tmp"),
            withIntermediateDirectories: false)
        #expect(TemporaryFiles.sweepStale(in: directory, minimumAge: 3600).isEmpty, "all are fresh")
        let removed = TemporaryFiles.sweepStale(in: directory, minimumAge: 0)
        #expect(removed.sorted() == [legacy, dead, deadOld].sorted())
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == [".leaflens-1-0123456789abcdef.tmp", ".leaflens-4194305-0000000000000000.tmp", "keep.png"])
    }

    @Test func atomicWriteHandlesTheLongestLegalName() throws {
        // Issue 10 #5: fails before the fix (the temporary added 42 bytes to the name: ENAMETOOLONG).
        let directory = try FixturePaths.temporaryDirectory("atomic")
        defer { try? FileManager.default.removeItem(at: directory) }
        let name = String(repeating: "é", count: 125) + "x.npy"  // 255 bytes of UTF-8
        #expect(name.utf8.count == 255)
        try AtomicWrite.write(Data([1, 2]), to: directory.appendingPathComponent(name))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [name])
        #expect(throws: FileFormatError.self) {
            try AtomicWrite.write(Data([1]), to: directory.appendingPathComponent(name + "y"))
        }
    }
}
