import Foundation

/// One image of a data-set run.
public struct DataSetItem: Sendable, Equatable {
    public var url: URL
    /// `/`-separated path relative to the data set root; outputs go to `OUT/<relativePath without extension>.*`
    /// and sharding hashes it.
    public var relativePath: String
    /// The true label (ImageFolder class folder), when known.
    public var label: String?
    /// Why the file is not explained (not an image); it then gets an `ignored` record.
    public var skipReason: String?

    public init(url: URL, relativePath: String, label: String?, skipReason: String? = nil) {
        self.url = url
        self.relativePath = relativePath
        self.label = label
        self.skipReason = skipReason
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
    /// Files of the image that belong to no single method (panel, HTML page), relative to the output folder.
    public var files: [String]

    public init(
        prediction: ShardRecord.Prediction, top: [ShardRecord.Prediction], methods: [String: ShardRecord.MethodResult],
        files: [String] = []
    ) {
        self.prediction = prediction
        self.top = top
        self.methods = methods
        self.files = files
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
    /// The image just finished ("" when reporting the skipped images at the start).
    public var current: String

    public init(done: Int, total: Int, explained: Int, skipped: Int, failed: Int, elapsed: Double, current: String) {
        self.done = done
        self.total = total
        self.explained = explained
        self.skipped = skipped
        self.failed = failed
        self.elapsed = elapsed
        self.current = current
    }

    /// Images worked on (explained or failed) per second; skipped images cost nothing and are not counted.
    /// nil before the first one.
    public var imagesPerSecond: Double? {
        let worked = explained + failed
        guard worked > 0, elapsed > 0 else { return nil }
        return Double(worked) / elapsed
    }

    /// Estimated seconds until the shard is done, at the rate so far (nil before the first image).
    public var secondsLeft: Double? {
        guard let rate = imagesPerSecond else { return done >= total ? 0 : nil }
        return Double(total - done) / rate
    }
}

/// The counts at the end of a shard.
public struct DataSetRunSummary: Sendable, Equatable {
    public var shard: Shard
    public var assigned: Int
    public var explained: Int
    public var skipped: Int
    public var failed: Int
    /// Files that are not images, recorded as ignored in this run.
    public var ignored: Int
    /// The run ended early because `shouldStop` said so (SIGTERM); the shard is not finished.
    public var stopped: Bool
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
        if record.status == .ignored { return true }
        guard record.status == .ok, let done = record.methods, methods.allSatisfy({ done[$0] != nil }) else {
            return false
        }
        return record.allFiles.allSatisfy {
            FileManager.default.fileExists(atPath: output.appendingPathComponent($0).path)
        }
    }

    /// Runs the shard one image at a time.
    public func run(
        explain: (DataSetItem) throws -> DataSetOutcome,
        progress: ((DataSetProgress) -> Void)? = nil,
        clock: () -> Double = { Date().timeIntervalSinceReferenceDate }
    ) throws(DataSetError) -> DataSetRunSummary {
        try run(
            batchSize: 1, prepare: { items in items.map { .success($0) } }, explain: { item, _ in try explain(item) },
            progress: progress, clock: clock)
    }

    /// Runs the shard in batches: `prepare` gets up to `batchSize` images that still need work (to load and
    /// classify them in one forward pass) and returns one result per image; `explain` then finishes each
    /// image, and its record is appended before the next image starts. An image whose `prepare` failed is
    /// recorded as failed. `shouldStop` is asked before every image (a SIGTERM handler): the run then ends
    /// early with `stopped` set, leaving the rest to the next run.
    public func run<Prepared>(
        batchSize: Int,
        prepare: ([DataSetItem]) -> [Result<Prepared, any Error>],
        explain: (DataSetItem, Prepared) throws -> DataSetOutcome,
        progress: ((DataSetProgress) -> Void)? = nil,
        shouldStop: () -> Bool = { false },
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
        let pending = mine.filter { item in
            guard let record = previous[item.relativePath] else { return true }
            return (record.status == .ignored) != (item.skipReason != nil) || !isComplete(record)
        }
        var counts = (explained: 0, skipped: mine.count - pending.count, failed: 0, ignored: 0)
        var stopped = false
        func report(_ current: String) {
            progress?(
                DataSetProgress(
                    done: counts.explained + counts.skipped + counts.failed + counts.ignored, total: mine.count,
                    explained: counts.explained, skipped: counts.skipped, failed: counts.failed,
                    elapsed: clock() - start, current: current))
        }
        if counts.skipped > 0 { report("") }
        var next = 0
        batches: while next < pending.count {
            if shouldStop() {
                stopped = true
                break
            }
            if let reason = pending[next].skipReason {
                let item = pending[next]
                next += 1
                try log.append(
                    ShardRecord(
                        input: item.relativePath, label: item.label, status: .ignored, error: reason, seconds: 0,
                        shard: shard.description))
                counts.ignored += 1
                report(item.relativePath)
                continue
            }
            var end = next
            while end < pending.count, end - next < max(1, batchSize), pending[end].skipReason == nil { end += 1 }
            let batch = Array(pending[next..<end])
            next = end
            let batchStart = clock()
            var prepared = prepare(batch)
            if prepared.count != batch.count {
                prepared = batch.map { _ in
                    .failure(DataSetError.invalid("internal: preparing a batch gave a wrong count"))
                }
            }
            // The batch's shared work (loading, one classification pass) is split evenly over its images.
            let sharedSeconds = (clock() - batchStart) / Double(batch.count)
            for (item, preparation) in zip(batch, prepared) {
                if shouldStop() {
                    stopped = true
                    break batches
                }
                let begin = clock()
                let record: ShardRecord
                do {
                    let outcome = try explain(item, preparation.get())
                    record = ShardRecord(
                        input: item.relativePath, label: item.label, status: .ok, prediction: outcome.prediction,
                        top: outcome.top, methods: outcome.methods, files: outcome.files.isEmpty ? nil : outcome.files,
                        seconds: sharedSeconds + clock() - begin, shard: shard.description)
                    counts.explained += 1
                } catch {
                    record = ShardRecord(
                        input: item.relativePath, label: item.label, status: .failed, error: "\(error)",
                        seconds: sharedSeconds + clock() - begin, shard: shard.description)
                    counts.failed += 1
                }
                try log.append(record)
                report(item.relativePath)
            }
        }
        return DataSetRunSummary(
            shard: shard, assigned: mine.count, explained: counts.explained, skipped: counts.skipped,
            failed: counts.failed, ignored: counts.ignored, stopped: stopped, recordsFile: log.url)
    }
}
