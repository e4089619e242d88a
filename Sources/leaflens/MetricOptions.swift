import ArgumentParser
import Foundation
import LeafLensPipeline

/// The faithfulness metrics of issue 13 (`explain` per image, `evaluate` per data set).
struct MetricOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Faithfulness metrics, comma-separated: deletion, insertion, road, infidelity, sensitivity, confidence, or all.",
            valueName: "metrics"))
    var metrics: String?

    /// The parsed `--metrics` list (nil when absent or invalid; `validate` reports the invalid).
    var metricList: [FaithfulnessMetric]? { metrics.flatMap { try? FaithfulnessMetric.parseList($0) } }

    @Option(
        name: .customLong("metric-step"),
        help: ArgumentHelp(
            "Deletion/insertion: pixels moved per step (default: the image width, as RISE).", valueName: "N"))
    var metricStep: Int?

    @Option(
        name: .customLong("road-noise"),
        help: ArgumentHelp(
            "ROAD: noise σ of the linear imputer (pytorch-grad-cam's; 0 = deterministic).", valueName: "S"))
    var roadNoise: Double = 0.01

    @Option(
        name: .customLong("infidelity-stdev"),
        help: ArgumentHelp("Infidelity: σ of the Gaussian perturbations (Captum's tutorial's).", valueName: "S"))
    var infidelityStdev: Double = 0.003

    @Option(
        name: .customLong("metric-seed"),
        help: ArgumentHelp(
            "Seed of the metrics' random draws (ROAD noise, infidelity, sensitivity, bootstrap).", valueName: "N"))
    var metricSeed: UInt64 = 0

    func validate() throws {
        if let metrics {
            do { _ = try FaithfulnessMetric.parseList(metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
        if let metricStep, metricStep < 1 { throw ValidationError("--metric-step must be ≥ 1, got \(metricStep)") }
        guard roadNoise >= 0, roadNoise.isFinite else {
            throw ValidationError("--road-noise must be ≥ 0, got \(roadNoise)")
        }
        guard infidelityStdev > 0, infidelityStdev.isFinite else {
            throw ValidationError("--infidelity-stdev must be > 0, got \(infidelityStdev)")
        }
        if metrics == nil, metricStep != nil { throw ValidationError("--metric-step needs --metrics") }
    }

    /// Checks `--metric-step` against the network input (S×S pixels) once the model is loaded.
    func checkStep<Command: ParsableCommand>(side: Int, in command: Command.Type) throws {
        if let metricStep, metricStep > side * side {
            throw usageError(
                "--metric-step \(metricStep) is larger than the image (\(side)×\(side) = \(side * side) pixels)",
                in: command)
        }
    }

    /// nil when no metrics were asked for.
    var settings: MetricSettings? {
        guard let metrics = metricList, !metrics.isEmpty else { return nil }
        var options = FaithfulnessOptions()
        options.step = metricStep
        options.roadNoise = roadNoise
        options.infidelityStdev = infidelityStdev
        options.seed = metricSeed
        return MetricSettings(metrics: metrics, options: options)
    }
}

/// Text output of `evaluate --metrics` and the randomization curves.
enum MetricText {
    static func print(_ summary: DatasetSummary) {
        let methods = summary.overall.keys.sorted()
        let keys = FaithfulnessScores.keys.filter { k in methods.contains { summary.overall[$0]?[k] != nil } }
        Swift.print(
            "faithfulness (mean [\(Int((summary.confidenceLevel * 100).rounded()))% bootstrap interval]; * best):")
        for method in methods {
            Swift.print("  \(method)")
            for key in keys {
                guard let v = summary.overall[method]?[key] else { continue }
                let mark = summary.best[key] == method ? " *" : ""
                Swift.print(
                    "    " + key.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + String(format: " %9.4f  [%.4f, %.4f]  n=%d", v.mean, v.low, v.high, v.count) + mark)
            }
        }
    }

    static func print(_ shares: [LeafBackgroundScore]) {
        guard let first = shares.first else { return }
        Swift.print("attribution on the leaf vs the background over \(first.images) images:")
        Swift.print("method                  leaf (positive)  leaf (|a|)  maximum on background")
        for s in shares {
            Swift.print(
                s.method.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %14.1f%%  %9.1f%%  %20.1f%%", s.leafPositiveShare * 100, s.leafAbsoluteShare * 100,
                        s.maximumOnBackground * 100))
        }
    }

    static func print(_ curves: [RandomizationCurve]) {
        guard let stages = curves.first?.stages else { return }
        Swift.print("randomization curves, Spearman ρ (cascading / independent):")
        Swift.print(
            "  " + "method".padding(toLength: 22, withPad: " ", startingAt: 0)
                + stages.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined())
        for c in curves {
            let cells = zip(c.cascading, c.independent).map {
                String(format: "%6.3f/%-6.3f  ", $0.0, $0.1)
            }
            Swift.print("  " + c.method.padding(toLength: 22, withPad: " ", startingAt: 0) + cells.joined())
        }
    }
}

extension MaskKind: ExpressibleByArgument {}
