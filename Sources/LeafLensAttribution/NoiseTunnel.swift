import LeafLensMath
import LeafLensModel

/// How NoiseTunnel combines the S per-sample attributions aₛ (Captum's `nt_type`).
public enum NoiseTunnelKind: String, CaseIterable, Sendable {
    /// E[a] (Smilkov et al. 2017, SmoothGrad).
    case smoothGrad = "smoothgrad"
    /// E[a²] — no square root, as Captum's `smoothgrad_sq`.
    case smoothGradSquared = "smoothgrad-sq"
    /// E[a²] − E[a]² (Adebayo et al. 2018, VarGrad); may be slightly negative from rounding, never clamped.
    case varGrad = "vargrad"
}

/// NoiseTunnel, as Captum 0.9's `NoiseTunnel` around a gradient method: attribute S noisy copies
/// x + εₛ of each example and combine them (`NoiseTunnelKind`), with E[·] = (Σₛ ·)/S (a division by S).
///
///     εₛ ~ N(0, σ²) per element, σ absolute in input units (Captum's `stdevs`, default 1.0)
///
/// **Noise** (specified for reproduction): ε[n, s, j] = `GaussianNoise(seed)` element
/// (n·S + s)·D + j times σ, for example n, sample s and element j of D per example — the rows of
/// Captum's `repeat_interleave` layout [ex0 s0…s(S−1), ex1 …], read in C order. It depends only on
/// (seed, n, s, j), **not on the batch size**: Captum draws one (N·b, …) block per partition of b
/// samples, so its numbers for a given seed change with `nt_samples_batch_size`; here the batch size
/// changes nothing, not even the rounding (each example's sums run over s in order). Fixtures inject
/// this noise into Captum with one partition (`nt_samples_batch_size=None`).
///
/// **Memory**: samples are processed `batchSize` at a time (default: as many as keep a partition at
/// `IntegratedGradients.defaultChunkRows` rows, at least one), each partition's N·b noisy rows are
/// attributed by the wrapped method (which batches further itself), and only running Σa and Σa² per
/// example are kept — memory does not grow with S.
///
/// Baselines of the wrapped Integrated Gradients are resolved against the clean input and repeated
/// for each sample (Captum repeats a baseline tensor with N rows). Convergence deltas are not
/// returned. Per-sample options (`abs` of Saliency) apply before averaging, as in Captum.
public enum NoiseTunnel {
    public struct Parameters: Sendable, Equatable {
        public var kind: NoiseTunnelKind
        /// S ≥ 1 (Captum's `nt_samples`, default 5).
        public var samples: Int
        /// σ ≥ 0 in input units (Captum's default 1.0; SmoothGrad's paper recommends 10–20% of the
        /// input range, i.e. ≈ 0.5–1 for ImageNet-normalised images spanning about 4.7).
        public var stdev: Double
        /// Samples per partition (Captum's `nt_samples_batch_size`); nil = the default above.
        public var batchSize: Int?
        public var seed: UInt64

        public init(
            kind: NoiseTunnelKind = .smoothGrad, samples: Int = 5, stdev: Double = 1.0, batchSize: Int? = nil,
            seed: UInt64 = 0
        ) {
            self.kind = kind
            self.samples = samples
            self.stdev = stdev
            self.batchSize = batchSize
            self.seed = seed
        }
    }

    /// The gradient method inside the tunnel, with its own options.
    public enum Method<Scalar: TensorScalar>: Sendable, Equatable {
        case saliency(absolute: Bool = true)
        case inputXGradient
        case integratedGradients(
            baseline: Baseline<Scalar> = .zero, steps: Int = 50, rule: IntegrationRule = .gaussLegendre,
            internalBatchSize: Int? = nil)
        /// Needs a `GuidedAttributionModel`.
        case guidedBackprop
        /// Needs a `GuidedAttributionModel`.
        case deconvolution
        case gradientShap(GradientShap.Parameters<Scalar>)

        var needsGuidedModel: Bool { self == .guidedBackprop || self == .deconvolution }
    }

    /// Noise from `Parameters.seed`, or injected: `[N·S, ...]` rows in the layout above, already scaled.
    public enum Noise<Scalar: TensorScalar>: Sendable, Equatable {
        case seeded
        case injected(Tensor<Scalar>)
    }

    /// Every method, on a model with guided backward passes (e.g. `ResNetClassifier`).
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: GuidedAttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], method: Method<Model.Scalar>,
        parameters: Parameters = Parameters(), noise: Noise<Model.Scalar> = .seeded,
        progress: AttributionProgress? = nil
    ) throws -> Tensor<Model.Scalar> {
        try tunnel(
            model: model, input: input, targets: targets, method: method, parameters: parameters, noise: noise,
            progress: progress
        ) { batch, rowTargets, keys in
            switch method {
            case .guidedBackprop: return try GuidedBackprop.attribute(model: model, input: batch, targets: rowTargets)
            case .deconvolution: return try Deconvolution.attribute(model: model, input: batch, targets: rowTargets)
            default:
                return try plainMethod(model, method, batch: batch, targets: rowTargets, keys: keys, input: input)
            }
        }
    }

    /// Methods on any model; guided methods throw `invalidOption` (they need a `GuidedAttributionModel`).
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], method: Method<Model.Scalar>,
        parameters: Parameters = Parameters(), noise: Noise<Model.Scalar> = .seeded,
        progress: AttributionProgress? = nil
    ) throws -> Tensor<Model.Scalar> {
        guard !method.needsGuidedModel else {
            throw AttributionError.invalidOption(
                "\(method) inside the noise tunnel needs a model with guided backward passes")
        }
        return try tunnel(
            model: model, input: input, targets: targets, method: method, parameters: parameters,
            noise: noise, progress: progress
        ) { batch, rowTargets, keys in
            try plainMethod(model, method, batch: batch, targets: rowTargets, keys: keys, input: input)
        }
    }

    /// The wrapped method on one partition's noisy rows (`keys`: the rows' numbers n·S + s).
    private static func plainMethod<Model: AttributionModel>(
        _ model: Model, _ method: Method<Model.Scalar>, batch: Tensor<Model.Scalar>, targets: [Int], keys: [Int],
        input: Tensor<Model.Scalar>
    ) throws -> Tensor<Model.Scalar> {
        switch method {
        case .saliency(let absolute):
            return try Saliency.attribute(model: model, input: batch, targets: targets, absolute: absolute)
        case .inputXGradient:
            return try InputXGradient.attribute(model: model, input: batch, targets: targets)
        case .integratedGradients(let baseline, let steps, let rule, let internalBatchSize):
            let rows = try repeatedRows(try baseline.resolved(for: input), keys: keys, of: input)
            return try IntegratedGradients.attribute(
                model: model, input: batch, baseline: .tensor(rows), targets: targets, steps: steps, rule: rule,
                internalBatchSize: internalBatchSize
            ).attributions
        case .gradientShap(let parameters):
            var inner = parameters
            if case .perExample(let baselines) = parameters.baselines {  // resolve against the clean input
                let resolved = try baselines.map {
                    try repeatedRows(try $0.resolved(for: input), keys: keys, of: input)
                }
                inner.baselines = .perExample(resolved.map { .tensor($0) })
            }
            return try GradientShap.attribute(
                model: model, input: batch, targets: targets, parameters: inner, draws: nil, exampleKeys: keys,
                returnConvergenceDelta: false, progress: nil
            ).attributions
        case .guidedBackprop, .deconvolution:
            throw AttributionError.invalidOption("\(method) needs a model with guided backward passes")
        }
    }

    /// Rows n = key / S of a resolved `[N, ...]` tensor, one per key: the partition's baseline.
    private static func repeatedRows<Scalar: TensorScalar>(
        _ resolved: Tensor<Scalar>, keys: [Int], of input: Tensor<Scalar>
    ) throws -> Tensor<Scalar> {
        let batch = input.shape[0], size = input.count / batch
        let samples = keys.count / batch  // keys hold every example's rows of the partition
        var values = [Scalar]()
        values.reserveCapacity(keys.count * size)
        for row in keys.indices {
            let n = row / samples
            values.append(contentsOf: resolved.storage[n * size..<(n + 1) * size])
        }
        var shape = input.shape
        shape[0] = keys.count
        return try checkedTensor(shape: shape, storage: values)
    }

    /// The loop over partitions: noisy rows [ex0 s∈P, ex1 s∈P, …] for partition P, attribution by
    /// `base(batch, targets, keys)`, running Σa and Σa² per example.
    @_specialize(where Model == ResNetClassifier<Float>)
    static func tunnel<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], method: Method<Model.Scalar>,
        parameters: Parameters, noise: Noise<Model.Scalar>, progress: AttributionProgress?,
        base: (Tensor<Model.Scalar>, [Int], [Int]) throws -> Tensor<Model.Scalar>
    ) throws -> Tensor<Model.Scalar> {
        typealias Scalar = Model.Scalar
        try validateBatch(input, targets: targets, classCount: model.classCount)
        let samples = parameters.samples
        guard samples >= 1 else { throw AttributionError.invalidOption("nt-samples must be ≥ 1, got \(samples)") }
        guard parameters.stdev.isFinite, parameters.stdev >= 0 else {
            throw AttributionError.invalidOption("nt-stdev must be finite and ≥ 0, got \(parameters.stdev)")
        }
        if let b = parameters.batchSize, b < 1 {
            throw AttributionError.invalidOption("nt-batch-size must be ≥ 1, got \(b)")
        }
        let batch = input.shape[0], size = input.count / batch
        if case .injected(let values) = noise, values.count != batch * samples * size {
            throw AttributionError.shapeMismatch(
                "injected noise has \(values.count) values, expected [\(batch * samples), ...] = \(batch * samples * size)"
            )
        }
        let perPartition = min(samples, parameters.batchSize ?? max(1, IntegratedGradients.defaultChunkRows / batch))
        let generator = GaussianNoise(seed: parameters.seed)

        var sum = [Scalar](repeating: 0, count: input.count)
        var sumSquares = [Scalar](repeating: 0, count: input.count)
        var first = 0
        while first < samples {
            let part = first..<min(samples, first + perPartition)
            var noisy = [Scalar]()
            noisy.reserveCapacity(batch * part.count * size)
            var keys: [Int] = [], rowTargets: [Int] = []
            for n in 0..<batch {
                for s in part {
                    let key = n * samples + s
                    let eps: [Scalar]
                    switch noise {
                    case .seeded: eps = generator.noise(key * size..<(key + 1) * size, stdev: parameters.stdev)
                    case .injected(let values): eps = Array(values.storage[key * size..<(key + 1) * size])
                    }
                    for j in 0..<size { noisy.append(input.storage[n * size + j] + eps[j]) }
                    keys.append(key)
                    rowTargets.append(targets[n])
                }
            }
            var shape = input.shape
            shape[0] = noisy.count / size
            let attribution = try base(try checkedTensor(shape: shape, storage: noisy), rowTargets, keys)
            guard attribution.count == noisy.count else {
                throw AttributionError.shapeMismatch("\(method) returned \(attribution.shape) for noisy rows \(shape)")
            }
            for (row, key) in keys.enumerated() {
                let n = key / samples
                for j in 0..<size {
                    let a = attribution.storage[row * size + j]
                    sum[n * size + j] += a
                    sumSquares[n * size + j] += a * a
                }
            }
            first = part.upperBound
            progress?(first, samples)
        }
        let divisor = Scalar(samples)
        var result = [Scalar](repeating: 0, count: input.count)
        for i in result.indices {
            let mean = sum[i] / divisor, meanSquare = sumSquares[i] / divisor
            switch parameters.kind {
            case .smoothGrad: result[i] = mean
            case .smoothGradSquared: result[i] = meanSquare
            case .varGrad: result[i] = meanSquare - mean * mean
            }
        }
        return try checkedTensor(shape: input.shape, storage: result)
    }
}
