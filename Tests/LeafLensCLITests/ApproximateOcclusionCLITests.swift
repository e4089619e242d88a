import Foundation
import LeafLensTestSupport
import Testing

/// `leaflens explain --method occlusion --occlusion-tau T --occlusion-drilldown R --check-exact`: the JSON
/// records the approximation, the work it saved and the SSIM to the exact map; out-of-range values are
/// usage errors; the exact default records no approximation.
@Suite("Approximate occlusion CLI")
struct ApproximateOcclusionCLITests {
    func explain(_ options: [String], in directory: URL) throws -> CLI.Result {
        try TestFiles.png(width: 64, height: 64).write(to: directory.appendingPathComponent("leaf.png"))
        return try CLI.run(
            [
                "explain", "--weights", try CLI.requireTinyModel(), "--method", "occlusion", "--out", "out",
                "--quiet", "--window", "15", "--stride", "8",
            ] + CLI.smallImage + options + ["leaf.png"],
            in: directory)
    }

    func parameters(in directory: URL) throws -> [String: Any] {
        let url = directory.appendingPathComponent("out/leaf.occlusion.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try #require(json["parameters"] as? [String: Any])
    }

    @Test("τ and R with --check-exact record settings, windows, SSIM and both times")
    func recordsApproximation() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-approx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(
            [
                "--occlusion-tau", "0.5", "--occlusion-drilldown", "0.25", "--occlusion-drilldown-rank", "signed",
                "--check-exact",
            ], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let record = try #require(try parameters(in: directory)["occlusion_approximation"] as? [String: Any])
        #expect(record["tau"] as? Double == 0.5)
        #expect(record["drill_down"] as? Double == 0.25)
        #expect(record["drill_down_ranking"] as? String == "signed")
        #expect(record["coarse_strides"] as? [Int] == [3, 16, 16])
        // 56 px, window 15, stride 8: 7 windows per axis (starts 0…48), 4 × 4 coarse (even indices);
        // ⌈0.25 · 16⌉ = 4 blocks drilled, each adding at most 3 windows (fewer on the last row and column).
        #expect(record["windows"] as? Int == 49)
        let evaluated = try #require(record["evaluated_windows"] as? Int)
        #expect((16...28).contains(evaluated))
        let ssim = try #require(record["ssim_to_exact"] as? Double)
        #expect(ssim > -1 && ssim <= 1)
        #expect((record["exact_seconds"] as? Double).map { $0 >= 0 } == true)
        #expect((record["seconds"] as? Double).map { $0 >= 0 } == true)
    }

    @Test("R = 1 with τ = 1 evaluates every window: SSIM 1 to the exact map")
    func fullDrillDownIsExact() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-approx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(
            ["--occlusion-tau", "1", "--occlusion-drilldown", "1", "--check-exact"], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let record = try #require(try parameters(in: directory)["occlusion_approximation"] as? [String: Any])
        #expect(record["evaluated_windows"] as? Int == 49)
        let ssim = try #require(record["ssim_to_exact"] as? Double)
        #expect(abs(ssim - 1) < 1e-6)
    }

    @Test("the exact default records no approximation")
    func exactByDefault() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-approx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain([], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(try parameters(in: directory)["occlusion_approximation"] == nil)
    }

    static let refused: [[String]] = [
        ["--occlusion-tau", "0"], ["--occlusion-tau", "1.5"], ["--occlusion-tau", "nan"],
        ["--occlusion-drilldown", "0"], ["--occlusion-drilldown", "-0.5"], ["--occlusion-drilldown", "2"],
        ["--check-exact"], ["--occlusion-tau", "0.5", "--output", "probability"],
    ]

    @Test("out-of-range τ or R, and --check-exact without an approximation, are usage errors", arguments: refused)
    func refusesOutOfRange(_ options: [String]) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-approx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(options, in: directory)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(options[0]), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
    }

    @Test("bench occlusion refuses out-of-range τ and R")
    func benchRefusesOutOfRange() throws {
        for options in [["--occlusion-tau", "0"], ["--occlusion-drilldown", "1.01"]] {
            let result = try CLI.run(["bench", "occlusion"] + options)
            #expect(result.status != 0)
            #expect(result.stderr.contains(options[0]), "stderr: \(result.stderr)")
        }
    }
}
