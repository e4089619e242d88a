import ArgumentParser
import Foundation
import LeafLensPipeline

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the explanations of a model can be trusted: float32 vs float64, gradients, completeness.",
        discussion: """
            Runs on the INPUT images (read as explain reads them), or without any on --samples seeded inputs of \
            --crop pixels. Checks, one line each: weights (finite, BatchNorm variances not negative, no weight \
            more than 1000 times its tensor's median); logits and each --method, float32 against a float64 copy \
            of the weights, within max(2 × noise, 8 float32 ulps) where noise is the larger of LeafLens's \
            second float32 implementation (BatchNorm unfolded) and a 1-ulp input perturbation, each against \
            the same float64 result; finite-differences (float64 \
            central differences of the target logit at seeded input elements against the analytic gradient); \
            completeness (Integrated Gradients' relative delta at 16, 32, … --max-steps steps; \
            passes when 1% is reached and kept from some count on); relu-near-zero (INFO: ReLU inputs within 8 float32 ulps of zero, where any two \
            float32 libraries may disagree); maxpool-near-tie (INFO: stem max-pool windows whose two largest \
            inputs are within 8 float32 ulps of each other, where they may route the gradient differently).

            Exit status: 0 when every check is within its bound, 1 when one fails (or on a runtime error), \
            2 on a usage error. --out DIR writes DIR/verify.json atomically; --json prints it instead of the \
            summary.
            """)

    @OptionGroup(title: "Model") var model: ModelOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Methods to compare, comma-separated.",
            valueName: "methods"))
    var method: VerifyMethodList = VerifyMethodList(methods: VerificationSettings().methods)

    @Option(name: .long, help: "Integrated Gradients: number of integration steps.")
    var steps: Int = 50

    @Option(name: .long, help: "Integrated Gradients: quadrature rule, as Captum's `method`.")
    var rule: IntegrationRule = .gaussLegendre

    @Option(
        name: .customLong("max-steps"),
        help: "Completeness: the last step count of the doubling sequence 16, 32, … (at least 16).")
    var maxSteps: Int = 256

    @Option(name: .long, help: "Grad-CAM: the layer.")
    var layer: String = "layer4"

    @Option(name: .long, help: "Without INPUT: how many seeded inputs to verify on.")
    var samples: Int = 2

    @Option(name: .long, help: "Seed of the seeded inputs and of the finite-difference positions.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Finite differences: how many input elements to check.")
    var positions: Int = 8

    @Option(
        name: .long, help: ArgumentHelp("Directory verify.json is written to (created if missing).", valueName: "dir"))
    var out: String?

    @Flag(name: .long, help: "Print the report as one line of JSON instead of the summary.")
    var json = false

    @Flag(name: .long, help: "Print no progress bar.")
    var quiet = false

    @OptionGroup(title: "Preprocessing") var preprocessing: PreprocessOptions

    @Argument(help: ArgumentHelp("Images (.png, .jpg, .jpeg) or preprocessed tensors (.npy).", valueName: "input"))
    var inputs: [String] = []

    func validate() throws {
        let supported = VerificationSettings.supportedMethods
        if let other = method.methods.first(where: { !supported.contains($0) }) {
            throw ValidationError(
                "--method \(other.rawValue): verify compares \(supported.map(\.rawValue).joined(separator: ", "))")
        }
        guard steps >= 2, steps <= 100_000 else { throw ValidationError("--steps must be in 2...100000, got \(steps)") }
        guard (16...65_536).contains(maxSteps) else {
            throw ValidationError("--max-steps must be in 16...65536, got \(maxSteps)")
        }
        guard (1...64).contains(samples) else { throw ValidationError("--samples must be in 1...64, got \(samples)") }
        guard (1...1000).contains(positions) else {
            throw ValidationError("--positions must be in 1...1000, got \(positions)")
        }
        if let out {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError("--out \(out): is an existing file, not a directory")
            }
        }
    }

    func run() throws {
        if let out { try OutputCheck.folder(out) }
        let network = try model.loadModel()
        guard network.network.configuration.classCount > 0 else { throw RuntimeError("the model has no classes") }
        var settings = VerificationSettings()
        settings.methods = method.methods
        settings.steps = steps
        settings.rule = rule
        settings.layer = layer
        settings.seed = seed
        settings.finiteDifferencePositions = positions
        settings.completenessSteps = VerificationSettings.doublingSteps(upTo: maxSteps)
        let verification = try Verification(model: network, settings: settings)
        if method.methods.contains(.gradCAM), let problem = verification.layerProblem {
            throw usageError(problem, in: Self.self)
        }
        let loader = preprocessing.loader(for: network)
        let items =
            inputs.isEmpty
            ? VerificationInput.seeded(count: samples, side: loader.size.crop, seed: seed)
            : try VerificationInput.load(inputs, loader: loader)
        let bar = ProgressBar(quiet: quiet || json)
        let report = try verification.run(items) { label, done, total in
            bar.update("verify \(label)", done: done, total: total)
        }
        bar.finish()
        if let out { try report.files.commit(into: URL(fileURLWithPath: out)) }
        if json {
            try printJSON(report)
        } else {
            printText(report)
        }
        if !report.passed { throw ExitCode.failure }
    }

    private func printText(_ report: VerificationReport) {
        print("\(report.weights) (\(report.architecture)), inputs \(report.inputShape)")
        let nameWidth = max(18, report.checks.map(\.name.count).max() ?? 0)
        let inputWidth = max(8, report.checks.map { ($0.input ?? "-").count }.max() ?? 0)
        func number(_ v: Double?) -> String { v.map { String(format: "%.3g", $0) } ?? "-" }
        for check in report.checks {
            let fields = [
                check.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0),
                (check.input ?? "-").padding(toLength: inputWidth, withPad: " ", startingAt: 0),
                number(check.measured).padding(toLength: 10, withPad: " ", startingAt: 0),
                ("≤ " + number(check.bound)).padding(toLength: 12, withPad: " ", startingAt: 0),
                check.status.rawValue, " " + check.detail,
            ]
            print(fields.joined(separator: " "))
        }
        let failures = report.failures
        print(
            failures.isEmpty
                ? "all \(report.checks.filter { $0.status != .info }.count) checks within their bounds"
                : "\(failures.count) checks failed: \(Set(failures.map(\.name)).sorted().joined(separator: ", "))")
    }
}

/// `--method` of verify: the methods it compares (names and aliases as everywhere).
struct VerifyMethodList: ExpressibleByArgument {
    var methods: [AttributionMethod]

    init(methods: [AttributionMethod]) { self.methods = methods }

    init?(argument: String) {
        guard let methods = AttributionMethod.list(argument) else { return nil }
        self.methods = methods
    }

    static var allValueStrings: [String] { VerificationSettings.supportedMethods.map(\.rawValue) }
    var defaultValueDescription: String { methods.map(\.rawValue).joined(separator: ",") }
}
