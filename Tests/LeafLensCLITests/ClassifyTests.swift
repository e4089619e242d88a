import Foundation
import LeafLensTestSupport
import Testing

@Suite("Classify")
struct ClassifyTests {
    @Test("--json prints one object per input with ranked predictions and every logit; PNG, JPEG and .npy")
    func jsonOutput() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-classify")
        defer { try? FileManager.default.removeItem(at: directory) }
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        try FileManager.default.copyItem(
            at: FixturePaths.fixture("imaging/images/jpg_baseline444_50x40.jpg"),
            to: directory.appendingPathComponent("leaf.jpg"))
        let values: [Float] = (0..<(3 * 56 * 56)).map { (i: Int) -> Float in Float(i % 17) / 8 - 1 }
        try TestFiles.npy(shape: [3, 56, 56], values: values).write(to: directory.appendingPathComponent("t.npy"))
        let result = try CLI.run(
            ["classify", "--weights", try CLI.requireTinyModel(), "--json", "--top", "3"] + CLI.smallImage
                + ["leaf.png", "leaf.jpg", "t.npy"],
            in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        for (line, input) in zip(lines, ["leaf.png", "leaf.jpg", "t.npy"]) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["input"] as? String == input)
            #expect((object["logits"] as? [Double])?.count == 38)
            let predictions = try #require(object["predictions"] as? [[String: Any]])
            #expect(predictions.count == 3)
            let probabilities = predictions.compactMap { $0["probability"] as? Double }
            #expect(probabilities.count == 3 && probabilities == probabilities.sorted(by: >))
            #expect(predictions.allSatisfy { $0["index"] is Int && $0["label"] is String })
        }
    }

    @Test("--resize and --no-resize together are a usage error")
    func conflictingResize() throws {
        let result = try CLI.run(["classify", "--resize", "64", "--no-resize", "x.png"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--resize and --no-resize"))
    }
}
