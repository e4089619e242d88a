import ArgumentParser
import Foundation
import LeafLensPipeline

extension NoiseTunnelKind: ExpressibleByArgument {}
extension TargetOutput: ExpressibleByArgument {}

extension GradientShapBaselines: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }
    public var defaultValueDescription: String { description }
}

/// NoiseTunnel's options: a modifier on the gradient methods.
struct NoiseTunnelOptions: ParsableArguments {
    @Option(
        name: .customLong("noise-tunnel"),
        help: ArgumentHelp(
            """
            Wrap each gradient method (integrated-gradients, saliency, input-x-gradient, guided-backprop, \
            deconvolution, gradient-shap) in Captum 0.9's NoiseTunnel: smoothgrad (mean), smoothgrad-sq (mean of \
            squares) or vargrad (variance) over noisy copies of the input.
            """, valueName: "kind"))
    var kind: NoiseTunnelKind?

    @Option(
        name: .customLong("nt-samples"),
        help: ArgumentHelp("NoiseTunnel: noisy samples per input (default: 5, as Captum).", valueName: "N"))
    var samples: Int?

    @Option(
        name: .customLong("nt-stdev"),
        help: ArgumentHelp(
            """
            NoiseTunnel: standard deviation of the Gaussian noise in normalized units (default: 1.0, as Captum; \
            the SmoothGrad paper recommends 10–20% of the input range, about 0.5–1 for ImageNet-normalized images).
            """, valueName: "S"))
    var stdev: Double?

    @Option(
        name: .customLong("nt-batch-size"),
        help: ArgumentHelp(
            "NoiseTunnel: samples per internal batch; bounds memory, never changes the numbers.", valueName: "B"))
    var batchSize: Int?

    func validate() throws {
        if kind == nil {
            for (given, name) in [
                (samples != nil, "--nt-samples"), (stdev != nil, "--nt-stdev"), (batchSize != nil, "--nt-batch-size"),
            ]
            where given {
                throw ValidationError("\(name) only applies with --noise-tunnel")
            }
        }
        if let samples, !(1...100_000).contains(samples) {
            throw ValidationError("--nt-samples must be in 1...100000, got \(samples)")
        }
        if let stdev, !(stdev.isFinite && stdev >= 0) {
            throw ValidationError("--nt-stdev must be finite and ≥ 0, got \(stdev)")
        }
        if let batchSize, batchSize < 1 {
            throw ValidationError("--nt-batch-size must be at least 1, got \(batchSize)")
        }
    }

    var settings: NoiseTunnelSettings? {
        guard let kind else { return nil }
        var settings = NoiseTunnelSettings()
        settings.kind = kind
        settings.samples = samples ?? settings.samples
        settings.stdev = stdev ?? settings.stdev
        settings.batchSize = batchSize
        return settings
    }
}

/// GradientShap's options. Its baselines have their own option: `--baseline` keeps its meaning for
/// Integrated Gradients (one baseline, the path's start).
struct GradientShapOptions: ParsableArguments {
    @Option(
        name: .customLong("shap-baselines"),
        help: ArgumentHelp(
            """
            GradientShap: the baseline distribution, comma-separated: zero, black (the normalized black image), \
            input (the input itself), blur, uniform (seeded by --seed), a number; or a .npy of rows [K, 3, H, W]. \
            (--baseline is Integrated Gradients' own.)
            """, valueName: "baselines"))
    var baselines: GradientShapBaselines = .list([.zero])

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Samples per input (Captum's n_samples): GradientShap (default 5); shapley-value-sampling, kernel-shap \
            and lime (permutations or coalitions, default 25).
            """, valueName: "N"))
    var samples: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "GradientShap: standard deviation of the noise added to the input (Captum's stdevs).", valueName: "S"))
    var stdev: Double = 0

    func validate() throws {
        if let samples, !(1...100_000).contains(samples) {
            throw ValidationError("--samples must be in 1...100000, got \(samples)")
        }
        guard stdev.isFinite, stdev >= 0 else { throw ValidationError("--stdev must be finite and ≥ 0, got \(stdev)") }
    }

    var settings: GradientShapSettings {
        var settings = GradientShapSettings()
        settings.baselines = baselines
        settings.samples = samples ?? settings.samples
        settings.stdev = stdev
        return settings
    }
}

/// Which class and which output the methods explain (`--target` itself is the command's).
struct TargetOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Explain each of the K most probable classes (top:K); files are named <stem>.<method>.top<k>.* \
            (and <stem>.top<k>.panel.png, .report.html), k = 1 the most probable.
            """, valueName: "top:K"))
    var targets: String?

    @Option(
        name: .long,
        help:
            "Explain the target's logit (Captum's usual use) or its softmax probability (pytorch-grad-cam's ClassifierOutputSoftmaxTarget)."
    )
    var output: TargetOutput = .logit

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Explain output(target) − output(B), a class index or label name: why the target and not B.",
            valueName: "B"))
    var versus: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seed of the random draws of NoiseTunnel, GradientShap and the sampled segment methods.", valueName: "S"))
    var seed: UInt64 = 0
}

extension Explain {
    /// Cross-option rules of the gradient family, given the methods.
    func validateGradientOptions() throws {
        if noiseTunnel.kind != nil {
            let others = method.methods.filter { !$0.acceptsNoiseTunnel }
            if !others.isEmpty {
                throw ValidationError(
                    "--noise-tunnel applies to gradient methods only (integrated-gradients, saliency, input-x-gradient, "
                        + "guided-backprop, deconvolution, gradient-shap), not \(others.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }
        if !targetOptions.isDefaultOutput {
            let others = method.methods.filter { !$0.acceptsTargetOutput }
            if !others.isEmpty {
                throw ValidationError(
                    "--output/--versus do not apply to \(others.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let targets = targetOptions.targets {
            guard targets.lowercased().hasPrefix("top:") else {
                throw ValidationError("--targets must be top:K (e.g. top:3), got '\(targets)'")
            }
            if target != nil { throw ValidationError("--target and --targets exclude each other") }
        }
    }

    /// The gradient family's settings, with `--target`/`--versus`/`--targets` resolved against `labels`.
    func gradientSettings(labels: [String]) throws -> (GradientSettings, topK: Int?) {
        var settings = GradientSettings()
        settings.noiseTunnel = noiseTunnel.settings
        settings.gradientShap = gradientShap.settings
        settings.seed = targetOptions.seed
        settings.target.output = targetOptions.output
        if let versus = targetOptions.versus {
            settings.target.versus = try resolveClass(versus, labels: labels, option: "--versus")
        }
        var topK: Int?
        if let targets = targetOptions.targets {
            do throws(TargetError) {
                if case .top(let k) = try TargetRequest.parse(targets, labels: labels) { topK = k }
            } catch {
                throw usageError("--targets: \(error)", in: Self.self)
            }
        }
        return (settings, topK)
    }

    /// A class index or label name for `option`, or a usage error naming it (with suggestions).
    func resolveClass(_ spec: String, labels: [String], option: String) throws -> Int {
        do throws(TargetError) {
            return try ClassLabels.resolve(spec, labels: labels)
        } catch {
            if case .indexOutOfRange(let index, let count) = error {
                throw usageError("\(option) \(index) is outside the model's classes 0...\(count - 1)", in: Self.self)
            }
            throw usageError("\(option): \(error)", in: Self.self)
        }
    }
}

extension TargetOptions {
    var isDefaultOutput: Bool { output == .logit && versus == nil }
}

extension MethodList {
    /// "integrated-gradients: Captum 0.9 IntegratedGradients; …" for the help's discussion.
    static var referenceList: String {
        AttributionMethod.allCases.map { "\($0.rawValue): \($0.reference)" }.joined(separator: "; ")
    }
}
