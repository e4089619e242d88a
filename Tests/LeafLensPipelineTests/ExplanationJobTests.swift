import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// `explain`'s file set, in process: names, records and the all-or-nothing commit.
@Suite struct ExplanationJobTests {
    static func job() throws -> ExplanationJob {
        let model = try PipelineFixtures.tinyModel()
        var settings = ExplainerSettings()
        settings.integratedGradients.steps = 4
        let methods: [AttributionMethod] = [.integratedGradients, .gradCAM]
        return ExplanationJob(
            explainer: try Explainer(model: model, settings: settings, methods: methods),
            loader: InputLoader(size: InputSize(resize: 64, crop: 56)), visualization: VisualizationSettings(),
            weights: model.description)
    }

    @Test func severalMethodsMakePanelAndReport() throws {
        let path = PipelineFixtures.pngImage.path
        let result = try Self.job().run(path, methods: [.integratedGradients, .gradCAM], target: nil)
        let stem = "png_rgb8_300x200"
        let expected =
            ["integrated-gradients", "grad-cam"].flatMap { method in
                ["npy", "json", "png", "overlay.png"].map { "\(stem).\(method).\($0)" }
            } + ["\(stem).panel.png", "\(stem).report.html"]
        #expect(result.files.entries.map(\.name) == expected)
        #expect(result.target == result.predicted.index)

        let json = try #require(result.files.entries.first { $0.name == "\(stem).grad-cam.json" }?.data)
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(
            Set(record.keys) == [
                "input", "method", "model", "preprocessing", "predicted", "target", "parameters", "attribution_shape",
                "wall_time_seconds", "visualization", "files", "rendering",
            ])
        let preprocessing = try #require(record["preprocessing"] as? [String: Any])
        #expect(preprocessing["resize"] as? Int == 64 && preprocessing["crop"] as? Int == 56)
        #expect(preprocessing["input_shape"] as? [Int] == [1, 3, 56, 56])
        let files = try #require(record["files"] as? [String: Any])
        #expect(files["heat_map"] as? String == "\(stem).grad-cam.png")
        #expect(json.last == 0x0A)
    }

    @Test func oneMethodMakesNoPanel() throws {
        let result = try Self.job().run(PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 3)
        #expect(result.files.entries.count == 4)
        #expect(result.target == 3)
    }

    @Test func commitWritesEveryFile() throws {
        let directory = try FixturePaths.temporaryDirectory("pipeline-commit")
        defer { try? FileManager.default.removeItem(at: directory) }
        var files = PendingFiles()
        files.add("a.txt", Data("a".utf8))
        files.add("b.txt", Data("b".utf8))
        try files.commit(into: directory.appendingPathComponent("out"))
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("out").path)
        #expect(written.sorted() == ["a.txt", "b.txt"])
    }

    @Test func unreadableInputNamesTheFile() throws {
        let error = try #require(throws: PipelineError.self) {
            try Self.job().run("/nonexistent/leaf.png", methods: [.gradCAM], target: nil)
        }
        #expect(error.message == "/nonexistent/leaf.png: no such file")
    }
}

/// The one JSON encoder: camelCase properties, exactly today's snake_case keys on disk.
@Suite struct ReportJSONTests {
    static func keys<T: Encodable>(_ value: T) throws -> Set<String> {
        let line = try ReportJSON.line(value)
        return Set(try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).keys)
    }

    @Test func snakeCaseKeys() throws {
        let score = ExplanationScoreKeys.sample
        #expect(
            try Self.keys(score) == [
                "method", "images", "pointing_game", "pointing_game_strict", "tolerance_pixels",
                "positive_mass_in_lesion", "seconds",
            ])
        let report = EvaluationReport(
            images: 1, accuracy: 1, loss: 0, classes: [], confusion: [[1]], labels: ["a"], explanations: [score],
            sanityCheck: SanityCheckReport(images: 1, rows: []))
        #expect(
            try Self.keys(report) == [
                "images", "accuracy", "loss", "classes", "confusion", "labels", "explanations", "sanity_check",
            ])
        let line = try ReportJSON.line(report)
        #expect(!line.contains("\n") && line.hasPrefix("{\"accuracy\":"))  // sorted, one line
    }

    @Test func nonFiniteNumbersAreStrings() throws {
        let line = try ReportJSON.line(["x": Double.nan, "y": -Double.infinity])
        #expect(line == #"{"x":"nan","y":"-inf"}"#)
    }
}

enum ExplanationScoreKeys {
    static var sample: ExplanationScore {
        // Decoded from today's on-disk form, which also checks that the keys round-trip.
        let json = #"""
            {"method":"grad-cam","images":2,"pointing_game":0.5,"pointing_game_strict":0,"tolerance_pixels":9,
             "positive_mass_in_lesion":0.25,"seconds":1.5}
            """#
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // safe: a constant document of the right shape.
        return try! decoder.decode(ExplanationScore.self, from: Data(json.utf8))
    }
}
