import LeafLensMath

/// Integrated Gradients (Sundararajan et al. 2017), as Captum 0.9's `IntegratedGradients`:
///
///     IGᵢ(x) = (xᵢ − bᵢ) · ∫₀¹ ∂F(b + α(x − b))/∂xᵢ dα  ≈  (Σₖ wₖ gₖ) ⊙ (x − b)
///
/// with nodes αₖ and float32 weights wₖ from `IntegrationRule` (Gauss–Legendre, 50 steps by default).
/// The scaled inputs b + αₖ(x − b) are computed in the model's scalar type with αₖ rounded to it, and
/// batched step-major: rows [k=0: ex 0..N−1, k=1: ex 0..N−1, …].
///
/// `internalBatchSize` bounds memory: steps are processed in chunks of max(1, ⌊size/N⌋) steps, each
/// chunk's attribution (its weighted gradient sum times x − b) is computed separately and the chunk
/// attributions are added, so at most one chunk of scaled inputs and gradients exists at a time.
/// Without it, all n·N scaled inputs go through the model at once (one chunk).
///
/// The convergence delta per example is Σ attributionᵢ − (F(x)ᵢ − F(b)ᵢ), with F(x) and F(b) from
/// separate forward passes; completeness says it tends to 0 as the rule converges.
public enum IntegratedGradients {
    public struct Result<Scalar: TensorScalar>: Sendable, Equatable {
        /// Attributions, shaped like the input `[N, ...]`.
        public var attributions: Tensor<Scalar>
        /// Σ attributions − (F(x) − F(b)) per example, `[N]`.
        public var convergenceDelta: [Scalar]
    }

    /// - Parameters:
    ///   - input: `[N, ...]`; `targets`: one class per example.
    ///   - steps: number of nodes n (Riemann rules need n ≥ 2).
    ///   - multiplyByInputs: false returns the weighted gradient sum alone ("local" IG).
    ///   - progress: called after each chunk with (steps done, n).
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, baseline: Baseline<Model.Scalar> = .zero,
        targets: [Int], steps: Int = 50, rule: IntegrationRule = .gaussLegendre,
        internalBatchSize: Int? = nil, multiplyByInputs: Bool = true,
        progress: AttributionProgress? = nil
    ) throws -> Result<Model.Scalar> {
        typealias Scalar = Model.Scalar
        try validateBatch(input, targets: targets, classCount: model.classCount)
        let quadrature = try rule.quadrature(steps: steps)
        if let size = internalBatchSize, size < 1 {
            throw AttributionError.invalidOption("internal batch size must be ≥ 1, got \(size)")
        }
        let batch = input.shape[0]
        let base = try baseline.resolved(for: input)
        let difference = subtract(input.storage, base.storage)
        let stepsPerChunk = internalBatchSize.map { max(1, $0 / batch) } ?? steps

        var attributions: [Scalar] = []
        var start = 0
        while start < steps {
            let chunk = start..<min(steps, start + stepsPerChunk)
            var chunkAttribution = try weightedGradientSum(
                model: model, base: base, difference: difference, targets: targets,
                quadrature: quadrature, steps: chunk)
            if multiplyByInputs { multiply(&chunkAttribution, by: difference) }
            if attributions.isEmpty { attributions = chunkAttribution } else { add(&attributions, chunkAttribution) }
            start = chunk.upperBound
            progress?(start, steps)
        }

        let result = try checkedTensor(shape: input.shape, storage: attributions)
        let delta = try convergenceDelta(
            model: model, attributions: result, input: input, baseline: base, targets: targets)
        return Result(attributions: result, convergenceDelta: delta)
    }

    /// Σ_{k ∈ steps} wₖ · ∂F/∂x at b + αₖ(x − b): one forward and backward over |steps|·N rows.
    static func weightedGradientSum<Model: AttributionModel>(
        model: Model, base: Tensor<Model.Scalar>, difference: [Model.Scalar], targets: [Int],
        quadrature: Quadrature, steps: Range<Int>
    ) throws -> [Model.Scalar] {
        typealias Scalar = Model.Scalar
        let size = difference.count  // N · per-example size
        var scaled = [Scalar](repeating: 0, count: steps.count * size)
        scaled.withUnsafeMutableBufferPointer { out in
            base.storage.withUnsafeBufferPointer { b in
                difference.withUnsafeBufferPointer { d in
                    for (row, k) in steps.enumerated() {
                        let alpha = Scalar(quadrature.alphas[k])
                        let offset = row * size
                        for i in 0..<size { out[offset + i] = b[i] + alpha * d[i] }
                    }
                }
            }
        }
        var shape = base.shape
        shape[0] *= steps.count
        let batchTargets = Array([[Int]](repeating: targets, count: steps.count).joined())
        let gradient = try targetGradient(
            model, try checkedTensor(shape: shape, storage: scaled), targets: batchTargets)

        var total = [Scalar](repeating: 0, count: size)
        total.withUnsafeMutableBufferPointer { t in
            gradient.storage.withUnsafeBufferPointer { g in
                for (row, k) in steps.enumerated() {
                    let weight = Scalar(quadrature.weights[k])
                    let offset = row * size
                    for i in 0..<size { t[i] += g[offset + i] * weight }
                }
            }
        }
        return total
    }

    /// Σ attributionᵢ − (F(x)ᵢ − F(b)ᵢ) per example (the row sum is accumulated in Double).
    static func convergenceDelta<Model: AttributionModel>(
        model: Model, attributions: Tensor<Model.Scalar>, input: Tensor<Model.Scalar>,
        baseline: Tensor<Model.Scalar>, targets: [Int]
    ) throws -> [Model.Scalar] {
        let atInput = try targetOutputs(model, input, targets: targets)
        let atBaseline = try targetOutputs(model, baseline, targets: targets)
        let batch = targets.count
        let perExample = attributions.count / batch
        return (0..<batch).map { i in
            var sum = 0.0
            for j in 0..<perExample { sum += Double(attributions.storage[i * perExample + j]) }
            return Model.Scalar(sum) - (atInput[i] - atBaseline[i])
        }
    }
}

// Whole-storage element-wise helpers (one pass each, no per-element closures).

func subtract<Scalar: TensorScalar>(_ a: [Scalar], _ b: [Scalar]) -> [Scalar] {
    var out = a
    out.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] -= b[i] } }
    }
    return out
}

func multiply<Scalar: TensorScalar>(_ a: inout [Scalar], by b: [Scalar]) {
    a.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] *= b[i] } }
    }
}

func add<Scalar: TensorScalar>(_ a: inout [Scalar], _ b: [Scalar]) {
    a.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] += b[i] } }
    }
}
