import LeafLensMath

/// The options of the per-image metrics, with the reference defaults.
public struct FaithfulnessOptions: Sendable, Equatable {
    /// Deletion/insertion pixels per step; nil = the image width (RISE's 224 at 224×224).
    public var step: Int?
    public var ties: PixelRanking.TieOrder = .ascendingIndex
    /// How a low-resolution map (Grad-CAM) is brought to the image size before ranking.
    public var upsample: UpsampleMode = .bilinear
    /// ROAD imputation noise σ (pytorch-grad-cam's 0.01; 0 = deterministic).
    public var roadNoise: Double = 0.01
    public var roadPercentiles: [Double] = ROAD.defaultPercentiles
    public var infidelityStdev: Double = Infidelity.defaultStdev
    public var infidelitySamples: Int = Infidelity.defaultSamples
    public var infidelityScore: Infidelity.Score = .logit
    public var sensitivityRadius: Double = SensitivityMax.defaultRadius
    public var sensitivitySamples: Int = SensitivityMax.defaultSamples
    /// Seed of the random draws: ROAD noise and infidelity use SeededRandom(seed), sensitivity
    /// SeededRandom(seed + 1), so the two perturbation sets are independent.
    public var seed: UInt64 = 0
    /// Images per forward pass.
    public var batchSize: Int = 16

    public init() {}

    /// Checks every option against the image's pixel count.
    public func validate(height: Int, width: Int) throws(MetricError) {
        let pixels = height * width
        if let step, !(1...max(pixels, 1)).contains(step) { throw .invalidStep(step: step, pixels: pixels) }
        guard roadNoise >= 0, roadNoise.isFinite else {
            throw .invalidOption("--road-noise must be ≥ 0, got \(roadNoise)")
        }
        guard infidelityStdev > 0, infidelityStdev.isFinite else {
            throw .invalidOption("--infidelity-stdev must be > 0, got \(infidelityStdev)")
        }
        guard infidelitySamples >= 1, sensitivitySamples >= 1 else {
            throw .invalidOption("metric sample counts must be ≥ 1")
        }
        guard sensitivityRadius > 0, sensitivityRadius.isFinite else {
            throw .invalidOption("sensitivity radius must be > 0, got \(sensitivityRadius)")
        }
        guard batchSize >= 1 else { throw .invalidOption("batch size must be ≥ 1, got \(batchSize)") }
        guard !roadPercentiles.isEmpty, roadPercentiles.allSatisfy({ $0 >= 0 && $0 <= 100 }) else {
            throw .invalidOption("ROAD percentiles must be in 0…100")
        }
    }
}

/// Everything the pipeline needs to score one method's explanation of one image.
///
/// `attribution` is the method's output for the image: `[1, C, H, W]` for pixel methods, or a low
/// resolution map `[1, 1, h, w]` (Grad-CAM), which is upsampled for ranking. The ranking map (channel-
/// summed signed attribution, `PixelRanking`) drives deletion, insertion and ROAD; the confidence
/// metrics multiply the image by its pytorch-grad-cam normalisation (`ConfidenceChange.unitMap`).
/// Infidelity needs an attribution shaped like the image (it is skipped, nil, for a CAM map that is
/// not: Captum asserts equal shapes). `explain` re-runs the method on a batch for sensitivity.
public enum FaithfulnessEvaluator {
    public static func evaluate<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, target: Int, attribution: Tensor<Model.Scalar>,
        metrics: [FaithfulnessMetric], options: FaithfulnessOptions = FaithfulnessOptions(),
        explain: ((Tensor<Model.Scalar>) throws -> Tensor<Model.Scalar>)? = nil,
        method: String = ""
    ) throws -> (scores: FaithfulnessScores, curves: CausalCurves) {
        let (_, height, width) = try CausalMetric.imageDimensions(image)
        try options.validate(height: height, width: width)
        let ranking = try PixelRanking.map(attribution, height: height, width: width, upsample: options.upsample)
        var scores = FaithfulnessScores()
        var curves = CausalCurves(method: method)
        for metric in metrics {
            switch metric {
            case .deletion:
                let c = try Deletion.curve(
                    model: model, image: image, ranking: ranking, step: options.step, ties: options.ties,
                    batchSize: options.batchSize)
                curves.deletion = c
                scores.deletionAUC = c.auc
            case .insertion:
                let c = try Insertion.curve(
                    model: model, image: image, ranking: ranking, step: options.step, ties: options.ties,
                    batchSize: options.batchSize)
                curves.insertion = c
                scores.insertionAUC = c.auc
            case .road:
                let r = try ROAD.evaluate(
                    model: model, image: image, map: ranking, target: target, percentiles: options.roadPercentiles,
                    noise: options.roadNoise, seed: options.seed, batchSize: options.batchSize)
                (scores.roadMoRF, scores.roadLeRF, scores.roadCombined) = (r.morf, r.lerf, r.combined)
            case .infidelity:
                guard attribution.shape == image.shape else { continue }
                let perturbations = try Infidelity.gaussianPerturbations(
                    shape: image.shape, samples: options.infidelitySamples, stdev: options.infidelityStdev,
                    seed: options.seed, as: Model.Scalar.self)
                scores.infidelity = try Infidelity.evaluate(
                    model: model, input: image, attributions: attribution, target: target,
                    perturbations: perturbations, score: options.infidelityScore, batchSize: options.batchSize)
            case .sensitivity:
                guard let explain else {
                    throw MetricError.invalidOption("sensitivity needs the explanation method to re-run")
                }
                let perturbations = try SensitivityMax.uniformPerturbations(
                    shape: image.shape, samples: options.sensitivitySamples, radius: options.sensitivityRadius,
                    seed: options.seed &+ 1, as: Model.Scalar.self)
                scores.sensitivityMax = try SensitivityMax.evaluate(
                    input: image, perturbations: perturbations, batchSize: options.batchSize, explain: explain)
            case .confidence:
                let r = try ConfidenceChange.evaluate(
                    model: model, image: image, cam: ConfidenceChange.unitMap(ranking), target: target)
                (scores.confidenceDrop, scores.confidenceIncrease) = (r.drop, r.increase)
            }
        }
        return (scores, curves)
    }
}
