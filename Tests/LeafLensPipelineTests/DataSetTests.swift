import Foundation
import LeafLensPipeline
import LeafLensTestSupport
import Testing

@Suite struct ShardTests {
    static let paths = (0..<500).map { "class_\($0 % 7)/leaf-\($0).png" }

    /// Every image lands in exactly one shard, for several shard counts.
    @Test(arguments: [1, 2, 3, 7]) func everyImageInExactlyOneShard(count: Int) throws {
        let shards = try (0..<count).map { try Shard($0, of: count) }
        for path in Self.paths {
            #expect(shards.filter { $0.contains(relativePath: path) }.count == 1, "\(path)")
        }
        if count > 1 {
            // Not degenerate: every shard gets a fair share.
            for shard in shards {
                let n = Self.paths.filter { shard.contains(relativePath: $0) }.count
                #expect(n > Self.paths.count / count / 2, "shard \(shard) has \(n) images")
            }
        }
    }

    /// Adding images moves none of the old ones.
    @Test func addingImagesKeepsAssignments() throws {
        let shards = try (0..<3).map { try Shard($0, of: 3) }
        let before = Dictionary(
            uniqueKeysWithValues: Self.paths.map { p in (p, shards.firstIndex { $0.contains(relativePath: p) }) })
        let more = Self.paths + (0..<200).map { "new/leaf-\($0).png" }
        for path in more where before[path] != nil {
            #expect(shards.firstIndex { $0.contains(relativePath: path) } == before[path]!)
        }
    }

    /// FNV-1a 64 known answers (the function is specified in the docs, so scripts can reproduce it).
    @Test func stableHashKnownAnswers() {
        #expect(Shard.stableHash("") == 0xcbf2_9ce4_8422_2325)
        #expect(Shard.stableHash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Shard.stableHash("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test func parsingAndBadInput() throws {
        #expect(try Shard(parsing: "2/3") == Shard(2, of: 3))
        #expect(throws: ShardError.self) { try Shard(parsing: "3/2") }
        #expect(throws: ShardError.self) { try Shard(parsing: "0/0") }
        #expect(throws: ShardError.self) { try Shard(parsing: "-1/4") }
        #expect(throws: ShardError.self) { try Shard(parsing: "1-4") }
        let error = #expect(throws: ShardError.self) { try Shard(parsing: "3/2") }
        #expect(error?.description.contains("K must be in 0…1") == true)
    }

    @Test func environment() throws {
        #expect(
            try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(2, of: 4))
        // A resubmitted single task (`sbatch --array=2`) is an array of one: --shards gives the count.
        #expect(
            try Shard.fromEnvironment(
                ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_COUNT": "1"], shards: 4)
                == Shard(2, of: 4))
        let resubmitted = #expect(throws: ShardError.self) {
            try Shard.fromEnvironment([
                "SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_COUNT": "1",
            ])
        }
        #expect(resubmitted?.description.contains("pass --shards N") == true)
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "1"], shards: 5) == Shard(1, of: 5))
        let outside = #expect(throws: ShardError.self) { try Shard.fromEnvironment([:]) }
        #expect(outside?.description.contains("SLURM_ARRAY_TASK_ID") == true)
        #expect(throws: ShardError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "1"]) }
        #expect(throws: ShardError.self) {
            try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"])
        }
    }
}

@Suite struct ShardLogTests {
    static func record(_ input: String, _ status: ShardRecord.Status = .ok, files: [String] = []) -> ShardRecord {
        ShardRecord(
            input: input, label: "rust", status: status,
            prediction: .init(index: 1, label: "rust", probability: 0.9),
            methods: status == .ok
                ? ["saliency": .init(files: files, parameters: ["steps": .number(50)], seconds: 0.1)] : nil,
            error: status == .failed ? "boom" : nil, seconds: 0.2, shard: "0/1")
    }

    @Test func appendsReadsAndCutsATornLine() throws {
        let out = try FixturePaths.temporaryDirectory("shardlog")
        defer { try? FileManager.default.removeItem(at: out) }
        do {
            let log = try ShardLog(output: out, shard: .whole)
            try log.append(Self.record("a.png"))
            try log.append(Self.record("b.png", .failed))
        }
        // A task killed mid-write leaves an unterminated line.
        let url = ShardLog.recordsDirectory(out).appendingPathComponent("shard-0-of-1.jsonl")
        let handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        handle.write(Data("{\"input\":\"c.png\",\"sta".utf8))
        try handle.close()
        #expect(try ShardLog.read(url).records.count == 2)
        let log = try ShardLog(output: out, shard: .whole)
        #expect(log.existing.map(\.input) == ["a.png", "b.png"])
        try log.append(Self.record("b.png"))
        let data = try Data(contentsOf: url)
        #expect(data.last == UInt8(ascii: "\n"))
        let (records, unreadable) = try ShardLog.read(url)
        #expect(unreadable == 0)
        #expect(records.map(\.input) == ["a.png", "b.png", "b.png"])
        #expect(log.latestByInput["b.png"]?.status == .ok)
    }

    /// Two tasks given the same shard: the second is refused while the first holds it.
    @Test func secondTaskOnTheSameShardIsRefused() throws {
        let out = try FixturePaths.temporaryDirectory("shardlog")
        defer { try? FileManager.default.removeItem(at: out) }
        let first = try ShardLog(output: out, shard: try Shard(1, of: 2))
        let error = #expect(throws: DataSetError.self) { try ShardLog(output: out, shard: try Shard(1, of: 2)) }
        #expect(error?.description.contains("already being run by another task") == true)
        // Another shard is fine.
        _ = try ShardLog(output: out, shard: try Shard(0, of: 2))
        _ = first
    }

    @Test func recordKeysAreSnakeCase() throws {
        let line = String(decoding: try Self.record("a.png").jsonLine(), as: UTF8.self)
        #expect(line.hasPrefix("{\"input\":\"a.png\""))
        #expect(!line.contains("\n"))
        #expect(try ShardRecord.decode(line: Data(line.utf8)) == Self.record("a.png"))
    }
}

@Suite struct DataSetRunTests {
    struct Boom: Error, CustomStringConvertible { var description: String { "cannot decode" } }

    static func items(_ n: Int) -> [DataSetItem] {
        (0..<n).map {
            DataSetItem(
                url: URL(fileURLWithPath: "/data/c\($0 % 2)/\($0).png"), relativePath: "c\($0 % 2)/\($0).png",
                label: "c\($0 % 2)")
        }
    }

    /// Writes one file per image, as an explainer would, and reports a prediction.
    static func fakeExplain(_ out: URL, failing: Set<String> = []) -> (DataSetItem) throws -> DataSetOutcome {
        { item in
            if failing.contains(item.relativePath) { throw Boom() }
            let stem = item.outputStem(in: out)
            try FileManager.default.createDirectory(
                at: stem.deletingLastPathComponent(), withIntermediateDirectories: true)
            let file = stem.appendingPathExtension("saliency.npy")
            try Data(item.relativePath.utf8).write(to: file)
            let relative = String(file.path.dropFirst(out.path.count + 1))
            return DataSetOutcome(
                prediction: .init(index: item.label == "c0" ? 0 : 1, label: item.label ?? "c0", probability: 0.75),
                top: [], methods: ["saliency": .init(files: [relative], seconds: 0)])
        }
    }

    /// A rerun skips complete images, redoes failed ones and ones whose files went missing.
    @Test func resumesAndIsIdempotent() throws {
        let out = try FixturePaths.temporaryDirectory("datasetrun")
        defer { try? FileManager.default.removeItem(at: out) }
        var run = DataSetRun(
            items: Self.items(10), output: out, shard: .whole, classes: ["c0", "c1"], methods: ["saliency"])
        let first = try run.run(explain: Self.fakeExplain(out, failing: ["c1/3.png"]))
        #expect(first.explained == 9 && first.failed == 1 && first.skipped == 0)
        try FileManager.default.removeItem(at: out.appendingPathComponent("c0/4.saliency.npy"))
        let second = try run.run(explain: Self.fakeExplain(out))
        #expect(second.explained == 2 && second.skipped == 8 && second.failed == 0)
        run.methods = ["saliency"]
        let third = try run.run(explain: Self.fakeExplain(out))
        #expect(third.skipped == 10)

        let report = try DataSetReport.build(output: out)
        #expect(report.rows.count == 10)
        #expect(report.failedRows.isEmpty && report.missingImages.isEmpty && report.missingShards.isEmpty)
        #expect(report.summary.complete)
        #expect(report.summary.accuracy == 1)
    }

    /// Shards run separately merge into one report; a shard never started is reported as missing, with its
    /// images unknown until it starts, and a started shard's unfinished images are listed.
    @Test func reportMergesShardsAndNamesWhatIsMissing() throws {
        let out = try FixturePaths.temporaryDirectory("datasetrun")
        defer { try? FileManager.default.removeItem(at: out) }
        let items = Self.items(30)
        for k in [0, 2] {
            let run = DataSetRun(
                items: items, output: out, shard: try Shard(k, of: 3), classes: ["c0", "c1"], methods: ["saliency"])
            _ = try run.run(explain: Self.fakeExplain(out, failing: ["c0/0.png"]))
        }
        var report = try DataSetReport.build(output: out)
        #expect(report.shardCount == 3)
        #expect(report.missingShards == [1])
        let assigned1 = items.filter { try! Shard(1, of: 3).contains(relativePath: $0.relativePath) }.count  // safe: test
        #expect(report.rows.count == 30 - assigned1)
        #expect(report.summary.complete == false)
        let csv = report.indexCSV()
        #expect(csv.split(separator: "\n").count == report.rows.count + 1)
        #expect(csv.hasPrefix("input,label,status,predicted,probability,correct,seconds,shard,error,saliency.files"))
        try report.write(to: out)
        for name in ["index.jsonl", "index.csv", "summary.json", "summary.html"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
        }
        let html = try String(contentsOf: out.appendingPathComponent("summary.html"), encoding: .utf8)
        #expect(html.contains("Shards never started: 1 of 3"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
        // Running the missing shard completes the report (if c0/0.png was in it, it is the one failure).
        let run = DataSetRun(
            items: items, output: out, shard: try Shard(1, of: 3), classes: ["c0", "c1"], methods: ["saliency"])
        _ = try run.run(explain: Self.fakeExplain(out))
        report = try DataSetReport.build(output: out)
        #expect(report.missingShards.isEmpty && report.missingImages.isEmpty)
        #expect(report.rows.count == 30)
        #expect(
            report.failedRows.map(\.input)
                == ["c0/0.png"].filter { p in !(try! Shard(1, of: 3).contains(relativePath: p)) })  // safe: test
    }

    @Test func mixedShardCountsAreRefused() throws {
        let out = try FixturePaths.temporaryDirectory("datasetrun")
        defer { try? FileManager.default.removeItem(at: out) }
        for n in [2, 3] {
            let run = DataSetRun(
                items: Self.items(4), output: out, shard: try Shard(0, of: n), classes: [], methods: ["saliency"])
            _ = try run.run(explain: Self.fakeExplain(out))
        }
        #expect(throws: DataSetError.self) { try DataSetReport.build(output: out) }
    }
}
