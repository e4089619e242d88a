import LeafLensMath

/// Infidelity (Yeh et al. 2019) as Captum 0.9's `captum.metrics.infidelity` defines it, with the
/// Gaussian perturbation of Captum's tutorial (I ~ N(0, σ²) per element, x_pert = x − I):
///
///     s_j = Σ_elements attr ⊙ I_j,   d_j = F(x)[t] − F(x − I_j)[t]
///     infidelity = (1/n) Σ_j (s_j − d_j)²                                (normalize = false)
///     normalize = true: β = Σ s d / Σ s² (0/0 → 0), infidelity = (β²Σs² − 2βΣsd + Σd²)/n
///
/// F is the model's output (the logit, which LeafLens' attributions explain) unless `score` says
/// otherwise. Lower = more faithful; exact attributions of a linear model score 0.
public enum Infidelity {
    public static let defaultStdev = 0.003
    public static let defaultSamples = 10

    /// What F is: the raw output (logit) or its softmax probability.
    public enum Score: String, Sendable, Codable { case logit, probability }

    /// n perturbations I_j shaped like `shape`, σ·z from `GaussianDraws` on SeededRandom(seed), drawn
    /// sample by sample, each in C order.
    public static func gaussianPerturbations<Scalar: TensorScalar>(
        shape: [Int], samples: Int = defaultSamples, stdev: Double = defaultStdev, seed: UInt64,
        as _: Scalar.Type = Scalar.self
    ) throws -> [Tensor<Scalar>] {
        guard samples >= 1 else { throw MetricError.invalidOption("infidelity needs ≥ 1 sample, got \(samples)") }
        guard stdev > 0, stdev.isFinite else {
            throw MetricError.invalidOption("infidelity stdev must be > 0, got \(stdev)")
        }
        var random = SeededRandom(seed: seed)
        let count = shape.reduce(1, *)
        return (0..<samples).map { _ in
            Tensor(uncheckedShape: shape, storage: GaussianDraws.normalArray(count, stdev: stdev, random: &random))
        }
    }

    /// Infidelity of `attributions` (shaped like `input`, `[1, ...]`) for `target`, with the given
    /// perturbations (each shaped like `input`). The perturbed inputs are forwarded `batchSize` at a time.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func evaluate<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, attributions: Tensor<Model.Scalar>, target: Int,
        perturbations: [Tensor<Model.Scalar>], normalize: Bool = false, score: Score = .logit,
        batchSize: Int = 16
    ) throws -> Double {
        guard input.rank >= 1, input.shape[0] == 1 else {
            throw MetricError.shapeMismatch("infidelity takes one example [1, ...], got \(input.shape)")
        }
        guard attributions.shape == input.shape else {
            throw MetricError.shapeMismatch(
                "attributions \(attributions.shape) must have the input's shape \(input.shape)")
        }
        guard !perturbations.isEmpty, perturbations.allSatisfy({ $0.shape == input.shape }) else {
            throw MetricError.shapeMismatch("infidelity needs ≥ 1 perturbation shaped like the input \(input.shape)")
        }
        guard (0..<model.classCount).contains(target) else {
            throw MetricError.invalidOption("target \(target) is outside the model's classes 0..<\(model.classCount)")
        }
        guard batchSize >= 1 else { throw MetricError.invalidOption("batch size must be ≥ 1, got \(batchSize)") }
        let f = { (x: Tensor<Model.Scalar>, rows: Int) throws -> [Double] in
            let out = try model.outputs(x)
            switch score {
            case .probability: return try probabilities(out, columns: Array(repeating: target, count: rows))
            case .logit:
                guard out.rank == 2, out.shape[0] == rows else {
                    throw MetricError.shapeMismatch("model returned \(out.shape) for \(rows) inputs")
                }
                return (0..<rows).map { Double(out.storage[$0 * out.shape[1] + target]) }
            }
        }
        let clean = try f(input, 1)[0]
        var sums = (ss: 0.0, sd: 0.0, dd: 0.0, diff: 0.0)
        var start = 0
        while start < perturbations.count {
            let chunk = perturbations[start..<min(start + batchSize, perturbations.count)]
            var batch: [Model.Scalar] = []
            batch.reserveCapacity(chunk.count * input.count)
            for p in chunk {
                for i in 0..<input.count { batch.append(input.storage[i] - p.storage[i]) }
            }
            let perturbed = try f(
                Tensor(uncheckedShape: [chunk.count] + input.shape.dropFirst(), storage: batch), chunk.count)
            for (p, fp) in zip(chunk, perturbed) {
                var s = 0.0
                for i in 0..<input.count { s += Double(attributions.storage[i]) * Double(p.storage[i]) }
                let d = clean - fp
                sums.ss += s * s
                sums.sd += s * d
                sums.dd += d * d
                sums.diff += (s - d) * (s - d)
            }
            start += chunk.count
        }
        let n = Double(perturbations.count)
        if !normalize { return sums.diff / n }
        let beta = sums.ss == 0 ? 0 : sums.sd / sums.ss
        return (beta * beta * sums.ss - 2 * beta * sums.sd + sums.dd) / n
    }
}
