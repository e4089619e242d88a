import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// `explain --metrics` in process: scores under "metrics", curves in the same file set, the report section.
@Suite struct ExplanationJobMetricsTests {
    static let stem = "png_rgb8_300x200"

    static func job(_ metrics: [FaithfulnessMetric], step: Int? = nil) throws -> ExplanationJob {
        var job = try ExplanationJobTests.job()
        var options = FaithfulnessOptions()
        options.step = step ?? 56 * 8
        options.roadNoise = 0
        options.infidelitySamples = 3
        options.sensitivitySamples = 2
        job.metrics = MetricSettings(metrics: metrics, options: options)
        return job
    }

    static func metrics(_ result: ExplanationFileSet, method: String) throws -> [String: Double] {
        let json = try #require(result.files.entries.first { $0.name == "\(stem).\(method).json" }?.data)
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        return try #require(record["metrics"] as? [String: Double], "no metrics in \(method)'s JSON")
    }

    @Test func allMetricsGoIntoEachMethodsJSONAndCurvesFile() throws {
        let result = try Self.job(FaithfulnessMetric.allCases).run(
            PipelineFixtures.pngImage.path, methods: [.integratedGradients, .gradCAM], target: nil)
        let names = Set(result.files.entries.map(\.name))
        for method in ["integrated-gradients", "grad-cam"] {
            #expect(names.contains("\(Self.stem).\(method).curves.json"))
        }
        let ig = try Self.metrics(result, method: "integrated-gradients")
        #expect(Set(ig.keys) == Set(FaithfulnessScores.keys))
        // Grad-CAM's map is not shaped like the image: infidelity does not apply (Captum asserts equal shapes).
        let cam = try Self.metrics(result, method: "grad-cam")
        #expect(Set(cam.keys) == Set(FaithfulnessScores.keys).subtracting(["infidelity"]))
        for (key, value) in ig where key.hasSuffix("_auc") { #expect((0...1).contains(value), "\(key) = \(value)") }

        let curvesData = try #require(
            result.files.entries.first { $0.name == "\(Self.stem).grad-cam.curves.json" }?.data)
        let curves = try JSONDecoder().decode(CausalCurves.self, from: curvesData)
        // 56×56 = 3136 pixels, 448 per step: 7 steps, 8 points; the AUC stored is the curve's.
        let deletion = try #require(curves.deletion)
        #expect(deletion.scores.count == 8)
        #expect(abs(deletion.auc - (cam["deletion_auc"] ?? -1)) <= 1e-12)

        let html = String(
            decoding: try #require(result.files.entries.first { $0.name == "\(Self.stem).report.html" }?.data),
            as: UTF8.self)
        #expect(html.contains("Faithfulness metrics") && html.contains("<svg") && html.contains("deletion_auc"))
        #expect(!html.contains("<script"))
        // Each method's section lists its own scores beside its parameters.
        let camSection = try #require(html.components(separatedBy: "<section class=\"method\"").last)
        let deletionRow =
            "<tr><th>deletion_auc ↓</th><td>\(SVGChart.number(try #require(cam["deletion_auc"]), digits: 4))</td></tr>"
        #expect(camSection.contains(deletionRow), "\(deletionRow) not in Grad-CAM's section")
        #expect(camSection.contains("<tr><th>insertion_auc ↑</th>"))
    }

    @Test func onlyTheAskedMetricsAppear() throws {
        let result = try Self.job([.deletion, .confidence]).run(
            PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 3)
        #expect(
            Set(try Self.metrics(result, method: "grad-cam").keys) == [
                "deletion_auc", "confidence_drop", "confidence_increase",
            ])
    }

    @Test func withoutMetricsNothingChanges() throws {
        let result = try ExplanationJobTests.job().run(PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 3)
        #expect(!result.files.entries.contains { $0.name.hasSuffix(".curves.json") })
        let json = try #require(result.files.entries.first { $0.name.hasSuffix(".json") }?.data)
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(record["metrics"] == nil)
    }

    @Test func aStepLargerThanTheImageIsAnError() throws {
        #expect {
            _ = try Self.job([.deletion], step: 56 * 56 + 1).run(
                PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 3)
        } throws: { error in
            "\(error)".contains("metric step 3137") && "\(error)".contains("png_rgb8_300x200")
        }
    }
}

/// `evaluation.html`: self-contained, best method marked, curves drawn.
@Suite struct EvaluationHTMLTests {
    static func summary() throws -> DatasetSummary {
        var records: [ImageMetricRecord] = []
        for i in 0..<4 {
            for (method, shift) in [("grad-cam", 0.0), ("occlusion", 0.2)] {
                var s = FaithfulnessScores()
                s.deletionAUC = 0.3 + shift + Double(i) * 0.01
                s.insertionAUC = 0.6 - shift
                records.append(
                    ImageMetricRecord(
                        image: "rust/\(i).png", label: i < 2 ? "rust" : "healthy", method: method, scores: s,
                        deletionCurve: [1, 0.5 - shift, 0.1], insertionCurve: [0.1, 0.5, 0.9 - shift]))
            }
        }
        return try DatasetAggregator.summarize(
            records, agreement: ["rust/0.png": 0.1, "rust/1.png": 0.5], resamples: 200, seed: 7)
    }

    @Test func pageShowsTablesCurvesAndDisagreements() throws {
        let report = EvaluationReport(
            images: 4, accuracy: 1, loss: 0.1, classes: [], confusion: [], labels: [], explanations: nil,
            sanityCheck: nil, faithfulness: try Self.summary(),
            randomizationCurves: nil)
        #expect(EvaluationHTML.applies(to: report))
        let html = EvaluationHTML.render(report)
        #expect(!html.contains("<script"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        // grad-cam has the lower deletion AUC and the higher insertion AUC: best in both columns.
        #expect(html.contains("<td class=\"best\">0.3150"))
        #expect(html.contains("<td class=\"best\">0.6000"))
        #expect(html.contains("Class rust") && html.contains("Class healthy"))
        #expect(html.range(of: "rust/0.png")!.lowerBound < html.range(of: "rust/1.png")!.lowerBound)
    }

    @Test func chartEscapesNamesAndSkipsNonFinitePoints() {
        let svg = SVGChart.lines(
            title: "a<b", xLabel: "x", yLabel: "y", series: [("m&n", [0, .nan, 1])], xValues: nil)
        #expect(svg.contains("a&lt;b") && svg.contains("m&amp;n"))
        #expect(!svg.contains("nan"))
    }
}
