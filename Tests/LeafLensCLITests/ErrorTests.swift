import Foundation
import LeafLensTestSupport
import Testing

/// Every failure gives the documented exit code (1 runtime error, 2 usage error), a message naming the
/// file and the problem, and leaves nothing behind in the output directory.
@Suite("Errors")
struct ErrorTests {
    /// One failing invocation: files to create in a fresh directory, the arguments, and what must happen.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var files: [String: Data] = [:]
        var arguments: [String]
        var status: Int32
        /// Substrings the error output must contain (file name and problem).
        var messages: [String]
        var testDescription: String { name }
    }

    static let jpeg =
        (try? Data(contentsOf: FixturePaths.fixture("imaging/images/jpg_baseline444_50x40.jpg"))) ?? Data()
    static let png = TestFiles.png(width: 64, height: 64)

    static let cases: [Case] = [
        Case(name: "missing file", arguments: ["missing.png"], status: 1, messages: ["missing.png", "no such file"]),
        Case(
            name: "not an image", files: ["notes.png": Data("just some text\n".utf8)], arguments: ["notes.png"],
            status: 1, messages: ["notes.png", "not a PNG or JPEG image"]),
        Case(
            name: "unsupported extension", files: ["notes.txt": Data("text".utf8)], arguments: ["notes.txt"],
            status: 1, messages: ["notes.txt", "expected .png, .jpg, .jpeg or .npy"]),
        Case(
            name: "truncated PNG", files: ["cut.png": png.prefix(png.count / 2)], arguments: ["cut.png"],
            status: 1, messages: ["cut.png", "truncated"]),
        Case(
            name: "truncated JPEG", files: ["cut.jpg": jpeg.prefix(jpeg.count / 2)], arguments: ["cut.jpg"],
            status: 1, messages: ["cut.jpg", "corrupt or truncated", "JPEG"]),
        Case(
            name: "decompression bomb", files: ["bomb.png": TestFiles.pngHeaderOnly(width: 200_000, height: 200_000)],
            arguments: ["bomb.png"], status: 1, messages: ["bomb.png", "200000x200000", "more than the limit"]),
        Case(
            name: "npy of the wrong shape",
            files: ["flat.npy": TestFiles.npy(shape: [4, 4], values: .init(repeating: 0, count: 16))],
            arguments: ["flat.npy"], status: 1, messages: ["flat.npy", "[3, H, W] or [1, 3, H, W]", "[4, 4]"]),
        Case(
            name: "garbage weights",
            files: ["bad.safetensors": Data((0..<64).map { UInt8($0 * 37 % 251) }), "leaf.png": png],
            arguments: ["--weights", "bad.safetensors", "leaf.png"], status: 1, messages: ["bad.safetensors"]),
        Case(
            name: "weights of the wrong shapes",
            files: ["shapes.safetensors": TestFiles.safetensorsWithWrongShapes(), "leaf.png": png],
            arguments: ["--weights", "shapes.safetensors", "leaf.png"], status: 1,
            messages: ["shapes.safetensors", "fc.weight", "[2, 31]"]),
        Case(
            name: "missing weights", files: ["leaf.png": png],
            arguments: ["--weights", "nowhere.safetensors", "leaf.png"],
            status: 1, messages: ["nowhere.safetensors", "no such file"]),
        Case(
            name: "target out of range", files: ["leaf.png": png], arguments: ["--target", "38", "leaf.png"],
            status: 2, messages: ["--target 38", "outside the model's classes 0...37"]),
        Case(
            name: "output path is a file", files: ["leaf.png": png, "taken": Data("x".utf8)],
            arguments: ["--out", "taken", "leaf.png"], status: 2, messages: ["taken", "existing file"]),
        Case(
            name: "unknown layer", files: ["leaf.png": png], arguments: ["--layer", "layer9", "leaf.png"],
            status: 2, messages: ["--layer layer9", "available"]),
        Case(
            name: "unknown method", files: ["leaf.png": png], arguments: ["--method", "shap", "leaf.png"],
            status: 2, messages: ["shap", "--method"]),
        Case(
            name: "stride larger than the window", files: ["leaf.png": png],
            arguments: ["--stride", "9", "--window", "4", "leaf.png"],
            status: 2, messages: ["--stride"]),
        Case(
            name: "blur sigma without a blur baseline", files: ["leaf.png": png],
            arguments: ["--blur-sigma", "3", "leaf.png"],
            status: 2, messages: ["--blur-sigma", "--baseline blur"]),
        Case(
            name: "occlusion window larger than the image", files: ["leaf.png": png],
            arguments: ["--method", "occlusion", "--window", "57", "--stride", "8", "leaf.png"],
            status: 1, messages: ["leaf.png", "57×57", "56×56"]),
    ]

    @Test(arguments: cases)
    func explainFailsCleanly(_ failure: Case) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, data) in failure.files {
            try data.write(to: directory.appendingPathComponent(name))
        }
        let out = directory.appendingPathComponent("out")
        var arguments =
            ["explain", "--method", "ig,grad-cam", "--out", "out", "--steps", "4", "--quiet"] + CLI.smallImage
        if !failure.arguments.contains("--weights") { arguments += ["--weights", try CLI.requireTinyModel()] }
        arguments += failure.arguments
        let result = try CLI.run(arguments, in: directory)
        #expect(result.status == failure.status, "stderr: \(result.stderr)")
        for message in failure.messages {
            #expect(result.stderr.contains(message), "missing '\(message)' in: \(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"))
        #expect(CLI.contents(of: out).isEmpty, "left behind: \(CLI.contents(of: out))")
        // Nothing but the files the test made (no temporary files beside them either).
        #expect(Set(CLI.contents(of: directory)).subtracting(failure.files.keys).subtracting(["out"]).isEmpty)
    }

    @Test("a failing input does not stop the others, but the exit code is 1")
    func oneBadInputAmongGoodOnes() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.png.write(to: directory.appendingPathComponent("good.png"))
        try Self.png.prefix(100).write(to: directory.appendingPathComponent("bad.png"))
        let result = try CLI.run(
            ["explain", "--weights", try CLI.requireTinyModel(), "--method", "saliency", "--out", "out", "--quiet"]
                + CLI.smallImage + ["bad.png", "good.png"],
            in: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("bad.png"))
        #expect(result.stderr.contains("1 of 2 inputs failed"))
        let written = CLI.contents(of: directory.appendingPathComponent("out"))
        #expect(
            written == ["good.saliency.json", "good.saliency.npy", "good.saliency.overlay.png", "good.saliency.png"])
    }

    @Test("classify reports a bad input with exit code 1 and still classifies the rest")
    func classifyBadInput() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-error")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.png.write(to: directory.appendingPathComponent("good.png"))
        try TestFiles.pngHeaderOnly(width: 200_000, height: 200_000).write(
            to: directory.appendingPathComponent("bomb.png"))
        let result = try CLI.run(
            ["classify", "--weights", try CLI.requireTinyModel(), "--json"] + CLI.smallImage + [
                "bomb.png", "good.png",
            ],
            in: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("bomb.png: image is 200000x200000"))
        #expect(result.stdout.split(separator: "\n").count == 1)
    }
}
