import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// `explain --data` in process: item → files under OUT/<relative folder>/ and one record per image, with the
/// classification batched, bad files recorded and the run going on.
@Suite struct DataSetExplanationTests {
    static func explanation(_ out: URL, batchSize: Int = 3) throws -> DataSetExplanation {
        let model = try PipelineFixtures.tinyModel()
        var settings = ExplainerSettings()
        settings.integratedGradients.steps = 4
        let methods: [AttributionMethod] = [.integratedGradients, .gradCAM]
        let job = ExplanationJob(
            explainer: try Explainer(model: model, settings: settings, methods: methods),
            loader: InputLoader(size: InputSize(resize: 64, crop: 56)), visualization: VisualizationSettings(),
            weights: model.description)
        return DataSetExplanation(job: job, methods: methods, output: out, batchSize: batchSize)
    }

    /// c0/{a,b}.png, c1/c.png, c1/bad.png (text), c1/notes.txt, loose.png.
    static func dataFolder() throws -> URL {
        let root = try FixturePaths.temporaryDirectory("dataset-data")
        let png = try Data(contentsOf: PipelineFixtures.pngImage)
        for name in ["c0", "c1"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        for path in ["c0/a.png", "c0/b.png", "c1/c.png", "loose.png"] {
            try png.write(to: root.appendingPathComponent(path))
        }
        try Data("not a picture".utf8).write(to: root.appendingPathComponent("c1/bad.png"))
        try Data("notes".utf8).write(to: root.appendingPathComponent("c1/notes.txt"))
        return root
    }

    @Test func explainsRecordsAndResumes() throws {
        let data = try Self.dataFolder()
        let out = try FixturePaths.temporaryDirectory("dataset-out")
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: out)
        }
        let (items, classes) = try DataSetListing.folder(data)
        #expect(classes == ["c0", "c1"])
        #expect(
            items.map(\.relativePath) == [
                "c0/a.png", "c0/b.png", "c1/bad.png", "c1/c.png", "c1/notes.txt", "loose.png",
            ])
        #expect(items.map(\.label) == ["c0", "c0", "c1", "c1", "c1", nil])
        let explanation = try Self.explanation(out)
        let run = explanation.shardRun(items: items, shard: .whole)
        var seen: [DataSetProgress] = []
        let first = try explanation.run(run, progress: { seen.append($0) })
        #expect(first.explained == 4 && first.failed == 1 && first.ignored == 1 && first.skipped == 0)
        #expect(seen.last?.done == 6 && seen.last?.total == 6)

        let log = try ShardLog.read(ShardLog.recordsDirectory(out).appendingPathComponent("shard-0-of-1.jsonl"))
        let byInput = Dictionary(log.records.map { ($0.input, $0) }, uniquingKeysWith: { $1 })
        let a = try #require(byInput["c0/a.png"])
        #expect(a.status == .ok && a.label == "c0")
        #expect(a.top?.count == DataSetExplanation.topCount)
        #expect(a.prediction == a.top?.first)
        let ig = try #require(a.methods?["integrated-gradients"])
        #expect(ig.files.sorted() == ["json", "npy", "overlay.png", "png"].map { "c0/a.integrated-gradients.\($0)" })
        #expect(ig.parameters["steps"] == .number(4))
        #expect(ig.parameters["internal_batch_size"] != nil)
        #expect(ig.convergenceDelta?.isFinite == true)
        let cam = try #require(a.methods?["grad-cam"])
        #expect(cam.parameters["layer_shape"].map { if case .array = $0 { true } else { false } } == true)
        #expect(cam.convergenceDelta == nil)
        #expect(a.files?.sorted() == ["c0/a.panel.png", "c0/a.report.html"])
        for file in a.allFiles {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        #expect(byInput["loose.png"]?.allFiles.contains("loose.grad-cam.npy") == true)
        let bad = try #require(byInput["c1/bad.png"])
        #expect(bad.status == .failed)
        #expect(bad.error?.contains("bad.png") == true)
        #expect(byInput["c1/notes.txt"]?.status == .ignored)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("c1/bad.panel.png").path))

        // A rerun skips the complete images and retries the failed one; the ignored file is not redone.
        let second = try explanation.run(explanation.shardRun(items: items, shard: .whole))
        #expect(second.skipped == 5 && second.failed == 1 && second.explained == 0)

        let report = try DataSetReport.build(output: out)
        let summary = report.summary
        #expect(summary.images == 5 && summary.explained == 4 && summary.failed == 1 && summary.ignored == 1)
        #expect(summary.ignoredFiles == ["c1/notes.txt"])
        #expect(summary.failures.map(\.input) == ["c1/bad.png"])
        #expect(!summary.complete)
        #expect(report.methods.sorted() == ["grad-cam", "integrated-gradients"])
    }

    /// One forward pass for a batch gives each image the ranking a one-image pass gives (same classes in
    /// the same order; probabilities within float rounding).
    @Test func batchedClassificationMatchesOneByOne() throws {
        let explanation = try Self.explanation(URL(fileURLWithPath: "/nonexistent"))
        let inputs = try (0..<3).map { try PipelineFixtures.input(side: 56, seed: UInt64(10 + $0)) }
        let batched = try explanation.job.explainer.predictions(batch: inputs)
        #expect(batched.count == 3)
        for (input, ranking) in zip(inputs, batched) {
            let single = try explanation.job.explainer.predictions(input)
            #expect(ranking.map(\.index) == single.map(\.index))
            for (b, s) in zip(ranking, single) {
                #expect(abs(b.probability - s.probability) <= 1e-5 + 1e-4 * s.probability)
            }
        }
    }

    @Test func listAndOutputCollisions() throws {
        let root = try FixturePaths.temporaryDirectory("dataset-list")
        defer { try? FileManager.default.removeItem(at: root) }
        let list = root.appendingPathComponent("images.txt")
        try Data("# comment\nc0/a.png\n\n\(root.path)/c1/b.jpg\nc0/a.png\n".utf8).write(to: list)
        #expect(try DataSetListing.list(list).map(\.relativePath) == ["c0/a.png", "c1/b.jpg"])
        try Data("../outside.png\n".utf8).write(to: list)
        #expect(throws: DataSetError.self) { try DataSetListing.list(list) }
        try Data("x/leaf.png\nx/leaf.jpg\n".utf8).write(to: list)
        let error = #expect(throws: DataSetError.self) { try DataSetListing.list(list) }
        #expect(error?.description.contains("would both write x/leaf.*") == true)
    }

    @Test func rateAndTimeLeft() {
        var p = DataSetProgress(done: 4, total: 10, explained: 2, skipped: 2, failed: 0, elapsed: 4, current: "a.png")
        #expect(p.imagesPerSecond == 0.5)
        #expect(p.secondsLeft == 12)
        p = DataSetProgress(done: 2, total: 10, explained: 0, skipped: 2, failed: 0, elapsed: 0, current: "")
        #expect(p.imagesPerSecond == nil && p.secondsLeft == nil)
    }

    /// Parameters keep their snake_case keys and array values through a record's JSON line.
    @Test func parametersRoundTrip() throws {
        var parameters = MethodParameters()
        parameters.window = [3, 15, 15]
        parameters.internalBatchSize = 16
        parameters.relu = true
        let values = try JSONValue.object(parameters)
        #expect(
            values == [
                "window": .array([.number(3), .number(15), .number(15)]), "internal_batch_size": .number(16),
                "relu": .bool(true),
            ])
        let record = ShardRecord(
            input: "a.png", label: nil, status: .ok,
            methods: [
                "occlusion": .init(
                    files: [], parameters: values, metrics: ["deletion_auc": 0.25], convergenceDelta: .nan, seconds: 1)
            ],
            seconds: 1, shard: "0/1")
        let decoded = try ShardRecord.decode(line: try record.jsonLine())
        #expect(decoded.methods?["occlusion"]?.parameters == values)
        #expect(decoded.methods?["occlusion"]?.metrics == ["deletion_auc": 0.25])
        #expect(decoded.methods?["occlusion"]?.convergenceDelta?.isNaN == true)
    }

    /// Nested settings (GradientShap's, NoiseTunnel's) survive a record's JSON line: before objects were a
    /// case of `JSONValue`, every data-set image explained with gradient-shap failed to record.
    @Test func nestedParametersRoundTrip() throws {
        var parameters = MethodParameters()
        parameters.gradientShap = GradientShapRecord(
            baselines: ["zero", "noise"], samples: 50, stdev: 0, seed: 7, internalBatchSize: nil)
        parameters.noiseTunnel = NoiseTunnelRecord(kind: "smoothgrad", samples: 10, stdev: 1, batchSize: 5, seed: 3)
        let values = try JSONValue.object(parameters)
        guard case .object(let shap)? = values["gradient_shap"] else {
            Issue.record("gradient_shap is not an object: \(String(describing: values["gradient_shap"]))")
            return
        }
        #expect(shap["samples"] == .number(50))
        #expect(shap["baselines"] == .array([.string("zero"), .string("noise")]))
        #expect(
            values["noise_tunnel"]?.description == "{batch_size: 5, kind: smoothgrad, samples: 10, seed: 3, stdev: 1}")
        let record = ShardRecord(
            input: "a.png", label: nil, status: .ok,
            methods: ["gradient-shap": .init(files: [], parameters: values, convergenceDelta: 0.1, seconds: 1)],
            seconds: 1, shard: "0/1")
        let decoded = try ShardRecord.decode(line: try record.jsonLine())
        #expect(decoded.methods?["gradient-shap"]?.parameters == values)
    }
}
