import LeafLensMath
import LeafLensModel

/// GradientShap (Lundberg & Lee 2017; expected gradients, Erion et al. 2021), as Captum 0.9's
/// `GradientShap`. For each example x and each of S samples s (rows r, sample-contiguous per example
/// as Captum's `repeat_interleave`):
///
///     b   = a baseline row drawn uniformly from the distribution
///     x̃   = x + ε,   ε ~ N(0, σ²) per element (drawn even when σ = 0, as Captum)
///     α   ~ U[0, 1), rounded to the scalar type
///     z   = α·x̃ + (1 − α)·b                 (1 − α in the scalar type, as Captum)
///     aₛ  = (x̃ − b) ⊙ ∂F(z)[t]/∂z           (or the gradient alone with `multiplyByInputs: false`)
///     attribution = (Σₛ aₛ) / S
///
/// Note it is the noisy x̃, not x, that multiplies the gradient (Captum's rule). For σ = 0 the
/// expectation is E_b[IG(x; b)] (expected gradients), and E_α[Σ aₛ] = F(x̃) − F(b) exactly: the
/// per-sample convergence delta Σ aₛ − (F(x̃) − F(b)) has mean zero ("expected completeness").
///
/// **Randomness** (specified for reproduction; `GaussianNoise` gives the normal sequence): row
/// r = key·S + s, key = the example's index n. The row stream is SplitMix64(seed ⊕ `rowsTag`); row r
/// uses its draws 2r+1 (baseline index ⌊u·K⌋) and 2r+2 (α = u). The noise is `GaussianNoise(seed ⊕
/// noiseTag)`, elements r·D ..< (r+1)·D for D elements per example, times σ. Captum draws the same
/// kinds of numbers from numpy's and torch's global generators; parity tests inject these draws on
/// Captum's side.
///
/// **Differs from Captum on purpose:** rows are processed `internalBatchSize` at a time (Captum
/// forwards all N·S rows at once, its issue #1350), so memory is one chunk whatever S is; the
/// numbers do not depend on the chunk size (the per-example sums run over s in order either way).
public enum GradientShap {
    /// The tag xor-ed into the seed for the baseline-index/α stream ("ROWS" in ASCII).
    public static let rowsTag: UInt64 = 0x524F_5753
    /// The tag xor-ed into the seed for the input-noise stream ("NOISE" in ASCII).
    public static let noiseTag: UInt64 = 0x4E_4F49_5345

    /// Where baseline rows come from.
    public enum Distribution<Scalar: TensorScalar>: Sendable, Equatable {
        /// K reference rows `[K, ...]` (per-example shape after K), shared by every example: Captum's
        /// `baselines` tensor.
        case rows(Tensor<Scalar>)
        /// K baselines resolved against the input (e.g. `.zero` and `.tensor(input)`, the Captum
        /// tutorial's black and input baselines): example n draws among the K baselines' row n.
        /// For one example it is `.rows` of the K resolved baselines.
        case perExample([Baseline<Scalar>])
    }

    public struct Parameters<Scalar: TensorScalar>: Sendable, Equatable {
        public var baselines: Distribution<Scalar>
        /// S, samples per example (Captum's `n_samples`, default 5).
        public var samples: Int
        /// σ of the Gaussian noise added to the input, in input units (Captum's `stdevs`, default 0).
        public var stdev: Double
        public var seed: UInt64
        /// Rows (example × sample) per forward/backward; nil = `IntegratedGradients.defaultChunkRows`.
        public var internalBatchSize: Int?
        /// false returns the averaged gradients alone (Captum's `multiply_by_inputs=False`).
        public var multiplyByInputs: Bool

        public init(
            baselines: Distribution<Scalar>, samples: Int = 5, stdev: Double = 0, seed: UInt64 = 0,
            internalBatchSize: Int? = nil, multiplyByInputs: Bool = true
        ) {
            self.baselines = baselines
            self.samples = samples
            self.stdev = stdev
            self.seed = seed
            self.internalBatchSize = internalBatchSize
            self.multiplyByInputs = multiplyByInputs
        }
    }

    /// Explicit random quantities for every row r = n·S + s (tests inject Captum's draws here).
    public struct Draws<Scalar: TensorScalar>: Sendable, Equatable {
        /// Baseline row per row, `[N·S]`, each in 0..<K.
        public var baselineIndices: [Int]
        /// α per row, `[N·S]` (rounded to the scalar type before use).
        public var alphas: [Double]
        /// The noise added to each row, `[N·S, ...]` (already scaled by σ).
        public var noise: Tensor<Scalar>

        public init(baselineIndices: [Int], alphas: [Double], noise: Tensor<Scalar>) {
            self.baselineIndices = baselineIndices
            self.alphas = alphas
            self.noise = noise
        }
    }

    public struct Result<Scalar: TensorScalar>: Sendable, Equatable {
        /// `[N, ...]`, shaped like the input.
        public var attributions: Tensor<Scalar>
        /// Σ aₛ − (F(x̃) − F(b)) per row `[N·S]` (row r = n·S + s), when asked for (two more forwards per chunk).
        public var convergenceDelta: [Scalar]?
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters<Model.Scalar>,
        draws: Draws<Model.Scalar>? = nil, returnConvergenceDelta: Bool = false,
        progress: AttributionProgress? = nil
    ) throws -> Result<Model.Scalar> {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        return try attribute(
            model: model, input: input, targets: targets, parameters: parameters, draws: draws,
            exampleKeys: Array(0..<input.shape[0]), returnConvergenceDelta: returnConvergenceDelta,
            progress: progress)
    }

    /// The implementation; `exampleKeys[n]` numbers example n's rows in the random streams (NoiseTunnel
    /// passes its own row numbers, so nested randomness does not depend on its batch size).
    @_specialize(where Model == ResNetClassifier<Float>)
    static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters<Model.Scalar>,
        draws: Draws<Model.Scalar>?, exampleKeys: [Int], returnConvergenceDelta: Bool,
        progress: AttributionProgress?
    ) throws -> Result<Model.Scalar> {
        typealias Scalar = Model.Scalar
        let (batch, samples) = (input.shape[0], parameters.samples)
        let size = input.count / batch
        guard samples >= 1 else { throw AttributionError.invalidOption("samples must be ≥ 1, got \(samples)") }
        guard parameters.stdev.isFinite, parameters.stdev >= 0 else {
            throw AttributionError.invalidOption("stdev must be finite and ≥ 0, got \(parameters.stdev)")
        }
        if let rows = parameters.internalBatchSize, rows < 1 {
            throw AttributionError.invalidOption("internal batch size must be ≥ 1, got \(rows)")
        }
        let source = try BaselineRows(parameters.baselines, input: input)
        let rowCount = batch * samples
        if let draws {
            guard draws.baselineIndices.count == rowCount, draws.alphas.count == rowCount,
                draws.noise.count == rowCount * size
            else {
                throw AttributionError.shapeMismatch(
                    "injected draws need \(rowCount) baseline indices and alphas and noise [\(rowCount), ...]")
            }
            guard draws.baselineIndices.allSatisfy({ (0..<source.count).contains($0) }) else {
                throw AttributionError.invalidOption("injected baseline indices must be in 0..<\(source.count)")
            }
        }
        let rowStream = parameters.seed ^ rowsTag
        let noise = GaussianNoise(seed: parameters.seed ^ noiseTag)

        var sums = [Scalar](repeating: 0, count: input.count)
        var deltas: [Scalar]? = returnConvergenceDelta ? [] : nil
        let chunkRows = parameters.internalBatchSize ?? IntegratedGradients.defaultChunkRows
        var first = 0
        while first < rowCount {
            let rows = first..<min(rowCount, first + chunkRows)
            var noisy = [Scalar](), base = [Scalar](), scaled = [Scalar]()
            noisy.reserveCapacity(rows.count * size)
            base.reserveCapacity(rows.count * size)
            scaled.reserveCapacity(rows.count * size)
            for row in rows {
                let (n, s) = row.quotientAndRemainder(dividingBy: samples)
                let key = exampleKeys[n] * samples + s  // the row's number in the random streams
                let index: Int, alpha: Scalar, eps: ArraySlice<Scalar>
                if let draws {
                    index = draws.baselineIndices[row]
                    alpha = Scalar(draws.alphas[row])
                    eps = draws.noise.storage[row * size..<(row + 1) * size]
                } else {
                    var random = SeededRandom(seed: rowStream &+ UInt64(2 * key) &* GaussianNoise.gamma)
                    index = min(source.count - 1, Int(random.unit() * Double(source.count)))
                    alpha = Scalar(random.unit())
                    eps = ArraySlice(
                        noise.noise(key * size..<(key + 1) * size, stdev: parameters.stdev, as: Scalar.self))
                }
                let b = source.row(index, example: n)
                let oneMinus = 1 - alpha
                for j in 0..<size {
                    let xt = input.storage[n * size + j] + eps[eps.startIndex + j]
                    noisy.append(xt)
                    base.append(b[b.startIndex + j])
                    scaled.append(alpha * xt + oneMinus * b[b.startIndex + j])
                }
            }
            var shape = input.shape
            shape[0] = rows.count
            let rowTargets = rows.map { targets[$0 / samples] }
            var attribution = try targetGradient(
                model, try checkedTensor(shape: shape, storage: scaled), targets: rowTargets
            ).storage
            if parameters.multiplyByInputs {
                for i in attribution.indices { attribution[i] *= noisy[i] - base[i] }
            }
            for (k, row) in rows.enumerated() {
                let n = row / samples
                for j in 0..<size { sums[n * size + j] += attribution[k * size + j] }
            }
            if deltas != nil {
                let atInput = try targetOutputs(
                    model, try checkedTensor(shape: shape, storage: noisy), targets: rowTargets)
                let atBase = try targetOutputs(
                    model, try checkedTensor(shape: shape, storage: base), targets: rowTargets)
                for k in 0..<rows.count {
                    var total = 0.0
                    for j in 0..<size { total += Double(attribution[k * size + j]) }
                    deltas?.append(Scalar(total) - (atInput[k] - atBase[k]))
                }
            }
            first = rows.upperBound
            progress?(first, rowCount)
        }
        let divisor = Scalar(samples)
        for i in sums.indices { sums[i] /= divisor }
        return Result(attributions: try checkedTensor(shape: input.shape, storage: sums), convergenceDelta: deltas)
    }
}

/// Baseline rows by index, for every example: shared rows `[K, ...]` or K resolved baselines.
struct BaselineRows<Scalar: TensorScalar> {
    let shared: Tensor<Scalar>?
    let resolved: [Tensor<Scalar>]
    let size: Int
    let count: Int

    init(_ distribution: GradientShap.Distribution<Scalar>, input: Tensor<Scalar>) throws {
        let perExample = Array(input.shape.dropFirst())
        size = perExample.reduce(1, *)
        switch distribution {
        case .rows(let rows):
            guard rows.rank == input.rank, rows.shape[0] >= 1, Array(rows.shape.dropFirst()) == perExample else {
                throw AttributionError.shapeMismatch(
                    "baseline distribution of shape \(rows.shape) must be [K, \(perExample.map(String.init).joined(separator: ", "))] with K ≥ 1"
                )
            }
            shared = rows
            resolved = []
            count = rows.shape[0]
        case .perExample(let baselines):
            guard !baselines.isEmpty else { throw AttributionError.invalidOption("baseline distribution is empty") }
            shared = nil
            resolved = try baselines.map { try $0.resolved(for: input) }
            count = baselines.count
        }
    }

    func row(_ index: Int, example n: Int) -> ArraySlice<Scalar> {
        if let shared { return shared.storage[index * size..<(index + 1) * size] }
        return resolved[index].storage[n * size..<(n + 1) * size]
    }
}
