import Foundation
import LeafLensPipeline
import LeafLensTestSupport
import Testing

/// `explain` with the CAM family and the segment methods: bad option values are usage errors (exit 2)
/// naming the option and leaving nothing behind; the help lists every method with its reference.
@Suite("Explain: CAM family and segment methods")
struct ExplainCAMTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var messages: [String]
        var labelSide: Int? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "unknown method", arguments: ["--method", "grad-cam-minus-minus"],
            messages: ["--method", "grad-cam-minus-minus"]),
        Case(
            name: "unknown segments spec", arguments: ["--method", "lime", "--segments", "hex:4"],
            messages: ["--segments hex:4", "grid:N"]),
        Case(
            name: "grid without N", arguments: ["--method", "feature-ablation", "--segments", "grid:x"],
            messages: ["--segments grid:x"]),
        Case(
            name: "grid finer than the input", arguments: ["--method", "feature-ablation", "--segments", "grid:57"],
            messages: ["--segments grid:57", "56×56"]),
        Case(
            name: "segment image of the wrong size",
            arguments: ["--method", "feature-ablation", "--segments", "labels.png"],
            messages: ["--segments labels.png", "56×56", "40×40"], labelSide: 40),
        Case(
            name: "zero samples", arguments: ["--method", "kernel-shap", "--samples", "0"],
            messages: ["--samples", "got 0"]),
        Case(
            name: "a layer the model lacks", arguments: ["--method", "score-cam", "--layer", "layer3,layer9"],
            messages: ["--layer layer9", "available"]),
        Case(
            name: "an empty layer", arguments: ["--method", "layer-cam", "--layer", "layer3,"],
            messages: ["--layer layer3,", "empty"]),
        Case(
            name: "several layers for Captum's grad-cam",
            arguments: ["--method", "grad-cam", "--layer", "layer3,layer4"],
            messages: ["--layer layer3,layer4", "--cam-postprocess grad-cam"]),
        Case(
            name: "unknown postprocessing", arguments: ["--method", "grad-cam", "--cam-postprocess", "opencv"],
            messages: ["--cam-postprocess"]),
        Case(
            name: "zero CAM batch", arguments: ["--method", "ablation-cam", "--cam-batch-size", "0"],
            messages: ["--cam-batch-size"]),
        Case(
            name: "unknown LIME model", arguments: ["--method", "lime", "--lime-model", "ridge"],
            messages: ["--lime-model"]),
    ]

    static let png = TestFiles.png(width: 64, height: 64)

    @Test(arguments: cases)
    func badInputIsAUsageError(_ failure: Case) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-cam")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.png.write(to: directory.appendingPathComponent("leaf.png"))
        if let side = failure.labelSide {
            try TestFiles.png(width: side, height: side).write(to: directory.appendingPathComponent("labels.png"))
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

    @Test func helpNamesEveryMethodAndItsReference() throws {
        let result = try CLI.run(["explain", "--help"])
        #expect(result.status == 0)
        let text = result.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for method in AttributionMethod.allCases {
            #expect(text.contains(method.rawValue), "\(method.rawValue)")
            #expect(text.contains(method.reference), "\(method.reference)")
        }
        for option in [
            "--layer", "--eigen-smooth", "--aug-smooth", "--cam-batch-size", "--cam-postprocess", "--segments",
            "--samples", "--seed", "--lime-model",
        ] {
            #expect(text.contains(option), "\(option)")
        }
    }

    @Test func camAndSegmentMethodsWriteTheirFiles() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-cam")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.png.write(to: directory.appendingPathComponent("leaf.png"))
        let result = try CLI.run(
            ["explain", "--weights", try CLI.requireTinyModel(), "--out", "out", "--quiet"] + CLI.smallImage
                + [
                    "--method", "eigen-cam,lime", "--layer", "layer3,layer4", "--segments", "slic:6", "--samples", "4",
                    "--seed", "9", "leaf.png",
                ],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let written = CLI.contents(of: directory.appendingPathComponent("out"))
        let expected =
            ["eigen-cam", "lime"].flatMap { m in ["json", "npy", "overlay.png", "png"].map { "leaf.\(m).\($0)" } }
            + ["leaf.panel.png", "leaf.report.html"]
        #expect(written == expected.sorted())
        let json = try Data(contentsOf: directory.appendingPathComponent("out/leaf.lime.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let parameters = try #require(record["parameters"] as? [String: Any])
        #expect(parameters["seed"] as? Int == 9 && parameters["samples"] as? Int == 4)
        #expect(parameters["segments"] as? String == "slic:6,10.0")
    }
}
