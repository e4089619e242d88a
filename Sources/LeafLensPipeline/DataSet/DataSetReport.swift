import Foundation
import LeafLensImaging
import LeafLensMath

/// The merged view of a data-set run: every shard's records folded into one row per image, with what is
/// missing. Built by `DataSetReport.build(output:)`, written by `write(to:)` as `index.jsonl`, `index.csv`,
/// `summary.json` and one self-contained `summary.html`. Building is read-only and writing replaces the four
/// files atomically, so `leaflens report` can run as often as wanted, also while shards are still running.
public struct DataSetReport: Sendable {
    /// The latest record of every image that has one, sorted by input path (byte order).
    public var rows: [ShardRecord]
    /// Each row's JSON line as read from its record file (empty for a row made in memory: re-encoded).
    var rowLines: [Data] = []
    /// Shard count N of the run (from the record and manifest file names).
    public var shardCount: Int
    /// Shards K with no manifest: never started.
    public var missingShards: [Int]
    /// Images listed in a shard's manifest that have no record yet.
    public var missingImages: [String]
    /// Lines of record files that could not be decoded (torn or foreign).
    public var unreadableLines: Int
    /// Class labels of the model (from the manifests), for the confusion matrix.
    public var classes: [String]
    /// Method names in first-seen order.
    public var methods: [String]

    public var okRows: [ShardRecord] { rows.filter { $0.status == .ok } }
    public var failedRows: [ShardRecord] { rows.filter { $0.status == .failed } }
    /// Files that are not images (reported, not counted as images).
    public var ignoredRows: [ShardRecord] { rows.filter { $0.status == .ignored } }

    /// Reads `OUT/records/`. Throws when there are no records or when files of different shard counts are
    /// mixed (two runs into one folder).
    public static func build(output: URL) throws(DataSetError) -> DataSetReport {
        let directory = ShardLog.recordsDirectory(output)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw .io(
                directory.path,
                "no records folder: is this the --out folder of `leaflens explain --data`? (\(error.localizedDescription))"
            )
        }
        var counts = Set<Int>()
        var manifests: [Int: ShardManifest] = [:]
        var logs: [(Int, URL)] = []
        for name in names.sorted() {
            guard let (k, n, kind) = parseName(name) else { continue }
            counts.insert(n)
            let url = directory.appendingPathComponent(name)
            switch kind {
            case .manifest: manifests[k] = try ShardManifest.read(url)
            case .records: logs.append((k, url))
            }
        }
        guard let n = counts.first else { throw .invalid("\(directory.path): no shard records or manifests") }
        guard counts.count == 1 else {
            throw .invalid(
                "\(directory.path): records of different shard counts (\(counts.sorted().map(String.init).joined(separator: ", "))) are mixed; one output folder per run"
            )
        }
        var latest: [String: ShardRecord] = [:]
        var latestLine: [String: Data] = [:]
        var unreadable = 0
        for (_, url) in logs.sorted(by: { $0.0 < $1.0 }) {
            let (lines, bad) = try ShardLog.readLines(url)
            unreadable += bad
            for (record, line) in lines {
                latest[record.input] = record
                latestLine[record.input] = line
            }
        }
        var expected = Set<String>()
        var classes: [String] = []
        for (_, manifest) in manifests.sorted(by: { $0.key < $1.key }) {
            expected.formUnion(manifest.images.map(\.input))
            if classes.isEmpty { classes = manifest.classes }
        }
        let rows = latest.values.sorted { ImageFolderOrder.precedes($0.input, $1.input) }
        var methods: [String] = []
        for row in rows {
            for name in (row.methods ?? [:]).keys.sorted() where !methods.contains(name) { methods.append(name) }
        }
        return DataSetReport(
            rows: rows, rowLines: rows.map { latestLine[$0.input] ?? Data() }, shardCount: n,
            missingShards: (0..<n).filter { manifests[$0] == nil },
            missingImages: expected.subtracting(latest.keys).sorted(by: ImageFolderOrder.precedes),
            unreadableLines: unreadable, classes: classes, methods: methods)
    }

    enum FileKind { case manifest, records }

    /// `shard-K-of-N.jsonl` or `shard-K-of-N.manifest.json`.
    static func parseName(_ name: String) -> (Int, Int, FileKind)? {
        let kind: FileKind
        let stem: Substring
        if name.hasSuffix(".manifest.json") {
            (kind, stem) = (.manifest, name.dropLast(".manifest.json".count))
        } else if name.hasSuffix(".jsonl") {
            (kind, stem) = (.records, name.dropLast(".jsonl".count))
        } else {
            return nil
        }
        let parts = stem.split(separator: "-")
        guard parts.count == 4, parts[0] == "shard", parts[2] == "of", let k = Int(parts[1]), let n = Int(parts[3]),
            n >= 1, (0..<n).contains(k)
        else { return nil }
        return (k, n, kind)
    }

    // MARK: Derived figures

    /// Confusion counts over ok rows whose true label is one of the model's classes.
    public var confusion: (labels: [String], counts: [[Int]], correct: Int, total: Int)? {
        guard !classes.isEmpty else { return nil }
        var counts = Array(repeating: Array(repeating: 0, count: classes.count), count: classes.count)
        var correct = 0
        var total = 0
        for row in okRows {
            guard let label = row.label, let truth = classes.firstIndex(of: label), let p = row.prediction,
                counts.indices.contains(p.index)
            else { continue }
            counts[truth][p.index] += 1
            total += 1
            if truth == p.index { correct += 1 }
        }
        return total == 0 ? nil : (classes, counts, correct, total)
    }

    /// Mean of each metric per method over the ok rows that have it: `[method: [metric: (mean, n)]]`.
    public var metricMeans: [String: [String: (mean: Double, count: Int)]] {
        var sums: [String: [String: (Double, Int)]] = [:]
        for row in okRows {
            for (method, result) in row.methods ?? [:] {
                for (metric, value) in result.metrics ?? [:] where value.isFinite {
                    let (s, c) = sums[method, default: [:]][metric] ?? (0, 0)
                    sums[method, default: [:]][metric] = (s + value, c + 1)
                }
            }
        }
        return sums.mapValues { $0.mapValues { (mean: $0.0 / Double($0.1), count: $0.1) } }
    }
}

/// The byte order of relative paths (as ImageFolder sorts them).
enum ImageFolderOrder {
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// What one shard was asked to do: written once when the shard starts, read by the report to find missing
/// images and shards. `records/shard-K-of-N.manifest.json`.
public struct ShardManifest: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        public var input: String
        public var label: String?
        public init(input: String, label: String?) {
            self.input = input
            self.label = label
        }
    }
    public var shard: String
    public var classes: [String]
    public var methods: [String]
    public var images: [Image]

    public init(shard: Shard, classes: [String], methods: [String], images: [Image]) {
        self.shard = shard.description
        self.classes = classes
        self.methods = methods
        self.images = images
    }

    public static func url(output: URL, shard: Shard) -> URL {
        ShardLog.recordsDirectory(output).appendingPathComponent(shard.fileStem + ".manifest.json")
    }

    public func write(output: URL, shard: Shard) throws(DataSetError) {
        let url = Self.url(output: output, shard: shard)
        do {
            let data = try ShardRecord.encoder.encode(self)
            try AtomicWrite.write(data, to: url)
        } catch { throw .io(url.path, "cannot write the shard manifest: \(error)") }
    }

    public static func read(_ url: URL) throws(DataSetError) -> ShardManifest {
        do { return try ShardRecord.decoder.decode(ShardManifest.self, from: Data(contentsOf: url)) } catch {
            throw .io(url.path, "not a readable shard manifest: \(error.localizedDescription)")
        }
    }
}
