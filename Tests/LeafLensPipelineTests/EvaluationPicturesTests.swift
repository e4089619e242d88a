import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import LeafLensTraining
import Testing

@testable import LeafLensPipeline

/// `evaluation.html`'s "where the methods disagree most" with pictures: the thumbnails belong to the
/// images the summary lists, in its order, and the page embeds them (no network, no script).
@Suite(.serialized) struct EvaluationPicturesTests {
    static func candidate(_ image: String, _ rho: Double) throws -> DisagreementCollector.Candidate {
        .init(
            image: image, label: "x", rho: rho,
            display: try RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 9, count: 48)), maps: [])
    }

    @Test func collectorKeepsTheLowestAgreementAsTheAggregatorOrdersIt() throws {
        var collector = DisagreementCollector(capacity: 3)
        let offers: [(String, Double)] = [
            ("e", 0.9), ("b", 0.2), ("d", 0.2), ("a", 0.5), ("c", -0.1), ("f", 0.2), ("g", 1),
        ]
        for (image, rho) in offers { collector.offer(try Self.candidate(image, rho)) }
        #expect(collector.kept.map(\.image) == ["c", "b", "d"])
        let summary = try DatasetAggregator.summarize(
            [], agreement: Dictionary(uniqueKeysWithValues: offers), topDisagreements: 3)
        #expect(summary.disagreements.map(\.image) == collector.kept.map(\.image))
        var none = DisagreementCollector(capacity: 0)
        none.offer(try Self.candidate("a", 0))
        #expect(none.kept.isEmpty)
    }

    static func settings() -> (ScoringSettings, MetricSettings) {
        var settings = ScoringSettings()
        settings.methods = [.saliency, .gradCAM, .inputXGradient]
        var options = FaithfulnessOptions()
        options.step = 512
        return (settings, MetricSettings(metrics: [.deletion], options: options))
    }

    /// Six synthetic 64×64 leaves scored once with 32-px thumbnails, and the plain summary of the same run.
    static let scored:
        Result<(summary: DatasetSummary, pictures: [DisagreementPicture], plain: DatasetSummary), any Error> =
            Result {
                let root = try FixturePaths.temporaryDirectory("evaluation-pictures")
                defer { try? FileManager.default.removeItem(at: root) }
                let images = root.appendingPathComponent("images")
                _ = try SyntheticDataset.generate(out: images, masks: nil, perClass: 1, seed: 2_026, size: 64)
                // A seeded width-4 ResNet18 with the synthetic classes' labels (fast; the maps need not be good).
                let network = try ResNet18<Float>.seeded(
                    seed: 7, configuration: ResNet18Configuration(classCount: SyntheticData.classNames.count, width: 4),
                    labels: SyntheticData.classNames)
                let evaluation = try Evaluation(
                    model: LoadedModel(network, description: "tiny"), data: images.path,
                    size: InputSize(resize: 64, crop: 64))
                let (settings, metrics) = Self.settings()
                let scoring = evaluation.scoring(settings)
                let (summary, pictures) = try scoring.faithfulnessWithPictures(metrics, thumbnailSide: 32)
                return (summary, pictures, try scoring.faithfulness(metrics))
            }

    @Test func thumbnailsOfTheListedImagesAreEmbeddedInThePage() throws {
        let (summary, pictures, plainSummary) = try Self.scored.get()
        // The old entry point gives the same summary.
        #expect(plainSummary == summary)
        // Six images, three methods: the five with the lowest agreement, each with four thumbnails.
        #expect(summary.disagreements.count == 5)
        #expect(pictures.map(\.image) == summary.disagreements.map(\.image))
        #expect(pictures.map(\.meanPairwiseSpearman) == summary.disagreements.map(\.meanPairwiseSpearman))
        for p in pictures {
            #expect(p.maps.map(\.method) == ["saliency", "grad-cam", "input-x-gradient"])
            #expect(p.label == String(p.image.split(separator: "/")[0]))
            #expect(p.side == 32)
            for png in [p.input] + p.maps.map(\.png) {
                let image = try ImageDecoder.decode(png, source: p.image)
                #expect(image.width == 32 && image.height == 32)
            }
            // Saliency is |gradient| (no negatives), input × gradient is signed.
            #expect(p.maps[0].sign == .positive && p.maps[2].sign == .all)
        }
        let report = EvaluationReport(
            images: 6, accuracy: 1, loss: 0, classes: [], confusion: [], labels: [], explanations: nil,
            sanityCheck: nil, faithfulness: summary, randomizationCurves: nil)
        let html = EvaluationHTML.render(report, pictures: pictures)
        #expect(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1 == 5 * 4)
        // Nothing to fetch: no script, no link, no URL but the SVG namespace name.
        let fetchable = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!fetchable.contains("<script") && !fetchable.contains("http:") && !fetchable.contains("https:"))
        #expect(!fetchable.contains("src=\"file") && !fetchable.contains("<link") && !fetchable.contains("url("))
        for d in summary.disagreements {
            #expect(html.contains("alt=\"grad-cam map of \(d.image)\""))
        }
        // Page order is the summary's (lowest ρ first).
        let positions = summary.disagreements.compactMap { html.range(of: "alt=\"input \($0.image)\"")?.lowerBound }
        #expect(positions.count == 5 && positions == positions.sorted())
        // Without pictures the images are still listed, as a table.
        let plain = EvaluationHTML.render(report)
        #expect(!plain.contains("data:image/png") && plain.contains("mean pairwise Spearman ρ"))
        for d in summary.disagreements { #expect(plain.contains(d.image)) }
    }

    @Test func thumbnailsShrinkLargeInputsAndKeepSmallOnes() throws {
        var pixels = [UInt8](repeating: 0, count: 200 * 200 * 3)
        for i in pixels.indices { pixels[i] = UInt8(i % 251) }
        let large = try RGBImage(width: 200, height: 200, pixels: pixels)
        let map = (0..<(200 * 200)).map { Float($0 % 200) - 100 }
        let candidate = DisagreementCollector.Candidate(
            image: "a/b.png", label: "a", rho: 0.1, display: large,
            maps: [("m", map), ("zero", [Float](repeating: 0, count: 40_000))])
        let picture = try DisagreementCollector.render(candidate, rho: 0.1, side: 112)
        #expect(picture.side == 112)
        #expect(try ImageDecoder.decode(picture.maps[0].png).width == 112)
        #expect(picture.maps.map(\.sign) == [.all, .positive] && picture.maps.map(\.blank) == [false, true])
        let small = try DisagreementCollector.render(
            .init(image: "s", label: "a", rho: 0, display: try Self.candidate("s", 0).display, maps: []), rho: 0,
            side: 112)
        let smallWidth = try ImageDecoder.decode(small.input).width
        #expect(small.side == 4 && smallWidth == 4)
        // A map that does not fit its image is an error naming the image, not a trap.
        let bad = DisagreementCollector.Candidate(
            image: "a/c.png", label: "a", rho: 0, display: large, maps: [("m", [1, 2])])
        let error = try #require(throws: PipelineError.self) {
            try DisagreementCollector.render(bad, rho: 0, side: 112)
        }
        #expect("\(error)".contains("a/c.png"))
    }
}

/// The report encoder's key strategy rewrites property names only: dictionary keys (class names,
/// method names, metric keys) reach `metrics.json` exactly as given.
@Suite struct ReportJSONDictionaryKeyTests {
    static let classes = [
        "Tomato___Early_blight", "Corn_(maize)___Northern_Leaf_Blight", "Pepper,_bell___healthy",
        "CamelCaseClass", "Apple___Cedar_apple_rust",
    ]
    static let methods = ["grad-cam", "integrated-gradients", "GradCAMPlusPlus"]

    static func report() throws -> EvaluationReport {
        var records: [ImageMetricRecord] = []
        for (c, label) in classes.enumerated() {
            for (m, method) in methods.enumerated() {
                var s = FaithfulnessScores()
                s.deletionAUC = 0.1 * Double(m + 1) + 0.01 * Double(c)
                s.roadCombined = 0.05 * Double(m)
                records.append(
                    ImageMetricRecord(
                        image: "\(label)/img \(c).JPG", label: label, method: method, scores: s,
                        deletionCurve: [1, 0.5, 0], insertionCurve: [0, 0.5, 1]))
            }
        }
        let summary = try DatasetAggregator.summarize(
            records, agreement: ["Tomato___Early_blight/img 0.JPG": 0.25], resamples: 50, seed: 1)
        var report = EvaluationReport(
            images: classes.count, accuracy: 0.5, loss: 1, classes: [], confusion: [], labels: classes,
            explanations: nil, sanityCheck: nil, faithfulness: summary, randomizationCurves: nil)
        report.classes = classes.map { .init(label: $0, precision: 1, recall: 1, f1: 1, support: 1) }
        report.leafBackground = [
            LeafBackgroundScore(
                method: "GradCAMPlusPlus", images: 1, leafPositiveShare: 1, leafAbsoluteShare: 1, maximumOnBackground: 0
            )
        ]
        return report
    }

    @Test(arguments: [ReportJSON.Layout.line, .document])
    func classAndMethodNamesAreKeptExactly(_ layout: ReportJSON.Layout) throws {
        let data =
            layout == .line
            ? Data(try ReportJSON.line(try Self.report()).utf8) : try ReportJSON.document(try Self.report())
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // Property names: snake_case, as before.
        #expect(
            Set(json.keys) == [
                "images", "accuracy", "loss", "classes", "confusion", "labels", "faithfulness",
                "leaf_background",
            ])
        let faithfulness = try #require(json["faithfulness"] as? [String: Any])
        #expect(
            Set(faithfulness.keys) == [
                "overall", "per_class", "best", "mean_deletion_curve", "mean_insertion_curve",
                "disagreements", "bootstrap_resamples", "confidence_level", "seed",
            ])
        // Dictionary keys: exactly the names given.
        let perClass = try #require(faithfulness["per_class"] as? [String: [String: Any]])
        #expect(Set(perClass.keys) == Set(Self.classes))
        for methods in perClass.values { #expect(Set(methods.keys) == Set(Self.methods)) }
        let overall = try #require(faithfulness["overall"] as? [String: [String: [String: Any]]])
        #expect(Set(overall.keys) == Set(Self.methods))
        #expect(Set(try #require(overall["GradCAMPlusPlus"]).keys) == ["deletion_auc", "road_combined"])
        #expect(Set(try #require(overall["grad-cam"]?["deletion_auc"]).keys) == ["mean", "low", "high", "count"])
        let best = try #require(faithfulness["best"] as? [String: String])
        #expect(Set(best.keys) == ["deletion_auc", "road_combined"] && Set(best.values).isSubset(of: Self.methods))
        #expect(best["deletion_auc"] == "grad-cam")
        #expect(Set(try #require(faithfulness["mean_deletion_curve"] as? [String: Any]).keys) == Set(Self.methods))
        let disagreement = try #require((faithfulness["disagreements"] as? [[String: Any]])?.first)
        #expect(disagreement["image"] as? String == "Tomato___Early_blight/img 0.JPG")
        #expect((json["classes"] as? [[String: Any]])?.compactMap { $0["label"] as? String } == Self.classes)
        #expect((json["leaf_background"] as? [[String: Any]])?.first?["method"] as? String == "GradCAMPlusPlus")
    }
}
