import LeafLensMath

/// Captum 0.9's `ShapleyValueSampling` over segments (Castro et al. 2009): for each permutation π of
/// the M segments, start from the all-baseline input, switch the segments on in π's order, and credit
/// each with the change of F(·)[t] it caused; the attribution is the mean over permutations. Every
/// permutation's credits sum to F(x) − F(baseline) (efficiency), so the mean does too.
///
/// Permutations: `parameters.permutations` when given (injected), else `samples` draws of
/// `SegmentSampling.permutation` from `SeededRandom(seed:)`. Every example of a batch uses the same
/// permutations (as Captum, which ablates the whole batch together). M forward passes per permutation
/// (plus one for the baseline) per example.
public enum ShapleyValueSampling {
    public struct Parameters: Sendable, Equatable {
        /// Permutations to sample (Captum's `n_samples`, default 25).
        public var samples: Int
        public var seed: UInt64
        /// Injected permutations of 0..<M; overrides `samples` and `seed`.
        public var permutations: [[Int]]?
        /// Inputs per forward pass (Captum's `perturbations_per_eval`; numbers do not depend on it).
        public var batchSize: Int

        public init(samples: Int = 25, seed: UInt64 = 0, permutations: [[Int]]? = nil, batchSize: Int = 16) {
            self.samples = samples
            self.seed = seed
            self.permutations = permutations
            self.batchSize = batchSize
        }
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], segments: FeatureSegments,
        baseline: Baseline<Model.Scalar> = .zero, parameters: Parameters = Parameters()
    ) throws -> SegmentAttribution {
        let m = segments.count
        let permutations =
            parameters.permutations
            ?? SegmentSampling.permutations(features: m, count: parameters.samples, seed: parameters.seed)
        guard !permutations.isEmpty else {
            throw AttributionError.invalidOption("shapley-value-sampling needs at least 1 sample")
        }
        for p in permutations where p.sorted() != Array(0..<m) {
            throw AttributionError.invalidOption("a Shapley permutation must order the segments 0..<\(m), got \(p)")
        }
        let evaluators = try SegmentEvaluator.perExample(
            model: model, input: input, targets: targets, segments: segments, baseline: baseline,
            batchSize: parameters.batchSize)
        let values = try evaluators.map { e in try meanCredits(e, permutations: permutations, m: m) }
        return try SegmentEvaluator<Model>.result(values, input: input, segments: segments)
    }

    static func meanCredits<Model: AttributionModel>(
        _ e: SegmentEvaluator<Model>, permutations: [[Int]], m: Int
    ) throws -> [Double] {
        let none = [Bool](repeating: false, count: m)
        let start = try e.outputs([none])[0]
        var total = [Double](repeating: 0, count: m)
        for p in permutations {
            var z = none
            let coalitions = p.map { f -> [Bool] in
                z[f] = true
                return z
            }
            let y = try e.outputs(coalitions)
            var previous = start
            for (step, f) in p.enumerated() {
                total[f] += y[step] - previous
                previous = y[step]
            }
        }
        return total.map { $0 / Double(permutations.count) }
    }
}
