import Foundation

/// One image of a data-set run.
public struct DataSetItem: Sendable, Equatable {
    public var url: URL
    /// `/`-separated path relative to the data set root; outputs go to `OUT/<relativePath without extension>.*`
    /// and sharding hashes it.
    public var relativePath: String
    /// The true label (ImageFolder class folder), when known.
    public var label: String?

    public init(url: URL, relativePath: String, label: String?) {
        self.url = url
        self.relativePath = relativePath
        self.label = label
    }

    /// `OUT/<relative folder>/<stem>`: the prefix of every output file of this image.
    public func outputStem(in output: URL) -> URL {
        output.appendingPathComponent((relativePath as NSString).deletingPathExtension)
    }
}

/// What explaining one image produced, for its record.
public struct DataSetOutcome: Sendable {
    public var prediction: ShardRecord.Prediction
    public var top: [ShardRecord.Prediction]
    public var methods: [String: ShardRecord.MethodResult]

    public init(prediction: ShardRecord.Prediction, top: [ShardRecord.Prediction], methods: [String: ShardRecord.MethodResult]) {
        self.prediction = prediction
        self.top = top
        self.methods = methods
    }
}

/// Progress of a shard: images done (explained, skipped or failed) of the shard's total.
public struct DataSetProgress: Sendable {
    public var done: Int
    public var total: Int
    public var explained: Int
    public var skipped: Int
    public var failed: Int
    /// Seconds since the shard started.
    public var elapsed: Double
    /// The image just finished.
    public var current: String
}

/// The counts at the end of a shard.
public struct DataSetRunSummary: Sendable, Equatable {
    public var shard: Shard
    public var assigned: Int
    public var explained: Int
    public var skipped: Int
    public var failed: Int
    public var recordsFile: URL
}

/// Runs one shard of a data set: every assigned image whose record and files are not already complete is
/// explained by `explain` and recorded; failures are recorded and the run goes on.
///
/// Order of effects per image: `explain` writes the image's files (each file set all-or-nothing), then the
/// record is appended and fsynced. A task killed between the two leaves complete files without a record,
/// which the next run redoes (overwriting with the same bytes); it never leaves a record without its files.
public struct DataSetRun {
    public var items: [DataSetItem]
    public var output: URL
    public var shard: Shard
    public var classes: [String]
    public var methods: [String]

    public init(items: [DataSetItem], output: URL, shard: Shard, classes: [String], methods: [String]) {
        self.items = items
        self.output = output
        self.shard = shard
        self.classes = classes
        self.methods = methods
    }

    /// This shard's images, in data-set order.
    public var assigned: [DataSetItem] { items.filter { shard.contains(relativePath: $0.relativePath) } }

    /// Whether `record` is complete: status ok, every method asked for present, and every file on disk.
    public func isComplete(_ record: ShardRecord) -> Bool {
        guard record.status == .ok, let done = record.methods, methods.allSatisfy({ done[$0] != nil }) else { return false }
        return record.allFiles.allSatisfy { FileManager.default.fileExists(atPath: output.appendingPathComponent($0).path) }
    }

    public func run(
        explain: (DataSetItem) throws -> DataSetOutcome,
        progress: ((DataSetProgress) -> Void)? = nil,
        clock: () -> Double = { Date().timeIntervalSinceReferenceDate }
    ) throws(DataSetError) -> DataSetRunSummary {
        let log = try ShardLog(output: output, shard: shard)
        let mine = assigned
        try ShardManifest(
            shard: shard, classes: classes, methods: methods,
            images: mine.map { .init(input: $0.relativePath, label: $0.label) }
        ).write(output: output, shard: shard)
        let previous = log.latestByInput
        let start = clock()
        var counts = (explained: 0, skipped: 0, failed: 0)
        for (i, item) in mine.enumerated() {
            if let record = previous[item.relativePath], isComplete(record) {
                counts.skipped += 1
            } else {
                let begin = clock()
                let record: ShardRecord
                do {
                    let outcome = try explain(item)
                    record = ShardRecord(
                        input: item.relativePath, label: item.label, status: .ok, prediction: outcome.prediction,
                        top: outcome.top, methods: outcome.methods, seconds: clock() - begin, shard: shard.description)
                    counts.explained += 1
                } catch {
                    record = ShardRecord(
                        input: item.relativePath, label: item.label, status: .failed, error: "\(error)",
                        seconds: clock() - begin, shard: shard.description)
                    counts.failed += 1
                }
                try log.append(record)
            }
            progress?(
                DataSetProgress(
                    done: i + 1, total: mine.count, explained: counts.explained, skipped: counts.skipped,
                    failed: counts.failed, elapsed: clock() - start, current: item.relativePath))
        }
        return DataSetRunSummary(
            shard: shard, assigned: mine.count, explained: counts.explained, skipped: counts.skipped,
            failed: counts.failed, recordsFile: log.url)
    }
}
