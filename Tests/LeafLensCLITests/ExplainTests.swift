import Foundation
import LeafLensTestSupport
import Testing

/// `leaflens explain` on a small PNG with a tiny model: every method writes its four files with the
/// documented shapes and fields; several methods add the panel and the report.
@Suite("Explain")
struct ExplainTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var method: String
        /// Extra options for the method.
        var options: [String] = []
        var npyShape: [Int]
        /// Keys that must appear under "parameters".
        var parameters: [String]
        var testDescription: String { ([method] + options).joined(separator: " ") }
    }

    static let cases = [
        Case(
            method: "integrated-gradients", options: ["--steps", "8"], npyShape: [3, 56, 56],
            parameters: ["steps", "approximation", "baseline", "internal_batch_size"]),
        Case(
            method: "integrated-gradients",
            options: [
                "--steps", "6", "--approximation", "riemann-trapezoid",
                "--baseline", "blur", "--blur-sigma", "2", "--internal-batch-size", "4",
            ],
            npyShape: [3, 56, 56], parameters: ["steps", "approximation", "baseline", "blur_sigma"]),
        Case(
            method: "integrated-gradients", options: ["--steps", "4", "--baseline", "uniform", "--noise-seed", "7"],
            npyShape: [3, 56, 56], parameters: ["noise_seed", "noise_range"]),
        Case(method: "grad-cam", npyShape: [56, 56], parameters: ["layer", "relu", "upsample", "layer_shape"]),
        Case(method: "grad-cam", options: ["--upsample", "none"], npyShape: [2, 2], parameters: ["layer"]),
        Case(
            method: "grad-cam", options: ["--layer", "layer3", "--no-relu", "--upsample", "none"], npyShape: [4, 4],
            parameters: ["relu"]),
        Case(
            method: "occlusion", options: ["--window", "15", "--stride", "8"], npyShape: [3, 56, 56],
            parameters: ["window", "strides", "occlusion_baseline", "perturbations_per_eval"]),
        Case(method: "saliency", npyShape: [3, 56, 56], parameters: ["absolute"]),
        Case(method: "input-x-gradient", npyShape: [3, 56, 56], parameters: []),
    ]

    @Test(arguments: cases)
    func writesAllFiles(_ explainCase: Case) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-explain")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", explainCase.method, "--out", "out",
                "--quiet",
            ]
                + CLI.smallImage + explainCase.options + ["leaf.png"],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let out = directory.appendingPathComponent("out")
        let base = "leaf.\(explainCase.method)"
        #expect(CLI.contents(of: out) == ["\(base).json", "\(base).npy", "\(base).overlay.png", "\(base).png"])

        let npy = try #require(TestFiles.readNPY(try Data(contentsOf: out.appendingPathComponent("\(base).npy"))))
        #expect(npy.descr == "<f4")
        #expect(npy.shape == explainCase.npyShape)
        #expect(npy.values.count == explainCase.npyShape.reduce(1, *))
        #expect(npy.values.allSatisfy { $0.isFinite })

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("\(base).json")))
                as? [String: Any])
        #expect(json["input"] as? String == "leaf.png")
        #expect(json["method"] as? String == explainCase.method)
        let predicted = try #require(json["predicted"] as? [String: Any])
        let target = try #require(json["target"] as? [String: Any])
        #expect(predicted["index"] as? Int != nil)
        #expect(predicted["label"] as? String != nil)
        #expect((predicted["probability"] as? Double).map { (0...1).contains($0) } == true)
        #expect(target["index"] as? Int == predicted["index"] as? Int)  // defaults to the prediction
        #expect((json["wall_time_seconds"] as? Double).map { $0 >= 0 } == true)
        #expect(json["attribution_shape"] as? [Int] == explainCase.npyShape)
        let parameters = try #require(json["parameters"] as? [String: Any])
        for key in explainCase.parameters { #expect(parameters[key] != nil, "parameters lack \(key)") }
        if explainCase.method == "integrated-gradients" {
            #expect((json["convergence_delta"] as? Double)?.isFinite == true)
        } else {
            #expect(json["convergence_delta"] == nil)
        }

        for picture in ["\(base).png", "\(base).overlay.png"] {
            let data = try Data(contentsOf: out.appendingPathComponent(picture))
            let size = try #require(TestFiles.pngSize(data), "\(picture) is not a PNG")
            #expect(size.width == 56 && size.height == 56)
        }
        // The pictures decode: leaflens itself reads them back.
        let check = try CLI.run(
            [
                "classify", "--weights", try CLI.requireTinyModel(), "--no-resize", "--crop", "56",
                "out/\(base).png", "out/\(base).overlay.png",
            ],
            in: directory)
        #expect(check.status == 0, "stderr: \(check.stderr)")
    }

    @Test("several methods add a panel and a self-contained report; a target can be chosen")
    func severalMethods() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-explain")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig,gradcam,saliency", "--steps", "4",
                "--target", "3", "--out", "out",
            ] + CLI.smallImage + ["leaf.png"],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("leaf.png: predicted"))
        let files = CLI.contents(of: directory.appendingPathComponent("out"))
        #expect(files.count == 3 * 4 + 2)
        #expect(files.contains("leaf.panel.png") && files.contains("leaf.report.html"))
        #expect(!files.contains { $0.hasPrefix(".") })  // no temporary files left
        let report = try String(contentsOf: directory.appendingPathComponent("out/leaf.report.html"), encoding: .utf8)
        #expect(report.contains("data:image/png;base64,"))
        #expect(!report.contains("src=\"http"))
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("out/leaf.saliency.json"))) as? [String: Any])
        #expect((json["target"] as? [String: Any])?["index"] as? Int == 3)
    }

    @Test("a .npy input [1, 3, H, W] is explained without preprocessing; an all-zero map renders blank with a warning")
    func npyInputAndBlankMap() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-explain")
        defer { try? FileManager.default.removeItem(at: directory) }
        let values: [Float] = (0..<(3 * 40 * 48)).map { (i: Int) -> Float in Float((i * 7919) % 201) / 100 - 1 }
        try TestFiles.npy(shape: [1, 3, 40, 48], values: values).write(to: directory.appendingPathComponent("x.npy"))
        // IG with the baseline equal to the input has all-zero attributions: nothing to draw.
        try TestFiles.npy(shape: [3, 40, 48], values: values).write(to: directory.appendingPathComponent("same.npy"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig", "--steps", "4",
                "--baseline", "same.npy", "--out", "out", "--quiet", "x.npy",
            ],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("x.npy") && result.stderr.contains("blank"))
        let npy = try #require(
            TestFiles.readNPY(try Data(contentsOf: directory.appendingPathComponent("out/x.integrated-gradients.npy"))))
        #expect(npy.shape == [3, 40, 48])
        #expect(npy.values.allSatisfy { $0 == 0 })
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("out/x.integrated-gradients.json")))
                as? [String: Any])
        #expect((json["visualization"] as? [String: Any])?["blank"] as? Bool == true)
        let png = try Data(contentsOf: directory.appendingPathComponent("out/x.integrated-gradients.png"))
        #expect(TestFiles.pngSize(png).map { [$0.width, $0.height] } == [48, 40])
    }

    @Test("no progress bar when standard error is not a terminal")
    func noProgressWhenPiped() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-explain")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        let result = try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig,occlusion", "--steps", "8",
                "--internal-batch-size", "2", "--out", "out",
            ] + CLI.smallImage + ["leaf.png"],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty, "stderr: \(result.stderr)")
    }
}

/// The progress bar needs a terminal; util-linux `script` gives the child one (skipped where absent).
@Suite("Progress bar")
struct ProgressBarTests {
    static let script = URL(fileURLWithPath: "/usr/bin/script")

    func runOnTerminal(_ arguments: [String], in directory: URL) throws -> String {
        let binary = try #require(CLI.executable)
        let command = ([binary.path] + arguments).joined(separator: " ")
        let process = Process()
        process.executableURL = Self.script
        process.arguments = ["-qec", command, "/dev/null"]
        process.currentDirectoryURL = directory
        let output = directory.appendingPathComponent("terminal.txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        #expect(process.terminationStatus == 0)
        return String(decoding: try Data(contentsOf: output), as: UTF8.self)
    }

    @Test(
        "drawn on a terminal for IG and occlusion, silent with --quiet",
        .enabled(if: FileManager.default.isExecutableFile(atPath: script.path)))
    func drawnOnlyOnTerminal() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-progress")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        let arguments =
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "ig,occlusion", "--steps", "8",
                "--internal-batch-size", "2", "--out", "out",
            ] + CLI.smallImage
        let shown = try runOnTerminal(arguments + ["leaf.png"], in: directory)
        #expect(shown.contains("leaf integrated-gradients ["))
        #expect(shown.contains("leaf occlusion ["))
        let quiet = try runOnTerminal(arguments + ["--quiet", "leaf.png"], in: directory)
        #expect(!quiet.contains("["), "with --quiet: \(quiet)")
    }
}
