import Foundation
import LeafLensTestSupport
import Testing

/// `leaflens bench peak` and the fraction of peak the other bench commands print. Plumbing only: the
/// probe runs for milliseconds here and no number is judged except for being positive and finite.
@Suite("Bench peak")
struct BenchPeakCLITests {
    func jsonLine(_ result: CLI.Result) throws -> [String: Any] {
        let line = try #require(result.stdout.split(separator: "\n").last.map(String.init))
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    }

    @Test func peakPrintsPositiveRates() throws {
        let result = try CLI.run(["bench", "peak", "--seconds", "0.02", "--repeats", "1", "--threads", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try jsonLine(result)
        let perCore = try #require(object["per_core_gflops"] as? Double)
        let all = try #require(object["all_cores_gflops"] as? Double)
        #expect(perCore > 0 && perCore.isFinite && all > 0 && all.isFinite)
        #expect(object["threads"] as? Int == 2)
        #expect(["avx512", "avx2-fma", "portable"].contains(object["isa"] as? String ?? ""))

        let text = try CLI.run(["bench", "peak", "--seconds", "0.02", "--repeats", "1"])
        #expect(text.status == 0 && text.stdout.contains("GFLOP/s per core"), "\(text.stdout)\(text.stderr)")
    }

    @Test(arguments: [["forward"], ["ig", "--steps", "2"], ["grad-cam"]])
    func benchReportsTheFractionOfAGivenPeak(_ command: [String]) throws {
        let result = try CLI.run(
            ["bench"] + command + [
                "--weights", try CLI.requireTinyModel(), "--size", "32", "--iterations", "1", "--warmup", "0",
                "--peak-gflops", "1000", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try jsonLine(result)
        let gflops = try #require(object["gflops"] as? Double)
        let fraction = try #require(object["fraction_of_peak"] as? Double)
        expectClose([fraction], [gflops / 1000], atol: 0, rtol: 1e-12)
        #expect((object["peak"] as? [String: Any])?["all_cores_gflops"] as? Double == 1000)
    }

    @Test func benchMeasuresThePeakByDefaultAndSkipsItOnRequest() throws {
        let model = try CLI.requireTinyModel()
        let common = ["bench", "forward", "--weights", model, "--size", "32", "--iterations", "1", "--warmup", "0"]
        let measured = try CLI.run(common)
        #expect(measured.status == 0, "\(measured.stderr)")
        #expect(measured.stdout.contains("% of the peak"), "\(measured.stdout)")
        let skipped = try CLI.run(common + ["--no-peak", "--json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(try jsonLine(skipped)["fraction_of_peak"] == nil)
    }

    @Test(arguments: [
        (["bench", "peak", "--threads", "0"], "--threads"),
        (["bench", "peak", "--seconds", "0"], "--seconds"),
        (["bench", "forward", "--peak-gflops", "-1"], "--peak-gflops"),
        (["bench", "forward", "--peak-gflops", "5", "--no-peak"], "exclude each other"),
    ])
    func badValuesAreUsageErrors(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
