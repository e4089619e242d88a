import Foundation
import LeafLensTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `leaflens explain --data/--list` and `leaflens report` as a user runs them: bad input, usage errors,
/// sharding from the environment, and a run killed with SIGKILL and rerun.
@Suite("DataSetCLI", .serialized)
struct DataSetCLITests {
    /// Starts `leaflens arguments…` with `environment` replacing the inherited variables named in it (nil
    /// values remove them); output goes to files in `scratch`.
    static func start(
        _ arguments: [String], in directory: URL, environment changes: [String: String?] = [:], scratch: URL
    )
        throws -> Process
    {
        let executable = try #require(CLI.executable, "the leaflens executable was not found beside the tests")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("SLURM_") || key == "JOB_COMPLETION_INDEX" {
            environment[key] = nil
        }
        for (key, value) in changes { environment[key] = value }
        environment["COLUMNS"] = "100"
        process.environment = environment
        for name in ["stdout", "stderr"] {
            _ = FileManager.default.createFile(atPath: scratch.appendingPathComponent(name).path, contents: nil)
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: scratch.appendingPathComponent("stdout"))
        process.standardError = try FileHandle(forWritingTo: scratch.appendingPathComponent("stderr"))
        try process.run()
        return process
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String?] = [:]) throws -> CLI.Result
    {
        let scratch = try FixturePaths.temporaryDirectory("leaflens-dataset-io")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = try start(arguments, in: directory, environment: environment, scratch: scratch)
        process.waitUntilExit()
        return CLI.Result(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: scratch.appendingPathComponent("stdout")), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: scratch.appendingPathComponent("stderr")), as: UTF8.self))
    }

    /// data/healthy/{a,b}.png, data/rust/c.png, data/rust/broken.png (a cut-off PNG),
    /// data/rust/text.png (text), data/rust/gone.png (a dangling link), data/README.txt.
    static func badDataFolder(_ directory: URL) throws {
        let data = directory.appendingPathComponent("data")
        for name in ["healthy", "rust"] {
            try FileManager.default.createDirectory(
                at: data.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        let png = TestFiles.png(width: 64, height: 64)
        for path in ["healthy/a.png", "healthy/b.png", "rust/c.png"] {
            try png.write(to: data.appendingPathComponent(path))
        }
        try png.prefix(png.count / 2).write(to: data.appendingPathComponent("rust/broken.png"))
        try Data("hello".utf8).write(to: data.appendingPathComponent("rust/text.png"))
        try FileManager.default.createSymbolicLink(
            atPath: data.appendingPathComponent("rust/gone.png").path, withDestinationPath: "/nonexistent/gone.png")
        try Data("about this data".utf8).write(to: data.appendingPathComponent("README.txt"))
    }

    static func records(_ out: URL, _ stem: String = "shard-0-of-1") throws -> [[String: Any]] {
        let text = try String(contentsOf: out.appendingPathComponent("records/\(stem).jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func badFilesAreRecordedAndTheRunGoesOn() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-dataset")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.badDataFolder(directory)
        let result = try Self.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "saliency", "--data", "data", "--out",
                "out",
                "--progress", "lines", "--progress-every", "2",
            ] + CLI.smallImage, in: directory)
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("3 images failed"), "\(result.stderr)")
        #expect(result.stderr.contains("shard 0/1: 2/7 images"), "\(result.stderr)")
        #expect(result.stdout.contains("3 explained"), "\(result.stdout)")
        let out = directory.appendingPathComponent("out")
        let status = Dictionary(
            try Self.records(out).map { ($0["input"] as? String ?? "", $0["status"] as? String ?? "") },
            uniquingKeysWith: { $1 })
        #expect(
            status == [
                "healthy/a.png": "ok", "healthy/b.png": "ok", "rust/c.png": "ok", "rust/broken.png": "failed",
                "rust/text.png": "failed", "rust/gone.png": "failed", "README.txt": "ignored",
            ])
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("rust/c.saliency.npy").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("rust/broken.saliency.npy").path))

        let report = try Self.run(["report", "out"], in: directory)
        #expect(report.status == 1)
        #expect(report.stderr.contains("the run is incomplete: 3 images failed"), "\(report.stderr)")
        #expect(report.stderr.contains("rust/text.png"), "\(report.stderr)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json")))
                as? [String: Any])
        #expect(summary["explained"] as? Int == 3 && summary["failed"] as? Int == 3 && summary["ignored"] as? Int == 1)
        #expect((summary["failures"] as? [[String: Any]])?.count == 3)
        let html = try String(contentsOf: out.appendingPathComponent("summary.html"), encoding: .utf8)
        #expect(html.contains("Failed images (3)") && html.contains("README.txt"))
        let csv = try String(contentsOf: out.appendingPathComponent("index.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 8)
        // Idempotent: a second report writes the same bytes.
        let before = try ["index.jsonl", "index.csv", "summary.json", "summary.html"].map {
            try Data(contentsOf: out.appendingPathComponent($0))
        }
        #expect(try Self.run(["report", "out"], in: directory).status == 1)
        let after = try ["index.jsonl", "index.csv", "summary.json", "summary.html"].map {
            try Data(contentsOf: out.appendingPathComponent($0))
        }
        #expect(before == after)
    }

    struct UsageCase: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var environment: [String: String] = [:]
        var message: String
        var testDescription: String { name }
    }

    static let usageCases = [
        UsageCase(
            name: "shard 3/2", arguments: ["--data", "data", "--shard", "3/2"], message: "K must be in 0…1 for N = 2"),
        UsageCase(name: "shard not K/N", arguments: ["--data", "data", "--shard", "two"], message: "expected K/N"),
        UsageCase(
            name: "shard auto outside a cluster", arguments: ["--data", "data", "--shard", "auto"],
            message: "SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX"),
        UsageCase(
            name: "Kubernetes without --shards", arguments: ["--data", "data", "--shard", "auto"],
            environment: ["JOB_COMPLETION_INDEX": "1"], message: "pass --shards N"),
        UsageCase(
            name: "OUT is a file", arguments: ["--data", "data", "--out", "file.txt"], message: "is an existing file"),
        UsageCase(
            name: "OUT inside DATA", arguments: ["--data", "data", "--out", "data/out"], message: "is inside --data"),
        UsageCase(
            name: "data and list", arguments: ["--data", "data", "--list", "file.txt"],
            message: "cannot be used together"),
        UsageCase(name: "data and inputs", arguments: ["--data", "data", "x.png"], message: "not both"),
        UsageCase(
            name: "shard without data", arguments: ["--shard", "0/2", "x.png"], message: "applies to data sets only"),
        UsageCase(name: "data not a folder", arguments: ["--data", "file.txt"], message: "not a folder"),
    ]

    @Test(arguments: usageCases) func usageErrors(_ usage: UsageCase) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-dataset")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.badDataFolder(directory)
        try Data("x".utf8).write(to: directory.appendingPathComponent("file.txt"))
        let result = try Self.run(
            ["explain", "--method", "saliency"] + usage.arguments, in: directory, environment: usage.environment)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(usage.message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("data/out").path))
    }

    /// `--shard auto` in a Slurm array task; the report names the shard that never ran; two tasks on one
    /// shard: the second is refused while the first holds the lock (tested in process in ShardLogTests).
    @Test func slurmEnvironmentAndMissingShards() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-dataset")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("data/healthy")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<6 {
            try TestFiles.png(width: 64, height: 64).write(to: data.appendingPathComponent("leaf-\(i).png"))
        }
        let arguments =
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "saliency", "--data", "data",
                "--out", "out", "--shard", "auto", "--progress", "none",
            ] + CLI.smallImage
        let first = try Self.run(
            arguments, in: directory, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"])
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.hasPrefix("shard 1/2: "), "\(first.stdout)")
        let out = directory.appendingPathComponent("out")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("records/shard-1-of-2.jsonl").path))
        let partial = try Self.run(["report", "out"], in: directory)
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("shard 0 of 2 never started"), "\(partial.stderr)")
        let second = try Self.run(
            arguments, in: directory, environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"])
        #expect(second.status == 0, "stderr: \(second.stderr)")
        let complete = try Self.run(["report", "out"], in: directory)
        #expect(complete.status == 0, "stderr: \(complete.stderr)")
        #expect(
            complete.stdout.contains("6 images in 2 shards: 6 explained, 0 failed, 0 without a record"),
            "\(complete.stdout)")
    }

    /// A run stopped with SIGTERM, restarted, killed with SIGKILL at a random image and rerun gives the index
    /// of an uninterrupted run: the same images, predictions and files, and every attribution `.npy` byte
    /// for byte.
    @Test func killedRunResumesToTheSameIndex() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-dataset-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let synth = try Self.run(
            ["synth", "--out", "data", "--masks", "masks", "--per-class", "2", "--seed", "5", "--quiet"], in: directory)
        #expect(synth.status == 0, "stderr: \(synth.stderr)")
        let explain = [
            "explain", "--method", "integrated-gradients,grad-cam", "--steps", "8", "--data", "data",
            "--progress", "none", "--batch-size", "4",
        ]

        let whole = try Self.run(explain + ["--out", "whole"], in: directory)
        #expect(whole.status == 0, "stderr: \(whole.stderr)")

        let scratch = try FixturePaths.temporaryDirectory("leaflens-dataset-io")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let records = directory.appendingPathComponent("resumed/records/shard-0-of-1.jsonl")
        func recordLines() -> Int { (try? Data(contentsOf: records))?.filter { $0 == UInt8(ascii: "\n") }.count ?? 0 }

        // SIGTERM (Slurm's time limit, scancel): the run stops before its next image and exits 143.
        let terminated = try Self.start(explain + ["--out", "resumed"], in: directory, scratch: scratch)
        var deadline = Date().addingTimeInterval(300)
        while terminated.isRunning, Date() < deadline, recordLines() < 1 { usleep(20_000) }
        let runningAtTerm = terminated.isRunning
        kill(terminated.processIdentifier, SIGTERM)
        terminated.waitUntilExit()
        if runningAtTerm {
            #expect(terminated.terminationReason == .exit && terminated.terminationStatus == 143)
            let stderr = String(decoding: try Data(contentsOf: scratch.appendingPathComponent("stderr")), as: UTF8.self)
            #expect(stderr.contains("stopped by SIGTERM"), "\(stderr)")
        }
        let afterTerm = recordLines()

        // SIGKILL after one more record and a random further delay, then rerun.
        let process = try Self.start(explain + ["--out", "resumed"], in: directory, scratch: scratch)
        deadline = Date().addingTimeInterval(300)
        while process.isRunning, Date() < deadline, recordLines() < afterTerm + 1 { usleep(20_000) }
        usleep(UInt32.random(in: 0..<1_500_000))
        let killedRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let linesAtKill = recordLines()
        #expect(linesAtKill >= 1)
        if killedRunning { #expect(linesAtKill < 12, "the run finished before the kill; the test proves less") }
        let rerun = try Self.run(explain + ["--out", "resumed"], in: directory)
        #expect(rerun.status == 0, "stderr: \(rerun.stderr)")

        for name in ["whole", "resumed"] {
            #expect(try Self.run(["report", name, "--quiet"], in: directory).status == 0)
        }
        func rows(_ name: String) throws -> [String: [String: Any]] {
            let text = try String(contentsOf: directory.appendingPathComponent("\(name)/index.jsonl"), encoding: .utf8)
            var rows: [String: [String: Any]] = [:]
            for line in text.split(separator: "\n") {
                var row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                row["seconds"] = nil
                var methods = row["methods"] as? [String: [String: Any]] ?? [:]
                for key in methods.keys { methods[key]?["seconds"] = nil }
                row["methods"] = methods
                rows[row["input"] as? String ?? ""] = row
            }
            return rows
        }
        let a = try rows("whole"), b = try rows("resumed")
        #expect(a.count == 12)
        #expect(Set(a.keys) == Set(b.keys))
        for (input, rowA) in a {
            let rowB = try #require(b[input])
            #expect(rowA["status"] as? String == "ok" && rowB["status"] as? String == "ok")
            let predA = rowA["prediction"] as? [String: Any], predB = rowB["prediction"] as? [String: Any]
            #expect(predA?["index"] as? Int == predB?["index"] as? Int, "\(input)")
            let pa = predA?["probability"] as? Double ?? -1, pb = predB?["probability"] as? Double ?? -2
            #expect(abs(pa - pb) <= 1e-5, "\(input): \(pa) vs \(pb)")
            let methodsA = rowA["methods"] as? [String: [String: Any]] ?? [:]
            let methodsB = rowB["methods"] as? [String: [String: Any]] ?? [:]
            #expect(Set(methodsA.keys) == ["integrated-gradients", "grad-cam"])
            for (method, resultA) in methodsA {
                let filesA = resultA["files"] as? [String] ?? [], filesB = methodsB[method]?["files"] as? [String] ?? []
                #expect(filesA == filesB)
                #expect((resultA["parameters"] as? NSDictionary) == (methodsB[method]?["parameters"] as? NSDictionary))
                for file in filesA where file.hasSuffix(".npy") {
                    let bytesA = try Data(contentsOf: directory.appendingPathComponent("whole/\(file)"))
                    let bytesB = try Data(contentsOf: directory.appendingPathComponent("resumed/\(file)"))
                    #expect(bytesA == bytesB, "\(file) differs between the uninterrupted and the resumed run")
                }
            }
        }
        // No partial file under a final name: every file of the resumed run is one the index names, a report
        // file, a record file, or a hidden temporary of the killed write.
        let named = Set(
            b.values.flatMap { row -> [String] in
                let methods = row["methods"] as? [String: [String: Any]] ?? [:]
                return methods.values.flatMap { $0["files"] as? [String] ?? [] } + (row["files"] as? [String] ?? [])
            })
        let resumed = directory.appendingPathComponent("resumed")
        let enumerator = FileManager.default.enumerator(atPath: resumed.path)
        while let path = enumerator?.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: resumed.appendingPathComponent(path).path, isDirectory: &isDirectory)
            guard !isDirectory.boolValue, !name.hasPrefix("."), !path.hasPrefix("records/") else { continue }
            #expect(
                named.contains(path) || ["index.jsonl", "index.csv", "summary.json", "summary.html"].contains(path),
                "\(path)")
        }
    }
}
