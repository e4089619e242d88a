import Foundation
import LeafLensTestSupport
import Testing

/// `explain`'s picture options (issue 14): bad values are usage errors (exit 2, nothing written);
/// good ones reach the files.
@Suite("Rendering options")
struct RenderingOptionsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var messages: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "masked view with sign all", arguments: ["--views", "masked", "--sign", "all"],
            messages: ["masked", "sign", "all"]),
        Case(
            name: "alpha view with Grad-CAM drawn with sign all (--no-relu)",
            arguments: ["--views", "heat,alpha", "--no-relu"],
            messages: ["alpha", "grad-cam", "sign all"]),
        Case(
            name: "image weight above 1", arguments: ["--image-weight", "1.5"],
            messages: ["--image-weight", "[0, 1]", "1.5"]),
        Case(
            name: "image weight below 0", arguments: ["--image-weight", "-0.1"], messages: ["--image-weight", "[0, 1]"]),
        Case(name: "image weight not a number", arguments: ["--image-weight", "nan"], messages: ["--image-weight"]),
        Case(name: "unknown style", arguments: ["--style", "matplotlib"], messages: ["--style", "matplotlib"]),
        Case(name: "unknown view", arguments: ["--views", "heat,contour"], messages: ["--views", "heat,contour"]),
        Case(name: "empty view list", arguments: ["--views", ","], messages: ["--views"]),
        Case(name: "unknown scale", arguments: ["--scale", "global"], messages: ["--scale", "global"]),
        Case(
            name: "unknown normalization", arguments: ["--normalize", "zscore"], messages: ["--normalize", "zscore"]),
        Case(name: "unknown overlay base", arguments: ["--overlay", "sepia"], messages: ["--overlay", "sepia"]),
        Case(
            name: "colour bar neither on nor off", arguments: ["--colorbar", "yes"], messages: ["--colorbar", "yes"]),
    ]

    @Test(arguments: cases)
    func usageError(_ failure: Case) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-rendering")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        let arguments =
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig,grad-cam", "--steps", "4", "--out",
                "out",
                "--quiet",
            ] + CLI.smallImage + failure.arguments + ["leaf.png"]
        let result = try CLI.run(arguments, in: directory)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        for message in failure.messages {
            #expect(result.stderr.contains(message), "missing '\(message)' in: \(result.stderr)")
        }
        #expect(CLI.contents(of: directory.appendingPathComponent("out")).isEmpty)
    }

    /// A data-set run draws each image as it goes (and its shards run apart), so no scale can span it.
    @Test func sharedScaleInADataSetRunIsAUsageError() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-rendering-data")
        defer { try? FileManager.default.removeItem(at: directory) }
        let images = directory.appendingPathComponent("data/rust")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try TestFiles.png(width: 64, height: 64).write(to: images.appendingPathComponent("leaf.png"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "saliency", "--out", "out", "--quiet",
                "--scale", "shared", "--data", "data",
            ] + CLI.smallImage,
            in: directory)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--scale shared") && result.stderr.contains("--data/--list"), "\(result.stderr)")
        #expect(CLI.contents(of: directory.appendingPathComponent("out")).isEmpty)
    }

    @Test("--views, --colorbar, --style and --scale shared reach the files")
    func optionsReachTheFiles() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-rendering")
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = TestFiles.png(width: 64, height: 64)
        try png.write(to: directory.appendingPathComponent("a.png"))
        try png.write(to: directory.appendingPathComponent("b.png"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "saliency", "--out", "out", "--quiet",
                "--views", "overlay,masked", "--colorbar", "on", "--style", "grad-cam", "--scale", "shared",
                "--normalize", "minmax", "--image-weight", "0.3",
            ] + CLI.smallImage + ["a.png", "b.png"],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let out = directory.appendingPathComponent("out")
        #expect(
            CLI.contents(of: out) == [
                "a.saliency.json", "a.saliency.masked.png", "a.saliency.npy", "a.saliency.overlay.png",
                "b.saliency.json", "b.saliency.masked.png", "b.saliency.npy", "b.saliency.overlay.png",
            ])
        let overlay = try Data(contentsOf: out.appendingPathComponent("a.saliency.overlay.png"))
        let size = try #require(TestFiles.pngSize(overlay))
        #expect(size.height > 56, "the colour bar is drawn under the overlay")
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: out.appendingPathComponent("b.saliency.json")))
        let rendering = try #require((json as? [String: Any])?["rendering"] as? [String: Any])
        #expect(rendering["style"] as? String == "grad-cam")
        #expect(rendering["scale"] as? String == "shared" && rendering["scale_maps"] as? Int == 2)
        #expect(rendering["image_weight"] as? Double == 0.3 && rendering["normalization"] as? String == "minmax")
    }
}
