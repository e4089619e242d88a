import Foundation
import LeafLensTestSupport
import Testing

/// `evaluate --masks … --method … --out DIR` writes the scored images' panels with the mask outlined.
@Suite("evaluate panels")
struct EvaluatePanelsCLITests {
    @Test func lesionMasksWritePanelsUnderTheOutputFolder() throws {
        let root = try FixturePaths.temporaryDirectory("leaflens-cli-evaluate-panels")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images").path, masks = root.appendingPathComponent("masks").path
        let synth = try CLI.run([
            "synth", "--out", images, "--masks", masks, "--per-class", "1", "--seed", "11", "--size", "64", "--quiet",
        ])
        #expect(synth.status == 0, "\(synth.stderr)")
        let out = root.appendingPathComponent("eval")
        let result = try CLI.run([
            "evaluate", "--data", images, "--masks", masks, "--method", "saliency", "--crop", "64", "--quiet",
            "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // One panel per diseased (non-empty mask) image: every class but healthy.
        let panels = try FileManager.default.subpathsOfDirectory(atPath: out.appendingPathComponent("panels").path)
            .filter { $0.hasSuffix(".png") }.sorted()
        #expect(panels.count == 5 && !panels.contains { $0.hasPrefix("healthy") }, "\(panels)")
        #expect(panels.allSatisfy { $0.hasSuffix("/leaf-00000.panel.png") }, "\(panels)")
        // Without --out nothing is drawn (and nothing is written).
        let quiet = try CLI.run([
            "evaluate", "--data", images, "--masks", masks, "--method", "saliency", "--crop", "64", "--quiet",
        ])
        #expect(quiet.status == 0)
    }
}
