import Foundation
import LeafLensAttribution

// `--steps auto` in the pipeline: Integrated Gradients at the fewest steps within a delta tolerance
// (the search is `IntegratedGradients.attribute(…, stepSearch:)`), recorded in the JSON file.

public typealias IntegratedGradientsStepSearch = IntegratedGradients.StepSearch

/// The JSON record of a `--steps auto` run (`parameters.step_search`); `parameters.steps` is the count
/// chosen.
public struct StepSearchRecord: Codable, Equatable, Sendable {
    /// One count tried and its convergence delta.
    public struct Trial: Codable, Equatable, Sendable {
        public var steps: Int
        public var delta: Double
        public var passed: Bool
    }

    /// The count chosen (also `parameters.steps`).
    public var steps: Int
    /// `--delta-tolerance`: the tolerance as a fraction of |F(x) − F(baseline)|.
    public var deltaTolerance: Double
    /// The tolerance in the output's units: deltaTolerance · |F(x) − F(baseline)|.
    public var tolerance: Double
    /// The convergence delta at the chosen count.
    public var delta: Double
    /// Whether the chosen count is within the tolerance (false: no count up to `maximumSteps` was; the
    /// attributions are those of the count with the smallest |delta|).
    public var converged: Bool
    public var maximumSteps: Int
    /// In the order tried: the doubling ladder, then the bisection.
    public var tried: [Trial]
}

extension Explainer {
    /// `--steps auto` needs a convergence delta: Integrated Gradients has one, a noise tunnel's average
    /// of IG over noisy inputs has none (Captum's NoiseTunnel returns per-sample deltas, not the
    /// delta of the averaged map), so the combination is refused rather than guessed.
    static func checkStepSearch(_ settings: ExplainerSettings, methods: [AttributionMethod]) throws {
        guard let search = settings.integratedGradients.stepSearch, methods.contains(.integratedGradients) else {
            return
        }
        if settings.gradients.noiseTunnel != nil {
            throw ExplainerOptionError(
                option: "--steps auto",
                message:
                    "needs Integrated Gradients' convergence delta, which a noise tunnel's averaged map does not have; give a number of steps with --noise-tunnel"
            )
        }
        let rule = settings.integratedGradients.rule
        guard search.relativeTolerance.isFinite, search.relativeTolerance > 0 else {
            throw ExplainerOptionError(
                option: "--delta-tolerance", message: "must be finite and > 0, got \(search.relativeTolerance)")
        }
        guard search.maximumSteps >= rule.minimumSteps else {
            throw ExplainerOptionError(
                option: "--max-steps",
                message: "must be at least \(rule.minimumSteps) for \(rule.rawValue), got \(search.maximumSteps)")
        }
    }

    func integratedGradients<Model: AttributionModel>(
        _ input: LoadedInput, target: Int, progress: AttributionProgress?, model: Model, baseline: Baseline<Float>,
        parameters: MethodParameters, search: IntegratedGradientsStepSearch
    ) throws -> Explanation where Model.Scalar == Float {
        let options = settings.integratedGradients
        let found = try IntegratedGradients.attribute(
            model: model, input: input.tensor, baseline: baseline, targets: [target], stepSearch: search,
            rule: options.rule, internalBatchSize: options.internalBatchSize, progress: progress)
        var parameters = parameters
        parameters.steps = found.steps
        let delta = found.result.convergenceDelta.first.map(Double.init) ?? .nan
        parameters.stepSearch = StepSearchRecord(
            steps: found.steps, deltaTolerance: search.relativeTolerance, tolerance: found.tolerances.first ?? .nan,
            delta: delta,
            converged: found.converged, maximumSteps: search.maximumSteps,
            tried: found.trials.map { .init(steps: $0.steps, delta: $0.deltas.first ?? .nan, passed: $0.passed) })
        var explanation = try inputSpace(.integratedGradients, found.result.attributions, parameters)
        explanation.convergenceDelta = delta
        return explanation
    }
}

extension StepSearchRecord {
    /// "auto (7 counts tried): |delta| 0.0123 ≤ 0.0456", or "… not converged: …" for reports.
    public var summary: String {
        func number(_ value: Double) -> String {
            String(format: "%.3g", locale: Locale(identifier: "en_US_POSIX"), value)
        }
        let verdict = converged ? "≤" : "> (not converged)"
        return "auto (\(tried.count) counts tried): |delta| \(number(abs(delta))) \(verdict) \(number(tolerance))"
    }

    /// The warning line for a search that did not reach its tolerance (nil when it did).
    public func warning(path: String) -> String? {
        guard !converged else { return nil }
        func number(_ value: Double) -> String {
            String(format: "%.3g", locale: Locale(identifier: "en_US_POSIX"), value)
        }
        return "\(path): integrated-gradients: --steps auto found no count up to \(maximumSteps) steps with "
            + "|delta| ≤ \(number(tolerance)) (\(number(deltaTolerance)) of |F(x) − F(baseline)|); wrote the best "
            + "count tried, \(steps) steps, delta \(number(delta))"
    }
}
