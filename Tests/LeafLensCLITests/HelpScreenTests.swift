import Foundation
import LeafLensTestSupport
import Testing

/// The help screens are part of the interface: a change to an option's name, default or help text
/// shows up here as a failing diff against the committed text.
///
/// To regenerate after an intended change (from the repository root, after `swift build`):
///
///     for c in "" classify explain evaluate verify; do
///       COLUMNS=100 .build/debug/leaflens $c --help > Tests/LeafLensCLITests/Help/${c:-leaflens}.txt
///     done
@Suite("Help screens")
struct HelpScreenTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var file: String
        var testDescription: String { (["leaflens"] + arguments).joined(separator: " ") }
    }

    static let cases = [
        Case(arguments: ["--help"], file: "leaflens.txt"),
        Case(arguments: ["classify", "--help"], file: "classify.txt"),
        Case(arguments: ["explain", "--help"], file: "explain.txt"),
        Case(arguments: ["evaluate", "--help"], file: "evaluate.txt"),
        Case(arguments: ["verify", "--help"], file: "verify.txt"),
    ]

    @Test(arguments: cases)
    func helpMatchesCommittedText(_ helpCase: Case) throws {
        let result = try CLI.run(helpCase.arguments)
        #expect(result.status == 0)
        let url = FixturePaths.repositoryRoot.appendingPathComponent("Tests/LeafLensCLITests/Help/\(helpCase.file)")
        let expected = try String(contentsOf: url, encoding: .utf8)
        if result.stdout != expected {
            let actual = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let pinned = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line =
                (0..<min(actual.count, pinned.count)).first { actual[$0] != pinned[$0] }
                ?? min(actual.count, pinned.count)
            Issue.record(
                """
                \(helpCase.testDescription) differs from Help/\(helpCase.file) at line \(line + 1):
                  committed: \(line < pinned.count ? String(pinned[line]) : "<end>")
                  actual:    \(line < actual.count ? String(actual[line]) : "<end>")
                (regenerate with the command in HelpScreenTests.swift if the change is intended)
                """)
        }
    }
}
