import LeafLensMath

/// `--steps auto`: Integrated Gradients with the fewest steps n whose convergence delta
///
///     δᵢ(n) = Σ attributionᵢ(n) − (F(x)ᵢ − F(b)ᵢ)
///
/// is within tolerance, |δᵢ(n)| ≤ τᵢ = `relativeTolerance` · |F(x)ᵢ − F(b)ᵢ| for every example i.
///
/// The search: a doubling ladder n = m, 2m, 4m, … (m = the rule's minimum, 1 for Gauss–Legendre, 2 for
/// the Riemann rules; capped at `maximumSteps`) until a rung passes, then bisection between the last
/// failing rung and the first passing one. Each count is a full `IntegratedGradients.attribute` at that
/// n (the same quadrature and chunking), with F(x) and F(b) computed once for the whole search.
///
/// **δ(n) is not monotone in n** (a rule can land close by luck at a small n and miss at a larger one;
/// Riemann rules' errors oscillate in sign), so "fewest" means the fewest this search finds: the
/// result is always a count that passed, never more than the first passing rung, but a smaller count
/// that the bisection skipped may pass too.
///
/// If no rung up to `maximumSteps` passes, the search returns the count with the smallest worst-case
/// |δᵢ|/τᵢ it tried and `converged == false`: the attributions are still the best this rule gave, and
/// the caller decides whether that is an error (the CLI warns and writes them).
///
/// Cost: about 2 × the passing rung's steps for the ladder plus at most log₂(rung/2) bisection runs of
/// fewer steps each, plus the two forwards of F(x) and F(b).
extension IntegratedGradients {
    /// How `attribute(…, stepSearch:)` looks for n.
    public struct StepSearch: Sendable, Equatable {
        public static let defaultRelativeTolerance = 0.01
        public static let defaultMaximumSteps = 1024

        /// τᵢ as a fraction of |F(x)ᵢ − F(b)ᵢ| (0.01: the delta is at most 1% of the output change).
        public var relativeTolerance: Double
        /// The ladder's top rung: the most steps tried.
        public var maximumSteps: Int

        public init(
            relativeTolerance: Double = StepSearch.defaultRelativeTolerance,
            maximumSteps: Int = StepSearch.defaultMaximumSteps
        ) {
            self.relativeTolerance = relativeTolerance
            self.maximumSteps = maximumSteps
        }

        func validate(rule: IntegrationRule) throws(AttributionError) {
            guard relativeTolerance.isFinite, relativeTolerance > 0 else {
                throw .invalidOption("the delta tolerance must be finite and > 0, got \(relativeTolerance)")
            }
            guard maximumSteps >= rule.minimumSteps else {
                throw .invalidOption(
                    "the maximum steps must be at least \(rule.minimumSteps) for \(rule.rawValue), got \(maximumSteps)")
            }
        }

        /// The ladder's counts: m, 2m, 4m, … below `maximumSteps`, then `maximumSteps` itself.
        public func ladder(rule: IntegrationRule) -> [Int] {
            var rungs: [Int] = []
            var n = rule.minimumSteps
            while n < maximumSteps {
                rungs.append(n)
                n *= 2
            }
            rungs.append(maximumSteps)
            return rungs
        }
    }

    /// One count the search tried.
    public struct StepTrial: Sendable, Equatable {
        public var steps: Int
        /// δᵢ at this count, per example.
        public var deltas: [Double]
        /// Whether every |δᵢ| ≤ τᵢ.
        public var passed: Bool
    }

    public struct StepSearchResult<Scalar: TensorScalar>: Sendable, Equatable {
        /// The attributions and convergence delta at `steps`.
        public var result: Result<Scalar>
        /// The count chosen: the fewest passing count found, or the best one tried if none passed.
        public var steps: Int
        /// τᵢ per example, in the output's units.
        public var tolerances: [Double]
        /// Every count tried, in the order tried (ladder, then bisection).
        public var trials: [StepTrial]
        /// Whether `steps` passed; false when no count up to the maximum did.
        public var converged: Bool
    }

    /// Integrated Gradients at the fewest steps (as found by the search above) whose convergence delta
    /// is within `stepSearch`'s tolerance. Parameters as `attribute(…, steps:)`; `progress` hears each
    /// count's chunks as (steps done, that count).
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, baseline: Baseline<Model.Scalar> = .zero,
        targets: [Int], stepSearch: StepSearch, rule: IntegrationRule = .gaussLegendre,
        internalBatchSize: Int? = nil, multiplyByInputs: Bool = true,
        progress: AttributionProgress? = nil
    ) throws -> StepSearchResult<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        try stepSearch.validate(rule: rule)
        try validateInternalBatchSize(internalBatchSize)
        let base = try baseline.resolved(for: input)
        let gaps = try endpointGaps(model: model, input: input, baseline: base, targets: targets)
        let tolerances = gaps.map { stepSearch.relativeTolerance * abs(Double($0)) }

        var trials: [StepTrial] = []
        /// Runs IG at n and records the trial.
        func run(_ n: Int) throws -> (passed: Bool, result: Result<Model.Scalar>) {
            let attributions = try integrate(
                model: model, input: input, base: base, targets: targets, quadrature: try rule.quadrature(steps: n),
                internalBatchSize: internalBatchSize, multiplyByInputs: multiplyByInputs, progress: progress)
            let delta = convergenceDelta(attributions: attributions, gaps: gaps)
            let deltas = delta.map(Double.init)
            let passed = zip(deltas, tolerances).allSatisfy { abs($0) <= $1 }
            trials.append(StepTrial(steps: n, deltas: deltas, passed: passed))
            return (passed, Result(attributions: attributions, convergenceDelta: delta))
        }

        var lastFailing: Int?
        var passing: (steps: Int, result: Result<Model.Scalar>)?
        // Only the best failing result is kept (the answer if nothing passes), not every rung's.
        var fallback: (steps: Int, result: Result<Model.Scalar>)?
        for n in stepSearch.ladder(rule: rule) {
            let trial = try run(n)
            if trial.passed {
                passing = (n, trial.result)
                break
            }
            lastFailing = n
            if bestCount(trials, tolerances) == n { fallback = (n, trial.result) }
        }
        guard var found = passing else {
            guard let fallback else { throw AttributionError.invalidOption("the step search tried no count") }
            return StepSearchResult(
                result: fallback.result, steps: fallback.steps, tolerances: tolerances, trials: trials,
                converged: false)
        }
        // Bisection on (failing, found): the lower count failed, the upper one passed.
        if var failing = lastFailing {
            while found.steps - failing > 1 {
                let middle = failing + (found.steps - failing) / 2
                let trial = try run(middle)
                if trial.passed { found = (middle, trial.result) } else { failing = middle }
            }
        }
        return StepSearchResult(
            result: found.result, steps: found.steps, tolerances: tolerances, trials: trials, converged: true)
    }

    /// The tried count with the smallest worst-case |δᵢ|/τᵢ (then the smallest worst |δᵢ|, then the
    /// fewest steps); a non-finite δ counts as infinitely far.
    static func bestCount(_ trials: [StepTrial], _ tolerances: [Double]) -> Int {
        func score(_ trial: StepTrial) -> (ratio: Double, worst: Double) {
            var ratio = 0.0, worst = 0.0
            for (delta, tolerance) in zip(trial.deltas, tolerances) {
                let size = delta.isFinite ? abs(delta) : .infinity
                let r = size == 0 ? 0 : (tolerance > 0 ? size / tolerance : .infinity)
                ratio = max(ratio, r)
                worst = max(worst, size)
            }
            return (ratio, worst)
        }
        let best = trials.min { a, b in
            let (sa, sb) = (score(a), score(b))
            if sa.ratio != sb.ratio { return sa.ratio < sb.ratio }
            if sa.worst != sb.worst { return sa.worst < sb.worst }
            return a.steps < b.steps
        }
        return best?.steps ?? 0
    }
}
