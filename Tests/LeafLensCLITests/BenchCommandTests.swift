import Foundation
import LeafLensTestSupport
import Testing

/// The benchmark subcommands scripts/bench-compare drives: each runs on a tiny model, prints the JSON
/// the script reads, and refuses bad options. Correctness of the plumbing only — nothing here is timed.
@Suite("Bench commands")
struct BenchCommandTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var testDescription: String { (["bench"] + arguments).joined(separator: " ") }
    }

    static let timed = [
        Case(arguments: ["noise-tunnel", "--nt-samples", "2", "--steps", "2"]),
        Case(arguments: [
            "noise-tunnel", "--nt-samples", "3", "--steps", "2", "--nt-batch-size", "2", "--internal-batch-size", "3",
        ]),
        Case(arguments: ["gradient-shap", "--samples", "3"]),
        Case(arguments: ["score-cam", "--cam-batch-size", "8"]),
        Case(arguments: ["ablation-cam"]),
        Case(arguments: ["deletion-insertion", "--metric-step", "128"]),
    ]

    @Test(arguments: timed)
    func printsOneTimingAsJSON(_ benchCase: Case) throws {
        let model = try CLI.requireTinyModel()
        let result = try CLI.run(
            ["bench"] + benchCase.arguments + [
                "--weights", model, "--size", "32", "--iterations", "1", "--warmup", "0", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last.map(String.init))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let median = try #require(object["median_ms"] as? Double, "no median_ms in \(line)")
        #expect(median > 0)
        #expect(object["iterations"] as? Int == 1)
    }

    @Test(arguments: [
        Case(arguments: ["noise-tunnel", "--nt-samples", "2", "--steps", "2", "--rss"]),
        Case(arguments: ["gradient-shap", "--samples", "2", "--rss"]),
    ])
    func reportsPeakMemory(_ benchCase: Case) throws {
        let model = try CLI.requireTinyModel()
        let result = try CLI.run(["bench"] + benchCase.arguments + ["--weights", model, "--size", "32", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last.map(String.init))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let peak = try #require(object["max_rss_mib"] as? Double, "no max_rss_mib in \(line)")
        let before = try #require(object["max_rss_mib_before"] as? Double)
        #expect(peak >= before && before > 0)
    }

    @Test func loadTimesAPyTorchCheckpoint() throws {
        let pth = FixturePaths.repositoryRoot.appendingPathComponent("Fixtures/checkpoints/plain.pth").path
        for extra in [[], ["--program"]] {
            let result = try CLI.run(["bench", "load", "--weights", pth, "--iterations", "2", "--json"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("\"median_ms\""), "\(result.stdout)")
        }
    }

    @Test(arguments: [
        Case(arguments: ["noise-tunnel", "--nt-samples", "0"]),
        Case(arguments: ["gradient-shap", "--stdev", "-1"]),
        Case(arguments: ["score-cam", "--layer", "layer9"]),
        Case(arguments: ["ablation-cam", "--cam-batch-size", "0"]),
        Case(arguments: ["deletion-insertion", "--batch-size", "2"]),
        Case(arguments: ["deletion-insertion", "--metric-step", "0"]),
        Case(arguments: ["forward", "--warmup", "-1"]),
    ])
    func refusesBadOptions(_ benchCase: Case) throws {
        let model = try CLI.requireTinyModel()
        let result = try CLI.run(
            ["bench"] + benchCase.arguments + ["--weights", model, "--size", "32", "--iterations", "1"])
        #expect(result.status != 0)
        #expect(!result.stderr.isEmpty)
        #expect(result.stdout.isEmpty)
    }

    @Test func loadNamesAMissingFile() throws {
        let result = try CLI.run(["bench", "load", "--weights", "/nonexistent/model.pth"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("model.pth"), "\(result.stderr)")
    }
}
