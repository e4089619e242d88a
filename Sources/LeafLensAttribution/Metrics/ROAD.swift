import LeafLensMath

/// ROAD (Rong et al. 2022) as pytorch-grad-cam 1.5.7 computes it: remove pixels by a percentile of the
/// map, impute them with `NoisyLinearImputer`, and score the change of the target's softmax
/// probability (pytorch-grad-cam's tutorial uses `ClassifierOutputSoftmaxTarget`):
///
///     score = p(target | imputed image) − p(target | image)        (Float, as its float32 arrays)
///
/// **Percentile semantics (pytorch-grad-cam's, kept for parity).** MoRF(p): threshold
/// t = percentile(map, p) (numpy "linear"), keep pixels with map < t — strict, so ties at t are
/// removed — i.e. the (100 − p) % most relevant pixels are imputed; `percentile` is the share kept.
/// LeRF(p) does the same on 1 − map (in Float), so it keeps ≈ p % of the most relevant pixels.
/// MoRF(80) imputes the top 20 %; LeRF(20) keeps the top 20 % and imputes the rest.
/// Combined = (mean over p of LeRF(p) − mean over p of MoRF(p)) / 2, p = 10, 20, …, 90.
/// Lower MoRF, higher LeRF and higher combined mean a more faithful map.
public enum ROAD {
    public static let defaultPercentiles: [Double] = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    public static let morfPercentile = 80.0
    public static let lerfPercentile = 20.0

    /// One removal: the percentile and whether the least relevant pixels go first (LeRF).
    public struct Removal: Sendable, Hashable {
        public var percentile: Double
        public var leastRelevantFirst: Bool
        public init(percentile: Double, leastRelevantFirst: Bool) {
            self.percentile = percentile
            self.leastRelevantFirst = leastRelevantFirst
        }
    }

    public struct Result: Sendable, Equatable, Codable {
        public var morf: Double
        public var lerf: Double
        public var combined: Double

        public init(morf: Double, lerf: Double, combined: Double) {
            (self.morf, self.lerf, self.combined) = (morf, lerf, combined)
        }
    }

    /// numpy's `percentile(values, p)` with the default "linear" method on Float data, bit for bit:
    /// v = (n − 1)·p/100 in Double, γ = v − ⌊v⌋; with a = sorted[⌊v⌋], b = sorted[⌊v⌋ + 1] and
    /// d = b − a in Float, a + d·Float(γ) when γ < ½, else b − d·Float(1 − γ).
    public static func percentile(_ values: [Float], _ p: Double) -> Float {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let v = Double(sorted.count - 1) * (p / 100)
        let i = min(Int(v.rounded(.down)), sorted.count - 1)
        let gamma = v - Double(i)
        let (a, b) = (sorted[i], sorted[min(i + 1, sorted.count - 1)])
        let d = b - a
        return gamma < 0.5 ? a + d * Float(gamma) : b - d * Float(1 - gamma)
    }

    /// Pixels kept (not imputed) by `removal`: map' < percentile(map', p), map' = map or 1 − map.
    public static func keptPixels(_ map: [Float], removal: Removal) -> [Bool] {
        let ranked = removal.leastRelevantFirst ? map.map { 1 - $0 } : map
        let threshold = percentile(ranked, removal.percentile)
        return ranked.map { $0 < threshold }
    }

    /// after − before for each removal, in order; the imputed images are forwarded `batchSize` at a
    /// time. With noise, draws are consumed removal by removal in the order given.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func scores<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, map: [Float], target: Int, removals: [Removal],
        imputer: NoisyLinearImputer = NoisyLinearImputer(), random: inout SeededRandom, batchSize: Int = 16
    ) throws -> [Double] {
        let (_, height, width) = try CausalMetric.imageDimensions(image)
        guard map.count == height * width else {
            throw MetricError.shapeMismatch("ROAD map has \(map.count) values for a \(height)×\(width) image")
        }
        guard (0..<model.classCount).contains(target) else {
            throw MetricError.invalidOption("target \(target) is outside the model's classes 0..<\(model.classCount)")
        }
        guard batchSize >= 1 else { throw MetricError.invalidOption("batch size must be ≥ 1, got \(batchSize)") }
        for r in removals where !(r.percentile >= 0 && r.percentile <= 100) {
            throw MetricError.invalidOption("ROAD percentile must be in 0…100, got \(r.percentile)")
        }
        let before = Float(try probabilities(model.outputs(image), columns: [target])[0])
        var results: [Double] = []
        var start = 0
        while start < removals.count {
            let chunk = removals[start..<min(start + batchSize, removals.count)]
            var imputed: [Tensor<Model.Scalar>] = []
            for removal in chunk {
                imputed.append(try imputer.impute(image, known: keptPixels(map, removal: removal), random: &random))
            }
            let batch = try Tensor.stack(imputed.map { $0.item(0) })
            let after = try probabilities(model.outputs(batch), columns: Array(repeating: target, count: chunk.count))
            results += after.map { Double(Float($0) - before) }
            start += chunk.count
        }
        return results
    }

    /// MoRF(80), LeRF(20) and the combined score over `percentiles`. With noise the draws go
    /// MoRF(80), LeRF(20), then LeRF(p…), MoRF(p…) (ROADCombined evaluates LeRF first); with noise 0
    /// the single scores are taken from the combined runs (the same images) instead of recomputed.
    public static func evaluate<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, map: [Float], target: Int,
        percentiles: [Double] = defaultPercentiles, noise: Double = 0.01, seed: UInt64 = 0, batchSize: Int = 16
    ) throws -> Result {
        guard !percentiles.isEmpty else { throw MetricError.invalidOption("ROAD needs at least one percentile") }
        var random = SeededRandom(seed: seed)
        let combinedRemovals =
            percentiles.map { Removal(percentile: $0, leastRelevantFirst: true) }
            + percentiles.map { Removal(percentile: $0, leastRelevantFirst: false) }
        let morf = Removal(percentile: morfPercentile, leastRelevantFirst: false)
        let lerf = Removal(percentile: lerfPercentile, leastRelevantFirst: true)
        var removals = combinedRemovals
        let reuse = noise == 0
        if !reuse || !combinedRemovals.contains(morf) || !combinedRemovals.contains(lerf) {
            removals = [morf, lerf] + combinedRemovals
        }
        let s = try scores(
            model: model, image: image, map: map, target: target, removals: removals,
            imputer: NoisyLinearImputer(noise: noise), random: &random, batchSize: batchSize)
        let offset = removals.count - combinedRemovals.count
        let k = percentiles.count
        let lerfMean = floatMean(s[offset..<(offset + k)])
        let morfMean = floatMean(s[(offset + k)..<(offset + 2 * k)])
        let single = { (r: Removal) -> Double in
            offset == 2 ? s[r == morf ? 0 : 1] : s[combinedRemovals.firstIndex(of: r) ?? 0]
        }
        return Result(morf: single(morf), lerf: single(lerf), combined: Double((lerfMean - morfMean) / 2))
    }

    /// float32 mean, summed in order (numpy's reduction over the percentile axis).
    static func floatMean(_ values: ArraySlice<Double>) -> Float {
        var sum: Float = 0
        for v in values { sum += Float(v) }
        return sum / Float(values.count)
    }
}
