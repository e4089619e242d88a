import LeafLensMath

/// Captum 0.9's `FeatureAblation` with a feature mask of segments: every pixel of segment f gets
///
///     F(x)[t] − F(x with segment f set to the baseline)[t]
///
/// (no averaging: the segments partition the image). M + 1 forward passes per example. `grid:1`
/// gives F(x) − F(baseline) everywhere.
public enum FeatureAblation {
    public struct Parameters: Sendable, Equatable {
        /// Ablated copies per forward pass (Captum's `perturbations_per_eval`; numbers do not depend on it).
        public var batchSize: Int
        public init(batchSize: Int = 16) { self.batchSize = batchSize }
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], segments: FeatureSegments,
        baseline: Baseline<Model.Scalar> = .zero, parameters: Parameters = Parameters()
    ) throws -> SegmentAttribution {
        let evaluators = try SegmentEvaluator.perExample(
            model: model, input: input, targets: targets, segments: segments, baseline: baseline,
            batchSize: parameters.batchSize)
        let m = segments.count
        let values = try evaluators.map { e in
            let all = [Bool](repeating: true, count: m)
            let coalitions =
                [all]
                + (0..<m).map { f in
                    var z = all
                    z[f] = false
                    return z
                }
            let y = try e.outputs(coalitions)
            return (0..<m).map { y[0] - y[$0 + 1] }
        }
        return try SegmentEvaluator<Model>.result(values, input: input, segments: segments)
    }
}
