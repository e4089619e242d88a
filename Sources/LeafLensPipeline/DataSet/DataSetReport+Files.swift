import Foundation
import LeafLensMath

extension DataSetReport {
    /// The summary as written to `summary.json` (snake_case keys).
    public struct Summary: Codable, Sendable, Equatable {
        public struct MethodMetric: Codable, Sendable, Equatable {
            public var method: String
            public var metric: String
            public var mean: Double
            public var images: Int
        }
        public struct Failure: Codable, Sendable, Equatable {
            public var input: String
            public var error: String
        }
        public var images: Int
        public var explained: Int
        public var failed: Int
        public var missing: Int
        /// Files of the data folder that are not images (recorded as ignored).
        public var ignored: Int
        public var ignoredFiles: [String]
        public var shardCount: Int
        public var missingShards: [Int]
        public var missingImages: [String]
        public var unreadableRecordLines: Int
        public var methods: [String]
        /// Over explained images whose true label is known.
        public var accuracy: Double?
        public var labelledImages: Int
        public var confusionLabels: [String]?
        /// `confusion[truth][prediction]`.
        public var confusion: [[Int]]?
        public var metrics: [MethodMetric]
        public var failures: [Failure]
        public var complete: Bool
    }

    public var summary: Summary {
        let confusion = self.confusion
        var metrics: [Summary.MethodMetric] = []
        for (method, values) in metricMeans.sorted(by: { $0.key < $1.key }) {
            for (metric, value) in values.sorted(by: { $0.key < $1.key }) {
                metrics.append(.init(method: method, metric: metric, mean: value.mean, images: value.count))
            }
        }
        return Summary(
            images: okRows.count + failedRows.count + missingImages.count, explained: okRows.count,
            failed: failedRows.count, missing: missingImages.count, ignored: ignoredRows.count,
            ignoredFiles: ignoredRows.map(\.input), shardCount: shardCount, missingShards: missingShards,
            missingImages: missingImages, unreadableRecordLines: unreadableLines, methods: methods,
            accuracy: confusion.map { Double($0.correct) / Double($0.total) }, labelledImages: confusion?.total ?? 0,
            confusionLabels: confusion?.labels, confusion: confusion?.counts, metrics: metrics,
            failures: failedRows.map { .init(input: $0.input, error: $0.error ?? "unknown error") },
            complete: missingShards.isEmpty && missingImages.isEmpty && failedRows.isEmpty)
    }

    /// `index.jsonl`: one line per image (its latest record), sorted by input.
    public func indexJSONLines() throws -> Data {
        var data = Data()
        for (i, row) in rows.enumerated() {
            // The stored line is the record as LeafLens encoded it; copying it skips a second encoding.
            if i < rowLines.count, !rowLines[i].isEmpty {
                data.append(rowLines[i])
            } else {
                data.append(try row.jsonLine())
            }
            data.append(UInt8(ascii: "\n"))
        }
        return data
    }

    /// `index.csv`: one row per image. Metric columns are `<method>.<metric>`; file columns list each
    /// method's files separated by `;`. RFC 4180 quoting.
    public func indexCSV() -> String {
        var metricColumns: [(String, String)] = []
        for method in methods {
            var keys = Set<String>()
            for row in rows { keys.formUnion(row.methods?[method]?.metrics?.keys ?? [:].keys) }
            metricColumns += keys.sorted().map { (method, $0) }
        }
        var header = ["input", "label", "status", "predicted", "probability", "correct", "seconds", "shard", "error"]
        header += methods.map { "\($0).files" }
        header += metricColumns.map { "\($0.0).\($0.1)" }
        var lines = [header.map(Self.csvField).joined(separator: ",")]
        for row in rows {
            var fields = [
                row.input, row.label ?? "", row.status.rawValue, row.prediction?.label ?? "",
                row.prediction.map { String(format: "%.6f", $0.probability) } ?? "",
                row.label.flatMap { label in row.prediction.map { $0.label == label ? "true" : "false" } } ?? "",
                String(format: "%.3f", row.seconds), row.shard, row.error ?? "",
            ]
            fields += methods.map { (row.methods?[$0]?.files ?? []).joined(separator: ";") }
            fields += metricColumns.map { column in
                row.methods?[column.0]?.metrics?[column.1].map { String(format: "%.6g", $0) } ?? ""
            }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes `index.jsonl`, `index.csv`, `summary.json` and `summary.html` into `output`, each atomically.
    public func write(to output: URL, options: HTMLOptions = .init()) throws(DataSetError) {
        func put(_ data: Data, _ name: String) throws(DataSetError) {
            let url = output.appendingPathComponent(name)
            do { try AtomicWrite.write(data, to: url) } catch { throw .io(url.path, "\(error)") }
        }
        do {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try put(try indexJSONLines(), "index.jsonl")
            try put(Data(indexCSV().utf8), "index.csv")
            try put(try encoder.encode(summary), "summary.json")
        } catch let error as DataSetError {
            throw error
        } catch { throw .io(output.path, "cannot encode the report: \(error)") }
        try put(Data(html(output: output, options: options).utf8), "summary.html")
    }
}
