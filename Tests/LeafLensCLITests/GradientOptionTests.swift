import Foundation
import LeafLensTestSupport
import Testing

/// `explain`'s gradient-family options as a user runs them: the new methods, NoiseTunnel, GradientShap
/// baselines, target control and Occlusion windows — and each bad value a usage error (exit 2) naming
/// its option, with nothing written.
@Suite("Gradient options")
struct GradientOptionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var files: [String: Data] = [:]
        var arguments: [String]
        var messages: [String]
        var testDescription: String { name }
    }

    static let png = TestFiles.png(width: 64, height: 64)

    static let cases: [Case] = [
        Case(
            name: "nt-samples 0",
            arguments: ["--method", "saliency", "--noise-tunnel", "smoothgrad", "--nt-samples", "0"],
            messages: ["--nt-samples", "1...100000", "0"]),
        Case(
            name: "unknown noise-tunnel kind",
            arguments: ["--method", "saliency", "--noise-tunnel", "smoothgrad_squared"],
            messages: ["--noise-tunnel", "smoothgrad_squared"]),
        Case(
            name: "noise tunnel over a non-gradient method",
            arguments: ["--method", "occlusion", "--noise-tunnel", "vargrad"],
            messages: ["--noise-tunnel", "gradient methods only", "occlusion"]),
        Case(
            name: "nt options without a noise tunnel", arguments: ["--method", "saliency", "--nt-stdev", "0.5"],
            messages: ["--nt-stdev", "only applies with --noise-tunnel"]),
        Case(
            name: "baseline file of the wrong shape",
            files: ["rows.npy": TestFiles.npy(shape: [3, 56, 56], values: .init(repeating: 0, count: 3 * 56 * 56))],
            arguments: ["--method", "gradient-shap", "--shap-baselines", "rows.npy"],
            messages: ["--shap-baselines", "rows.npy", "[3, 56, 56]", "[K, 3, H, W]"]),
        Case(
            name: "unknown shap baseline", arguments: ["--method", "gradient-shap", "--shap-baselines", "zero,white"],
            messages: ["--shap-baselines", "zero,white"]),
        Case(
            name: "label name that is not a class", arguments: ["--method", "saliency", "--target", "Tomato"],
            messages: ["--target", "'Tomato' is not a class label", "Tomato___Early_blight"]),
        Case(
            name: "versus label that is not a class", arguments: ["--method", "saliency", "--versus", "rust"],
            messages: ["--versus", "'rust' is not a class label"]),
        Case(
            name: "targets not top:K", arguments: ["--method", "saliency", "--targets", "3"],
            messages: ["--targets", "top:K"]),
        Case(
            name: "targets top:0", arguments: ["--method", "saliency", "--targets", "top:0"],
            messages: ["--targets", "top:K"]),
        Case(
            name: "gradient-shap samples 0", arguments: ["--method", "gradient-shap", "--samples", "0"],
            messages: ["--samples", "1...100000"]),
        Case(
            name: "bad window", arguments: ["--method", "occlusion", "--window", "15x"], messages: ["--window", "15x"]),
        Case(
            name: "bad channel window", arguments: ["--method", "occlusion", "--window-channels", "4:1"],
            messages: ["--window-channels", "4:1"]),
    ]

    @Test(arguments: cases)
    func badValuesAreUsageErrors(_ failure: Case) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-gradient")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, data) in failure.files.merging(["leaf.png": Self.png], uniquingKeysWith: { a, _ in a }) {
            try data.write(to: directory.appendingPathComponent(name))
        }
        let arguments =
            ["explain", "--weights", try CLI.requireTinyModel(), "--out", "out", "--quiet"] + CLI.smallImage
            + failure.arguments + ["leaf.png"]
        let result = try CLI.run(arguments, in: directory)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        for message in failure.messages {
            #expect(result.stderr.contains(message), "missing '\(message)' in: \(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"))
        #expect(CLI.contents(of: directory.appendingPathComponent("out")).isEmpty)
    }

    /// Every new method and modifier runs end to end and writes its files, named per class for top:K.
    @Test func newMethodsAndModifiersRun() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-gradient")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.png.write(to: directory.appendingPathComponent("leaf.png"))
        let model = try CLI.requireTinyModel()
        let first = try CLI.run(
            ["explain", "--weights", model, "--out", "a", "--quiet"] + CLI.smallImage
                + [
                    "--method", "gradient-shap,guided-backprop,deconvolution,guided-grad-cam", "--targets", "top:2",
                    "--shap-baselines", "black,input", "--samples", "2", "--output", "probability", "leaf.png",
                ],
            in: directory)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let written = CLI.contents(of: directory.appendingPathComponent("a"))
        #expect(written.count == 2 * (4 * 4 + 2), "\(written)")
        #expect(written.contains("leaf.guided-grad-cam.top2.overlay.png") && written.contains("leaf.top1.report.html"))

        let second = try CLI.run(
            ["explain", "--weights", model, "--out", "b", "--quiet"] + CLI.smallImage
                + [
                    "--method", "ig,saliency", "--steps", "4", "--noise-tunnel", "vargrad", "--nt-samples", "2",
                    "--seed", "3", "--target", "tomato___early_blight", "--versus", "0", "--method", "ig,saliency",
                    "--window", "8x16", "leaf.png",
                ],
            in: directory)
        #expect(second.status == 0, "stderr: \(second.stderr)")
        let json = try Data(contentsOf: directory.appendingPathComponent("b/leaf.saliency.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let parameters = try #require(record["parameters"] as? [String: Any])
        let tunnel = try #require(parameters["noise_tunnel"] as? [String: Any])
        #expect(tunnel["kind"] as? String == "vargrad" && tunnel["seed"] as? Int == 3)
        #expect((parameters["target_output"] as? [String: Any])?["versus"] as? Int == 0)
        #expect((record["target"] as? [String: Any])?["label"] as? String == "Tomato___Early_blight")
    }
}
