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
/// attributions are added (Captum's recipe), so at most one chunk of scaled inputs and gradients
/// exists at a time.
///
/// **Differs from Captum on purpose:** without `internalBatchSize`, Captum pushes all n·N scaled
/// inputs through the model at once. LeafLens computes the same formula, (Σₖ wₖ gₖ) ⊙ (x − b) with one
/// multiplication at the end, but feeds the model `defaultChunkRows` rows at a time: the result is
/// Captum's up to the float rounding of the step sum, peak memory stays at one chunk whatever n is,
/// and the smaller working set is faster (no page faults for gigabytes of activations).
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
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, baseline: Baseline<Model.Scalar> = .zero,
        targets: [Int], steps: Int = 50, rule: IntegrationRule = .gaussLegendre,
        internalBatchSize: Int? = nil, multiplyByInputs: Bool = true,
        progress: AttributionProgress? = nil
    ) throws -> Result<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        let quadrature = try rule.quadrature(steps: steps)
        try validateInternalBatchSize(internalBatchSize)
        let base = try baseline.resolved(for: input)
        let result = try integrate(
            model: model, input: input, base: base, targets: targets, quadrature: quadrature,
            internalBatchSize: internalBatchSize, multiplyByInputs: multiplyByInputs, progress: progress)
        let delta = try convergenceDelta(
            model: model, attributions: result, input: input, baseline: base, targets: targets)
        return Result(attributions: result, convergenceDelta: delta)
    }

    static func validateInternalBatchSize(_ size: Int?) throws(AttributionError) {
        if let size, size < 1 {
            throw AttributionError.invalidOption("internal batch size must be ≥ 1, got \(size)")
        }
    }

    /// The attributions with `quadrature`'s nodes (no convergence delta): the chunked step sum above,
    /// shared by `attribute` and the step search (`IntegratedGradients+StepSearch.swift`).
    @_specialize(where Model == ResNetClassifier<Float>)
    static func integrate<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, base: Tensor<Model.Scalar>, targets: [Int],
        quadrature: Quadrature, internalBatchSize: Int?, multiplyByInputs: Bool, progress: AttributionProgress?
    ) throws -> Tensor<Model.Scalar> {
        typealias Scalar = Model.Scalar
        let steps = quadrature.count
        let batch = input.shape[0]
        let difference = subtract(input.storage, base.storage)
        // Captum's chunks multiply each chunk's sum by x − b; the default chunks only bound the batch.
        let multiplyPerChunk = internalBatchSize != nil
        let stepsPerChunk = max(1, (internalBatchSize ?? defaultChunkRows) / batch)

        var attributions = [Scalar](repeating: 0, count: difference.count)
        var start = 0
        while start < steps {
            let chunk = start..<min(steps, start + stepsPerChunk)
            if multiplyPerChunk {
                var chunkSum = [Scalar](repeating: 0, count: difference.count)
                try accumulateWeightedGradients(
                    into: &chunkSum, model: model, base: base, difference: difference, targets: targets,
                    quadrature: quadrature, steps: chunk)
                if multiplyByInputs { multiply(&chunkSum, by: difference) }
                add(&attributions, chunkSum)
            } else {
                try accumulateWeightedGradients(
                    into: &attributions, model: model, base: base, difference: difference, targets: targets,
                    quadrature: quadrature, steps: chunk)
            }
            start = chunk.upperBound
            progress?(start, steps)
        }
        if !multiplyPerChunk && multiplyByInputs { multiply(&attributions, by: difference) }
        return try checkedTensor(shape: input.shape, storage: attributions)
    }

    /// Rows (steps × examples) per forward/backward when no internal batch size is given: enough
    /// images for every core (the model runs the images of a batch in parallel), few enough that
    /// one chunk's activations stay small (≈ 0.3 GB for 8 full-width 224×224 images).
    public static let defaultChunkRows = 8

    /// total += Σ_{k ∈ steps} wₖ · ∂F/∂x at b + αₖ(x − b): one forward and backward over |steps|·N rows.
    @_specialize(where Model == ResNetClassifier<Float>)
    static func accumulateWeightedGradients<Model: AttributionModel>(
        into total: inout [Model.Scalar], model: Model, base: Tensor<Model.Scalar>, difference: [Model.Scalar],
        targets: [Int], quadrature: Quadrature, steps: Range<Int>
    ) throws {
        let alphas = steps.map { quadrature.alphas[$0] }
        let scaled = pathPoints(base: base.storage, difference: difference, alphas: alphas)
        var shape = base.shape
        shape[0] *= steps.count
        let batchTargets = Array([[Int]](repeating: targets, count: steps.count).joined())
        let gradient = try targetGradient(
            model, try checkedTensor(shape: shape, storage: scaled), targets: batchTargets)
        accumulate(&total, gradient.storage, weights: steps.map { quadrature.weights[$0] })
    }

    /// Σ attributionᵢ − (F(x)ᵢ − F(b)ᵢ) per example (the row sum is accumulated in Double).
    @_specialize(where Model == ResNetClassifier<Float>)
    static func convergenceDelta<Model: AttributionModel>(
        model: Model, attributions: Tensor<Model.Scalar>, input: Tensor<Model.Scalar>,
        baseline: Tensor<Model.Scalar>, targets: [Int]
    ) throws -> [Model.Scalar] {
        let gaps = try endpointGaps(model: model, input: input, baseline: baseline, targets: targets)
        return convergenceDelta(attributions: attributions, gaps: gaps)
    }

    /// F(x)ᵢ − F(b)ᵢ per example, in the model's scalar type.
    @_specialize(where Model == ResNetClassifier<Float>)
    static func endpointGaps<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, baseline: Tensor<Model.Scalar>, targets: [Int]
    ) throws -> [Model.Scalar] {
        // Two forwards of N rows, never one of 2N: no model call exceeds an internal batch.
        let atInput = try targetOutputs(model, input, targets: targets)
        let atBaseline = try targetOutputs(model, baseline, targets: targets)
        return zip(atInput, atBaseline).map { $0 - $1 }
    }

    /// Σ attributionᵢ − gapᵢ per example, `gaps` from `endpointGaps`.
    static func convergenceDelta<Scalar: TensorScalar>(attributions: Tensor<Scalar>, gaps: [Scalar]) -> [Scalar] {
        let batch = gaps.count
        let perExample = attributions.count / batch
        return (0..<batch).map { i in
            var sum = 0.0
            for j in 0..<perExample { sum += Double(attributions.storage[i * perExample + j]) }
            return Scalar(sum) - gaps[i]
        }
    }
}

// Whole-storage element-wise helpers (one pass each, no per-element closures). Callers are generic
// over the model, so these run unspecialized unless the Float/Double entry points below are taken.

/// Scaled inputs b + αₖ(x − b), step-major: `[alphas.count · size]`, αₖ rounded to the scalar type.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func pathPoints<Scalar: TensorScalar>(base: [Scalar], difference: [Scalar], alphas: [Double]) -> [Scalar] {
    let size = difference.count
    var scaled = [Scalar](repeating: 0, count: alphas.count * size)
    scaled.withUnsafeMutableBufferPointer { out in
        base.withUnsafeBufferPointer { b in
            difference.withUnsafeBufferPointer { d in
                for (row, alpha) in alphas.enumerated() {
                    let a = Scalar(alpha)
                    let offset = row * size
                    for i in 0..<size { out[offset + i] = b[i] + a * d[i] }
                }
            }
        }
    }
    return scaled
}

/// total += Σₖ gradients[k] · weights[k], rows of `total.count`, the weights rounded to the scalar type.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func accumulate<Scalar: TensorScalar>(_ total: inout [Scalar], _ gradients: [Scalar], weights: [Float]) {
    let size = total.count
    total.withUnsafeMutableBufferPointer { t in
        gradients.withUnsafeBufferPointer { g in
            for (row, weight) in weights.enumerated() {
                let w = Scalar(weight)
                let offset = row * size
                for i in 0..<size { t[i] += g[offset + i] * w }
            }
        }
    }
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func subtract<Scalar: TensorScalar>(_ a: [Scalar], _ b: [Scalar]) -> [Scalar] {
    var out = a
    out.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] -= b[i] } }
    }
    return out
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func multiply<Scalar: TensorScalar>(_ a: inout [Scalar], by b: [Scalar]) {
    a.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] *= b[i] } }
    }
}

@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func add<Scalar: TensorScalar>(_ a: inout [Scalar], _ b: [Scalar]) {
    a.withUnsafeMutableBufferPointer { o in
        b.withUnsafeBufferPointer { b in for i in o.indices { o[i] += b[i] } }
    }
}
