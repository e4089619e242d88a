import Foundation
import LeafLensTestSupport
import Testing

/// `explain --metrics` and `evaluate --metrics` as a user runs them, and their usage errors.
@Suite("Metrics")
struct MetricsCLITests {
    static func explain(_ options: [String], in directory: URL) throws -> CLI.Result {
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        return try CLI.run(
            ["explain", "--weights", try CLI.requireTinyModel(), "--out", "out", "--quiet"] + CLI.smallImage + options
                + ["leaf.png"],
            in: directory)
    }

    @Test func explainWritesMetricsAndCurves() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-metrics")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.explain(
            [
                "--method", "saliency,grad-cam", "--metrics", "deletion,insertion,road,confidence", "--metric-step",
                "392",
                "--road-noise", "0", "--metric-seed", "3",
            ], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let out = directory.appendingPathComponent("out")
        let files = CLI.contents(of: out)
        #expect(files.contains("leaf.saliency.curves.json") && files.contains("leaf.grad-cam.curves.json"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("leaf.saliency.json")))
                as? [String: Any])
        let metrics = try #require(json["metrics"] as? [String: Double])
        #expect(
            Set(metrics.keys) == [
                "deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_combined", "confidence_drop",
                "confidence_increase",
            ])
        let curves = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: out.appendingPathComponent("leaf.grad-cam.curves.json")))
                as? [String: Any])
        let deletion = try #require(curves["deletion"] as? [String: Any])
        #expect((deletion["scores"] as? [Double])?.count == 56 * 56 / 392 + 1)
        let html = try String(contentsOf: out.appendingPathComponent("leaf.report.html"), encoding: .utf8)
        #expect(html.contains("Faithfulness metrics") && html.contains("<svg"))
    }

    struct BadOption: CustomTestStringConvertible, Sendable {
        var options: [String]
        var message: String
        var testDescription: String { options.joined(separator: " ") }
    }

    static let badOptions = [
        BadOption(options: ["--metrics", "deletion,bogus"], message: "--metrics: unknown metric 'bogus'"),
        BadOption(options: ["--metrics", "deletion", "--metric-step", "0"], message: "--metric-step must be ≥ 1"),
        BadOption(
            options: ["--metrics", "deletion", "--metric-step", "3137"],
            message: "--metric-step 3137 is larger than the image (56×56"),
        BadOption(options: ["--metrics", "road", "--road-noise", "-1"], message: "--road-noise"),
        BadOption(options: ["--metrics", "infidelity", "--infidelity-stdev", "0"], message: "--infidelity-stdev"),
    ]

    @Test(arguments: badOptions)
    func badOptionsAreUsageErrors(_ bad: BadOption) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-metrics-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.explain(["--method", "saliency"] + bad.options, in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains(bad.message), "stderr: \(result.stderr)")
        #expect(CLI.contents(of: directory.appendingPathComponent("out")).isEmpty)
    }

    /// Two images per class of the bundled model's synthetic classes.
    static let dataSet: URL? = {
        guard let root = try? FixturePaths.temporaryDirectory("leaflens-cli-metrics-data") else { return nil }
        let result = try? CLI.run([
            "synth", "--out", root.appendingPathComponent("images").path, "--masks",
            root.appendingPathComponent("masks").path, "--per-class", "1", "--seed", "11", "--size", "64",
        ])
        return result?.status == 0 ? root : nil
    }()

    @Test func evaluateWritesSummaryAndPage() throws {
        let root = try #require(Self.dataSet, "leaflens synth failed")
        let out = root.appendingPathComponent("eval")
        let result = try CLI.run([
            "evaluate", "--data", root.appendingPathComponent("images").path, "--crop", "64", "--quiet",
            "--method", "grad-cam,saliency", "--metrics", "deletion,insertion", "--metric-step", "512",
            "--out", out.path,
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("faithfulness") && result.stdout.contains("deletion_auc"))
        let files = CLI.contents(of: out)
        #expect(files.contains("evaluation.html") && files.contains("metrics.json"))
        let metrics = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json")))
                as? [String: Any])
        let faithfulness = try #require(metrics["faithfulness"] as? [String: Any])
        let overall = try #require(faithfulness["overall"] as? [String: [String: [String: Any]]])
        #expect(Set(overall.keys) == ["grad-cam", "saliency"])
        let interval = try #require(overall["grad-cam"]?["deletion_auc"])
        let (mean, low, high) = (
            interval["mean"] as? Double ?? .nan, interval["low"] as? Double ?? .nan,
            interval["high"] as? Double ?? .nan
        )
        #expect(low <= mean && mean <= high)
        let html = try String(contentsOf: out.appendingPathComponent("evaluation.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("class=\"best\"") && !html.contains("<script"))
    }

    static let badEvaluateOptions = [
        BadOption(
            options: ["--mask-suffix", "_final_masked", "--method", "grad-cam", "--metrics", "deletion"],
            message: "--mask-suffix needs --masks"),
        BadOption(
            options: ["--mask-kind", "leaf", "--method", "grad-cam", "--metrics", "deletion"],
            message: "--mask-kind needs --masks"),
        BadOption(
            options: ["--masks", "m"], message: "--masks needs --method (explanations to score) or --sanity-check"),
        BadOption(
            options: ["--method", "grad-cam", "--metrics", "deletion,nope"], message: "--metrics: unknown metric 'nope'"
        ),
        BadOption(
            options: ["--method", "grad-cam", "--metrics", "deletion", "--metric-step", "0"],
            message: "--metric-step must be ≥ 1, got 0"),
    ]

    @Test(arguments: badEvaluateOptions)
    func badEvaluateOptionsAreUsageErrors(_ bad: BadOption) throws {
        let result = try CLI.run(["evaluate", "--data", "x"] + bad.options)
        #expect(result.status != 0)
        #expect(result.stderr.contains(bad.message), "stderr: \(result.stderr)")
    }

    /// A step larger than the input and a broken mask folder fail before the model runs, and nothing is written.
    @Test func evaluateChecksStepAndMasksBeforeTheModelRuns() throws {
        let root = try #require(Self.dataSet, "leaflens synth failed")
        let images = root.appendingPathComponent("images").path
        let out = try FixturePaths.temporaryDirectory("leaflens-cli-eval-early")
        defer { try? FileManager.default.removeItem(at: out) }
        let step = try CLI.run([
            "evaluate", "--data", images, "--crop", "64", "--method", "saliency", "--metrics", "deletion",
            "--metric-step", "4097", "--out", out.appendingPathComponent("a").path,
        ])
        #expect(step.status != 0)
        #expect(
            step.stderr.contains("--metric-step 4097 is larger than the image (64×64 = 4096 pixels)"), "\(step.stderr)")
        let masks = try CLI.run([
            "evaluate", "--data", images, "--crop", "64", "--method", "saliency", "--masks",
            out.appendingPathComponent("no-such-folder").path, "--out", out.appendingPathComponent("b").path,
        ])
        #expect(masks.status != 0)
        #expect(masks.stderr.contains("does not exist or is not a folder"), "\(masks.stderr)")
        #expect(CLI.contents(of: out).isEmpty)
    }

    /// PlantVillage's layout (Fixtures/segmented): `<name>.JPG` photos, `<name>_final_masked.jpg` leaves on black.
    @Test func plantVillageSegmentedMasksThroughTheCommand() throws {
        let segmented = FixturePaths.fixture("segmented")
        let out = try FixturePaths.temporaryDirectory("leaflens-cli-segmented")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLI.run([
            "evaluate", "--weights", try CLI.requireTinyModel(), "--data",
            segmented.appendingPathComponent("color").path,
            "--masks", segmented.appendingPathComponent("segmented").path, "--mask-suffix", "_final_masked",
            "--mask-kind", "leaf", "--method", "grad-cam,saliency", "--resize", "64", "--crop", "64", "--quiet",
            "--json",
            "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let shares = try #require(json["leaf_background"] as? [[String: Any]])
        #expect(shares.map { $0["images"] as? Int } == [4, 4])
        let html = try String(contentsOf: out.appendingPathComponent("evaluation.html"), encoding: .utf8)
        #expect(html.contains("Leaf versus background"))
    }

    @Test func evaluateMetricsNeedAMethod() throws {
        let result = try CLI.run(["evaluate", "--data", "x", "--metrics", "deletion"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--metrics needs --method"), "\(result.stderr)")
    }

    /// A private copy of the data set's masks, to break.
    static func maskCopy(_ name: String) throws -> (images: String, masks: URL, root: URL) {
        let root = try #require(Self.dataSet, "leaflens synth failed")
        let copy = try FixturePaths.temporaryDirectory(name)
        let masks = copy.appendingPathComponent("masks")
        try FileManager.default.copyItem(at: root.appendingPathComponent("masks"), to: masks)
        return (root.appendingPathComponent("images").path, masks, copy)
    }

    static func firstMask(_ masks: URL) throws -> URL {
        let files = try #require(FileManager.default.enumerator(atPath: masks.path)?.allObjects as? [String])
        let first = try #require(files.filter { $0.hasSuffix(".png") }.sorted().first)
        return masks.appendingPathComponent(first)
    }

    @Test func missingMasksAreNamedAndCounted() throws {
        let (images, masks, copy) = try Self.maskCopy("leaflens-cli-masks-missing")
        defer { try? FileManager.default.removeItem(at: copy) }
        let gone = try Self.firstMask(masks)
        try FileManager.default.removeItem(at: gone)
        let result = try CLI.run([
            "evaluate", "--data", images, "--masks", masks.path, "--method", "grad-cam", "--quiet",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--masks: 1 of 6 images have no mask"), "\(result.stderr)")
        #expect(result.stderr.contains(gone.lastPathComponent), "\(result.stderr)")
    }

    @Test func masksOfAnotherSizeAreAnError() throws {
        let (images, masks, copy) = try Self.maskCopy("leaflens-cli-masks-size")
        defer { try? FileManager.default.removeItem(at: copy) }
        try TestFiles.png(width: 32, height: 32).write(to: try Self.firstMask(masks))
        let result = try CLI.run([
            "evaluate", "--data", images, "--masks", masks.path, "--method", "grad-cam", "--quiet",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is 32×32 but its image is 64×64"), "\(result.stderr)")
    }

    @Test func leafMasksGiveLeafAndBackgroundShares() throws {
        let root = try #require(Self.dataSet, "leaflens synth failed")
        let images = root.appendingPathComponent("images").path
        // The photos themselves as "segmented" images: whatever is not near-black counts as leaf.
        let result = try CLI.run([
            "evaluate", "--data", images, "--masks", images, "--mask-kind", "leaf", "--method", "grad-cam,saliency",
            "--crop", "64", "--quiet", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let shares = try #require(json["leaf_background"] as? [[String: Any]])
        #expect(shares.map { $0["method"] as? String } == ["grad-cam", "saliency"])
        for share in shares {
            #expect((share["maximum_on_background"] as? Double).map { (0...1).contains($0) } == true)
            #expect((share["leaf_positive_share"] as? Double).map { (0...1).contains($0) } == true)
        }
    }
}
