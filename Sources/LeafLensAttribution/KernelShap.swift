import LeafLensMath

/// Captum 0.9's `KernelShap` over segments (Lundberg & Lee 2017): coalitions z ∈ {0,1}^M sampled with
/// the Shapley kernel's size distribution (`SegmentSampling.kernelShapCoalitions`; the first two are all
/// ones and all zeros), y = F(x·z + b·(1 − z))[t], and a weighted linear regression with intercept,
/// weight 1e6 for |z| ∈ {0, M} and 1 otherwise. The attributions are the coefficients.
///
/// Solver: `WeightedLeastSquares` in Double (the √w-scaled centred data's SVD by one-sided Jacobi,
/// minimum-norm solution when rank-deficient) — Captum's default `SkLearnLinearRegression` solves the
/// same problem with LAPACK gelsd in float32; the two agree to ~1e−5 relative (methods-and-metrics.md A7).
/// Several examples: one regression each, the sample stream continuing (as Captum's per-example loop).
public enum KernelShap {
    public struct Parameters: Sendable, Equatable {
        /// Coalitions (Captum's `n_samples`, default 25), the two forced endpoints included.
        public var samples: Int
        public var seed: UInt64
        /// Injected coalitions (each `[M]`); overrides `samples` and `seed`, used for every example.
        public var coalitions: [[Bool]]?
        public var batchSize: Int

        public init(samples: Int = 25, seed: UInt64 = 0, coalitions: [[Bool]]? = nil, batchSize: Int = 16) {
            self.samples = samples
            self.seed = seed
            self.coalitions = coalitions
            self.batchSize = batchSize
        }
    }

    /// Captum's "infinite" weight for the empty and the full coalition.
    public static let endpointWeight = 1e6

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], segments: FeatureSegments,
        baseline: Baseline<Model.Scalar> = .zero, parameters: Parameters = Parameters()
    ) throws -> SegmentAttribution {
        let m = segments.count
        guard m >= 2 else { throw AttributionError.invalidOption("kernel-shap needs at least 2 segments, got \(m)") }
        guard parameters.samples >= 1 || parameters.coalitions != nil else {
            throw AttributionError.invalidOption("kernel-shap needs at least 1 sample")
        }
        let evaluators = try SegmentEvaluator.perExample(
            model: model, input: input, targets: targets, segments: segments, baseline: baseline,
            batchSize: parameters.batchSize)
        var random = SeededRandom(seed: parameters.seed)
        let values = try evaluators.map { e in
            let z =
                parameters.coalitions
                ?? SegmentSampling.kernelShapCoalitions(features: m, count: parameters.samples, random: &random)
            try checkCoalitions(z, m: m)
            let y = try e.outputs(z)
            let w = z.map { c -> Double in
                let on = c.filter { $0 }.count
                return on == 0 || on == m ? endpointWeight : 1
            }
            return WeightedLeastSquares.fit(z.map { $0.map { $0 ? 1.0 : 0.0 } }, y, weights: w).coefficients
        }
        return try SegmentEvaluator<Model>.result(values, input: input, segments: segments)
    }

    static func checkCoalitions(_ z: [[Bool]], m: Int) throws {
        guard !z.isEmpty, z.allSatisfy({ $0.count == m }) else {
            throw AttributionError.invalidOption("coalitions must be non-empty lists of \(m) on/off values")
        }
    }
}
