import Foundation
import LeafLensTestSupport
import Testing

/// `explain --method integrated-gradients --steps auto`: the JSON records the search, a search that
/// does not reach its tolerance warns and still writes, and bad values are usage errors (exit 2).
@Suite("Steps auto")
struct StepSearchCLITests {
    static let png = TestFiles.png(width: 64, height: 64)

    func explain(_ options: [String], in directory: URL) throws -> CLI.Result {
        try Self.png.write(to: directory.appendingPathComponent("leaf.png"))
        return try CLI.run(
            ["explain", "--weights", try CLI.requireTinyModel(), "--out", "out"] + CLI.smallImage + options
                + ["leaf.png"],
            in: directory)
    }

    func parameters(in directory: URL) throws -> [String: Any] {
        let json = try Data(contentsOf: directory.appendingPathComponent("out/leaf.integrated-gradients.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        return try #require(record["parameters"] as? [String: Any])
    }

    @Test func recordsTheSearchInTheJSON() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-steps-auto")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(
            ["--method", "ig", "--steps", "auto", "--delta-tolerance", "0.02", "--quiet"], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
        let parameters = try parameters(in: directory)
        let search = try #require(parameters["step_search"] as? [String: Any])
        let steps = try #require(parameters["steps"] as? Int)
        #expect(search["steps"] as? Int == steps)
        #expect(search["converged"] as? Bool == true)
        #expect(search["delta_tolerance"] as? Double == 0.02)
        #expect(search["maximum_steps"] as? Int == 1024)
        let tolerance = try #require(search["tolerance"] as? Double)
        let delta = try #require(search["delta"] as? Double)
        #expect(abs(delta) <= tolerance)
        let tried = try #require(search["tried"] as? [[String: Any]])
        #expect(tried.first?["steps"] as? Int == 1)
        #expect(tried.contains { $0["steps"] as? Int == steps && $0["passed"] as? Bool == true })
        // The record's convergence delta is the chosen count's.
        let json = try Data(contentsOf: directory.appendingPathComponent("out/leaf.integrated-gradients.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(record["convergence_delta"] as? Double == delta)
    }

    @Test func reportShowsTheSearch() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-steps-auto")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(["--method", "ig,saliency", "--steps", "auto", "--quiet"], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let html = try String(contentsOf: directory.appendingPathComponent("out/leaf.report.html"), encoding: .utf8)
        #expect(html.contains("step search") && html.contains("counts tried"))
    }

    @Test func unreachedToleranceWarnsAndWrites() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-steps-auto")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(
            [
                "--method", "ig", "--steps", "auto", "--approximation", "riemann-trapezoid", "--delta-tolerance",
                "1e-9", "--max-steps", "4",
            ], in: directory)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(
            result.stderr.contains("warning") && result.stderr.contains("--steps auto found no count up to 4 steps"))
        let search = try #require(try parameters(in: directory)["step_search"] as? [String: Any])
        #expect(search["converged"] as? Bool == false)
        #expect((search["tried"] as? [[String: Any]])?.compactMap { $0["steps"] as? Int } == [2, 4])
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var messages: [String]
        var testDescription: String { name }
    }

    static let failures = [
        Failure(
            name: "zero tolerance", arguments: ["--steps", "auto", "--delta-tolerance", "0"],
            messages: ["--delta-tolerance", "(0, 1]"]),
        Failure(
            name: "negative tolerance", arguments: ["--steps", "auto", "--delta-tolerance", "-0.1"],
            messages: ["--delta-tolerance"]),
        Failure(
            name: "nan tolerance", arguments: ["--steps", "auto", "--delta-tolerance", "nan"],
            messages: ["--delta-tolerance"]),
        Failure(
            name: "infinite tolerance", arguments: ["--steps", "auto", "--delta-tolerance", "inf"],
            messages: ["--delta-tolerance"]),
        Failure(
            name: "tolerance without auto", arguments: ["--steps", "8", "--delta-tolerance", "0.01"],
            messages: ["--delta-tolerance", "only applies with --steps auto"]),
        Failure(
            name: "max-steps without auto", arguments: ["--max-steps", "64"],
            messages: ["--max-steps", "only applies with --steps auto"]),
        Failure(
            name: "max-steps below the rule's minimum",
            arguments: ["--steps", "auto", "--approximation", "riemann-left", "--max-steps", "1"],
            messages: ["--max-steps", "2...100000"]),
        Failure(
            name: "steps neither a number nor auto", arguments: ["--steps", "many"], messages: ["--steps", "many"]),
        Failure(
            name: "auto with a noise tunnel", arguments: ["--steps", "auto", "--noise-tunnel", "smoothgrad"],
            messages: ["--steps auto", "noise tunnel"]),
    ]

    @Test(arguments: failures)
    func badValuesAreUsageErrors(_ failure: Failure) throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-cli-steps-auto")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try explain(["--method", "ig", "--quiet"] + failure.arguments, in: directory)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        for message in failure.messages {
            #expect(result.stderr.contains(message), "missing '\(message)' in: \(result.stderr)")
        }
        #expect(CLI.contents(of: directory.appendingPathComponent("out")).isEmpty)
    }
}
