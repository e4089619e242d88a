import Foundation
import LeafLensTestSupport
import Testing

/// One CLI vocabulary: the same setting has one flag name in every command; the old spellings keep
/// working for one release, hidden from help.
@Suite("Vocabulary", .serialized)
struct VocabularyTests {
    struct Renamed: CustomTestStringConvertible, Sendable {
        var command: [String]
        var name: String
        var old: String
        var testDescription: String { "leaflens \(command.joined(separator: " ")): \(old) → \(name)" }
    }

    static let renamed = [
        Renamed(command: ["evaluate"], name: "--crop <", old: "--image-size"),
        Renamed(command: ["train"], name: "--crop <", old: "--image-size"),
        Renamed(command: ["evaluate"], name: "--method <", old: "--explain <"),
        Renamed(command: ["evaluate"], name: "--steps <", old: "--ig-steps"),
        Renamed(command: ["evaluate"], name: "--layer <", old: "--cam-layer"),
        Renamed(command: ["evaluate"], name: "--window <", old: "--occlusion-window"),
        Renamed(command: ["evaluate"], name: "--stride <", old: "--occlusion-stride"),
        Renamed(command: ["bench", "forward"], name: "--batch-size <", old: "--batch <"),
    ]

    @Test(arguments: renamed)
    func helpShowsOnlyTheNewName(_ flag: Renamed) throws {
        let result = try CLI.run(flag.command + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains(flag.name), "\(flag.name) missing from help")
        #expect(!result.stdout.contains(flag.old), "\(flag.old) still shown in help")
    }

    /// A small synthetic set the bundled model knows the classes of.
    static let dataSet: URL? = {
        guard let root = try? FixturePaths.temporaryDirectory("leaflens-cli-vocabulary") else { return nil }
        let result = try? CLI.run([
            "synth", "--out", root.appendingPathComponent("images").path, "--masks",
            root.appendingPathComponent("masks").path, "--per-class", "1", "--seed", "5", "--size", "64",
        ])
        return result?.status == 0 ? root : nil
    }()

    @Test func oldAndNewSpellingsGiveTheSameEvaluation() throws {
        let root = try #require(Self.dataSet, "leaflens synth failed")
        let images = root.appendingPathComponent("images").path, masks = root.appendingPathComponent("masks").path
        let common = ["evaluate", "--data", images, "--masks", masks, "--tolerance", "4"]
        let new = try CLI.run(
            common + ["--crop", "64", "--method", "grad-cam,ig", "--steps", "2", "--layer", "layer2"])
        let old = try CLI.run(
            common + ["--image-size", "64", "--explain", "grad-cam,ig", "--ig-steps", "2", "--cam-layer", "layer2"])
        #expect(new.status == 0, "\(new.stderr)")
        #expect(old.status == 0, "\(old.stderr)")
        func withoutSeconds(_ text: String) -> [String] {
            text.split(separator: "\n").map { line in
                line.hasPrefix("grad-cam") || line.hasPrefix("integrated-gradients")
                    ? String(line.split(separator: " ").dropLast().joined(separator: " ")) : String(line)
            }
        }
        #expect(withoutSeconds(new.stdout) == withoutSeconds(old.stdout))
        #expect(new.stdout.contains("explanations on"))
    }

    @Test func oldAndNewNamesTogetherMustAgree() throws {
        let result = try CLI.run(["evaluate", "--data", "x", "--crop", "64", "--image-size", "96"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--crop and --image-size (its old name) disagree"))
    }

    @Test func benchTakesBothBatchSpellings() throws {
        let model = try CLI.requireTinyModel()
        for flag in ["--batch-size", "--batch"] {
            let result = try CLI.run([
                "bench", "forward", "--weights", model, flag, "2", "--iterations", "1", "--size", "32", "--json",
            ])
            #expect(result.status == 0, "\(flag): \(result.stderr)")
            #expect(result.stdout.contains("\"batch\":2"), "\(flag): \(result.stdout)")
        }
    }
}
