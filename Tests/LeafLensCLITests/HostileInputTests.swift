import Foundation
import LeafLensTestSupport
import Testing

/// The reproducers of issue 10 (a hostile-input and fault probe), as the user ran them. Each failed
/// before its fix; the comment on each test says how.
@Suite struct HostileInputTests {
    private func scratch() throws -> URL {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-hostile")
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("x.png"))
        return directory
    }

    private func explain(
        _ methods: String, out: String = "rb", inputs: [String] = ["x.png"], in directory: URL
    ) throws -> CLI.Result {
        try CLI.run(
            ["explain", "--weights", try CLI.requireTinyModel(), "--method", methods, "--quiet", "--out", out]
                + CLI.smallImage + inputs,
            in: directory)
    }

    /// #2: a failed re-run deleted the previous run's four `x.saliency.*` files.
    @Test func failedRerunKeepsThePreviousResults() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try explain("saliency", in: directory)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let out = directory.appendingPathComponent("rb")
        let before = try CLI.contents(of: out).map { ($0, try Data(contentsOf: out.appendingPathComponent($0))) }
        #expect(before.map(\.0) == ["x.saliency.json", "x.saliency.npy", "x.saliency.overlay.png", "x.saliency.png"])
        try FileManager.default.createDirectory(
            at: out.appendingPathComponent("x.panel.png"), withIntermediateDirectories: false)
        let second = try explain("saliency,grad-cam", in: directory)
        #expect(second.status == 1)
        #expect(second.stderr.contains("x.panel.png"), "stderr: \(second.stderr)")
        #expect(second.stderr.contains("directory"), "stderr: \(second.stderr)")
        #expect(CLI.contents(of: out) == (before.map(\.0) + ["x.panel.png"]).sorted(), "no temporaries, nothing new")
        for (name, data) in before {
            #expect(try Data(contentsOf: out.appendingPathComponent(name)) == data, "\(name) changed")
        }
    }

    /// #5: a legal 255-byte output name failed (the temporary name added 42 bytes, over NAME_MAX).
    @Test func longestLegalOutputNameWorks() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stem = String(repeating: "s", count: 255 - ".saliency.overlay.png".utf8.count)
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("x.png"), to: directory.appendingPathComponent(stem + ".png"))
        let result = try explain("saliency", inputs: [stem + ".png"], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(CLI.contents(of: directory.appendingPathComponent("rb")).contains(stem + ".saliency.overlay.png"))
    }

    /// #6: special files and links as inputs: the OS's reason, not "You don't have permission"/"no such file".
    @Test func inputMessagesSayWhatTheSystemSaid() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(mkfifo(directory.appendingPathComponent("fifo.png").path, 0o644) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("loop.png").path, withDestinationPath: "loop.png")
        try Data([1]).write(to: directory.appendingPathComponent("file"))
        let cases: [(String, String)] = [
            ("/dev/zero", "/dev/zero: is a character device, not a regular file"),
            ("/dev/null", "/dev/null: is a character device, not a regular file"),
            ("fifo.png", "fifo.png: is a FIFO (named pipe), not a regular file"),
            ("loop.png", "loop.png: cannot be resolved: too many levels of symbolic links (ELOOP"),
            ("file/x.png", "is a regular file, not a directory"),
        ]
        for (input, message) in cases {
            let result = try explain("saliency", out: "o", inputs: [input], in: directory)
            #expect(result.status == 1, "\(input)")
            #expect(result.stderr.contains(message), "\(input): \(result.stderr)")
            #expect(!result.stderr.contains("permission"), "\(input): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("o").path))
    }

    /// #6 and #7: `--out` is checked before any work (the model file below does not even exist, and the
    /// error is about --out), with the OS's reason instead of "NSCocoaErrorDomain error 512" or
    /// "A file with the same name already exists".
    @Test func outIsCheckedFirstWithClearMessages() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data([1]).write(to: directory.appendingPathComponent("plain"))
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("dangling").path, withDestinationPath: "nowhere")
        let cases: [(String, String)] = [
            (
                "plain/sub",
                "--out \(directory.path)/plain/sub: cannot be created: \(directory.path)/plain is a regular file, not a directory"
            ),
            (
                "dangling",
                "--out \(directory.path)/dangling: is a dangling symbolic link (to nowhere, which does not exist)"
            ),
            ("/proc/sys/leaflens-out", "cannot be created in /proc/sys"),
        ]
        for (out, message) in cases {
            for command in [
                ["explain", "--method", "saliency", "--out", out, "x.png"], ["train", "--data", "x", "--out", out],
            ] {
                let result = try CLI.run(command + ["--weights", "missing.safetensors"], in: directory)
                #expect(result.status == 1, "\(command)")
                #expect(result.stderr.contains(message), "\(command): \(result.stderr)")
            }
        }
    }

    /// #3: SIGTERM (Slurm's time limit) and SIGINT end a run with 143 and 130, leaving no temporaries and
    /// no partial file set.
    @Test(arguments: [(SIGTERM, Int32(143)), (SIGINT, Int32(130))])
    func signalsExitWithTheConventionalStatusAndLeaveNothing(_ signal: Int32, _ status: Int32) throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let executable = try #require(CLI.executable)
        let process = Process()
        process.executableURL = executable
        // Long enough to be running when the signal arrives (thousands of IG steps).
        process.arguments =
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig", "--steps", "100000",
                "--quiet", "--out", "sig",
            ] + CLI.smallImage + ["x.png"]
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        #expect(process.isRunning, "finished before the signal; make the run longer")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == status)
        #expect(CLI.contents(of: directory.appendingPathComponent("sig")).isEmpty)
    }
}
