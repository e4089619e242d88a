import LeafLensMath

/// Max-sensitivity (Yeh et al. 2019) with Captum 0.9's `sensitivity_max` defaults: n = 10 inputs
/// x + U_j, U_j uniform on the L∞ ball [−r, r] element-wise (r = 0.02), the explanation re-run on each,
///
///     sensitivity = max_j ‖e(x) − e(x + U_j)‖_F / ‖e(x)‖_F       (a zero denominator counts as 1)
///
/// where ‖·‖_F is the Euclidean norm over all elements of one example's explanation. The method is
/// a closure, so any attribution method (and its options) can be measured. Lower = more robust.
public enum SensitivityMax {
    public static let defaultRadius = 0.02
    public static let defaultSamples = 10

    /// n perturbations U_j shaped like `shape`, each value `uniform(−r, r)` of SeededRandom(seed)
    /// (Double, rounded to the scalar type), sample by sample in C order.
    public static func uniformPerturbations<Scalar: TensorScalar>(
        shape: [Int], samples: Int = defaultSamples, radius: Double = defaultRadius, seed: UInt64,
        as _: Scalar.Type = Scalar.self
    ) throws -> [Tensor<Scalar>] {
        guard samples >= 1 else { throw MetricError.invalidOption("sensitivity needs ≥ 1 sample, got \(samples)") }
        guard radius > 0, radius.isFinite else {
            throw MetricError.invalidOption("sensitivity radius must be > 0, got \(radius)")
        }
        var random = SeededRandom(seed: seed)
        let count = shape.reduce(1, *)
        return (0..<samples).map { _ in
            Tensor(uncheckedShape: shape, storage: random.uniformArray(count, -radius, radius))
        }
    }

    /// `explain(batch)` gets `[k, ...]` inputs and returns `[k, ...]` explanations (any per-example
    /// shape). It is called once on `input` (`[1, ...]`) and then on the perturbed copies, up to
    /// `batchSize` per call.
    public static func evaluate<Scalar: TensorScalar>(
        input: Tensor<Scalar>, perturbations: [Tensor<Scalar>], batchSize: Int = 10,
        explain: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> Double {
        guard input.rank >= 1, input.shape[0] == 1 else {
            throw MetricError.shapeMismatch("sensitivity takes one example [1, ...], got \(input.shape)")
        }
        guard !perturbations.isEmpty, perturbations.allSatisfy({ $0.shape == input.shape }) else {
            throw MetricError.shapeMismatch("sensitivity needs ≥ 1 perturbation shaped like the input \(input.shape)")
        }
        guard batchSize >= 1 else { throw MetricError.invalidOption("batch size must be ≥ 1, got \(batchSize)") }
        let reference = try explain(input)
        guard reference.rank >= 1, reference.shape[0] == 1 else {
            throw MetricError.shapeMismatch("the explanation of one input has shape \(reference.shape)")
        }
        let size = reference.count
        var norm = reference.storage.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        if norm == 0 { norm = 1 }
        var worst = 0.0
        var start = 0
        while start < perturbations.count {
            let chunk = perturbations[start..<min(start + batchSize, perturbations.count)]
            var batch: [Scalar] = []
            batch.reserveCapacity(chunk.count * input.count)
            for p in chunk {
                for i in 0..<input.count { batch.append(input.storage[i] + p.storage[i]) }
            }
            let e = try explain(Tensor(uncheckedShape: [chunk.count] + input.shape.dropFirst(), storage: batch))
            guard e.count == chunk.count * size, e.shape.first == chunk.count else {
                throw MetricError.shapeMismatch(
                    "explanations of \(chunk.count) inputs have shape \(e.shape), expected [\(chunk.count)] + \(Array(reference.shape.dropFirst()))"
                )
            }
            for j in 0..<chunk.count {
                var sum = 0.0
                for i in 0..<size {
                    let d = Double(reference.storage[i]) - Double(e.storage[j * size + i])
                    sum += d * d
                }
                worst = max(worst, sum.squareRoot() / norm)
            }
            start += chunk.count
        }
        return worst
    }
}
