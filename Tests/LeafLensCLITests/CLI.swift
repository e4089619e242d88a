import Foundation
import LeafLensTestSupport
import Testing

/// Runs the built `leaflens` executable as a subprocess, as a user would.
///
/// The binary is found beside the test bundle (SwiftPM puts every product of a build in one products
/// directory, e.g. `.build/debug/`, and the test target depends on the executable, so it is built), or
/// named by the `LEAFLENS_BINARY` environment variable.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let executable: URL? = {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["LEAFLENS_BINARY"] {
            candidates.append(URL(fileURLWithPath: override))
        }
        // Linux: the test runner is the `.xctest` executable itself; macOS: it is a bundle.
        if let runner = Bundle.main.executableURL {
            candidates.append(runner.deletingLastPathComponent().appendingPathComponent("leaflens"))
        }
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("leaflens"))
        }
        candidates.append(FixturePaths.repositoryRoot.appendingPathComponent(".build/debug/leaflens"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `leaflens arguments…` in `directory`, with a fixed terminal width so help text is stable.
    /// Output goes through files, not pipes, so a chatty child can never block on a full pipe.
    static func run(
        _ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:]
    ) throws
        -> Result
    {
        let executable = try #require(executable, "the leaflens executable was not found beside the tests")
        let scratch = try FixturePaths.temporaryDirectory("leaflens-cli-io")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "100"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// A small seeded model (base width 4, 38 PlantVillage classes), made once per test run with
    /// `leaflens make-seeded-model`.
    static let tinyModel: URL? = {
        guard let directory = try? FixturePaths.temporaryDirectory("leaflens-cli-model") else { return nil }
        let url = directory.appendingPathComponent("tiny.safetensors")
        guard let result = try? run(["make-seeded-model", "--width", "4", "--out", url.path]), result.status == 0 else {
            return nil
        }
        return url
    }()

    static func requireTinyModel() throws -> String {
        try #require(tinyModel, "leaflens make-seeded-model --width 4 failed").path
    }

    /// Options that keep images small: 64×64 → resize 64 → crop 56.
    static let smallImage = ["--resize", "64", "--crop", "56"]

    /// Names of the files in `directory` (empty if it does not exist), hidden files included.
    static func contents(of directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }
}
