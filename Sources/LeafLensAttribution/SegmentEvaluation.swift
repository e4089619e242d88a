import LeafLensMath

/// Per-segment attributions: the painted map `[N, C, H, W]` (each pixel of a segment carries the
/// segment's value, every colour channel alike — Captum's `return_input_shape=True`) and the values
/// themselves, `[N][M]` (Captum's interpretable representation, `return_input_shape=False`).
public struct SegmentAttribution: Sendable, Equatable {
    public let attribution: Tensor<Float>
    public let values: [[Double]]
}

/// Model inputs built from coalitions of segments for one example: segment f is "on" (the input's
/// pixels) where z_f = 1 and "off" (the baseline's) where z_f = 0, i.e. x·z[mask] + b·(1 − z[mask]),
/// evaluated in batches of `batchSize` (Captum's `perturbations_per_eval`, which does not change numbers).
struct SegmentEvaluator<Model: AttributionModel> {
    typealias Scalar = Model.Scalar
    let model: Model
    let example: [Scalar]
    let baseline: [Scalar]
    let shape: [Int]  // [1, C, H, W]
    let segments: FeatureSegments
    let target: Int
    let batchSize: Int

    /// The model input for coalition `z` (`[M]`, 1 = on), `[C·H·W]`.
    func input(_ z: [Bool]) -> [Scalar] {
        let plane = segments.height * segments.width
        var out = baseline
        for i in 0..<plane where z[Int(segments.labels[i])] {
            for c in 0..<shape[1] { out[c * plane + i] = example[c * plane + i] }
        }
        return out
    }

    /// F(input(z))[target] for every coalition, in order.
    func outputs(_ coalitions: [[Bool]]) throws -> [Double] {
        var result: [Double] = []
        var start = 0
        while start < coalitions.count {
            let count = min(batchSize, coalitions.count - start)
            var batch: [Scalar] = []
            batch.reserveCapacity(count * example.count)
            for k in 0..<count { batch.append(contentsOf: input(coalitions[start + k])) }
            let x = try checkedTensor(shape: [count] + Array(shape.dropFirst()), storage: batch)
            let out = try selectTargets(
                model.outputs(x), targets: Array(repeating: target, count: count), classCount: model.classCount)
            result.append(contentsOf: out.map { Double($0) })
            start += count
        }
        return result
    }

    /// Builds one evaluator per example after the checks every segment method shares.
    static func perExample(
        model: Model, input: Tensor<Scalar>, targets: [Int], segments: FeatureSegments,
        baseline: Baseline<Scalar>, batchSize: Int
    ) throws -> [SegmentEvaluator] {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        guard input.rank == 4 else {
            throw AttributionError.shapeMismatch("segment methods need an input [N, C, H, W], got \(input.shape)")
        }
        guard segments.height == input.shape[2], segments.width == input.shape[3] else {
            throw SegmentError.wrongSize(
                expected: [input.shape[2], input.shape[3]], found: [segments.height, segments.width])
        }
        guard batchSize >= 1 else {
            throw AttributionError.invalidOption("batch size must be at least 1, got \(batchSize)")
        }
        let b = try baseline.resolved(for: input)
        let size = input.count / input.shape[0]
        let shape = [1] + Array(input.shape.dropFirst())
        return (0..<input.shape[0]).map { n in
            SegmentEvaluator(
                model: model, example: Array(input.storage[(n * size)..<((n + 1) * size)]),
                baseline: Array(b.storage[(n * size)..<((n + 1) * size)]), shape: shape, segments: segments,
                target: targets[n], batchSize: batchSize)
        }
    }

    /// Paints `[N][M]` values into a `SegmentAttribution`.
    static func result(
        _ values: [[Double]], input: Tensor<Scalar>, segments: FeatureSegments
    ) throws -> SegmentAttribution {
        var storage: [Float] = []
        storage.reserveCapacity(input.count)
        for v in values { storage.append(contentsOf: segments.painted(v.map { Float($0) }, channels: input.shape[1])) }
        return SegmentAttribution(attribution: try checkedTensor(shape: input.shape, storage: storage), values: values)
    }
}
