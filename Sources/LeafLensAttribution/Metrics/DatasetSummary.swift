import Foundation

/// One method's scores (and curves) on one image of a data set, as the evaluation collects them.
public struct ImageMetricRecord: Codable, Sendable, Equatable {
    public var image: String
    /// The image's class (its folder name).
    public var label: String
    public var method: String
    public var scores: FaithfulnessScores
    public var deletionCurve: [Double]?
    public var insertionCurve: [Double]?

    public init(
        image: String, label: String, method: String, scores: FaithfulnessScores,
        deletionCurve: [Double]? = nil, insertionCurve: [Double]? = nil
    ) {
        (self.image, self.label, self.method, self.scores) = (image, label, method, scores)
        (self.deletionCurve, self.insertionCurve) = (deletionCurve, insertionCurve)
    }

    enum CodingKeys: String, CodingKey {
        case image, label, method, scores
        case deletionCurve = "deletion_curve"
        case insertionCurve = "insertion_curve"
    }
}

/// The per-data-set answer to "which explanation method is most faithful for my model".
public struct DatasetSummary: Codable, Sendable, Equatable {
    /// method → metric key → mean with its bootstrap interval, over all images.
    public var overall: [String: [String: MeanInterval]]
    /// class → method → metric key → mean with interval.
    public var perClass: [String: [String: [String: MeanInterval]]]
    /// metric key → the method with the best mean (direction: `FaithfulnessScores.higherIsBetter`).
    public var best: [String: String]
    /// method → mean deletion / insertion curve (elementwise over images with curves of equal length).
    public var meanDeletionCurve: [String: [Double]]
    public var meanInsertionCurve: [String: [Double]]
    /// The images where methods disagree most: lowest mean pairwise Spearman ρ first.
    public var disagreements: [Disagreement]
    public var bootstrapResamples: Int
    public var confidenceLevel: Double
    public var seed: UInt64

    public struct Disagreement: Codable, Sendable, Equatable {
        public var image: String
        public var meanPairwiseSpearman: Double
        enum CodingKeys: String, CodingKey {
            case image
            case meanPairwiseSpearman = "mean_pairwise_spearman"
        }
    }

    enum CodingKeys: String, CodingKey {
        case overall, best, disagreements, seed
        case perClass = "per_class"
        case meanDeletionCurve = "mean_deletion_curve"
        case meanInsertionCurve = "mean_insertion_curve"
        case bootstrapResamples = "bootstrap_resamples"
        case confidenceLevel = "confidence_level"
    }
}

/// Aggregates per-image records into a `DatasetSummary`.
public enum DatasetAggregator {
    /// - agreement: image → mean pairwise Spearman of the methods' maps
    ///   (`RankCorrelation.meanPairwiseSpearman`), computed while the maps are in memory.
    /// - Throws: `MetricError.shapeMismatch` when one method's curves differ in length (images of
    ///   different sizes or steps cannot be averaged pointwise).
    public static func summarize(
        _ records: [ImageMetricRecord], agreement: [String: Double] = [:], topDisagreements: Int = 5,
        resamples: Int = Bootstrap.defaultResamples, level: Double = Bootstrap.defaultLevel, seed: UInt64 = 0
    ) throws -> DatasetSummary {
        let methods = Array(Set(records.map(\.method))).sorted()
        var overall: [String: [String: MeanInterval]] = [:]
        var perClass: [String: [String: [String: MeanInterval]]] = [:]
        var deletion: [String: [Double]] = [:], insertion: [String: [Double]] = [:]
        for method in methods {
            let mine = records.filter { $0.method == method }
            overall[method] = try intervals(mine, resamples: resamples, level: level, seed: seed)
            for label in Set(mine.map(\.label)) {
                perClass[label, default: [:]][method] = try intervals(
                    mine.filter { $0.label == label }, resamples: resamples, level: level, seed: seed)
            }
            deletion[method] = try meanCurve(mine.compactMap(\.deletionCurve), what: "deletion", method: method)
            insertion[method] = try meanCurve(mine.compactMap(\.insertionCurve), what: "insertion", method: method)
        }
        var best: [String: String] = [:]
        for key in FaithfulnessScores.keys {
            let candidates = methods.compactMap { m in overall[m]?[key].map { (m, $0.mean) } }
            let higher = FaithfulnessScores.higherIsBetter(key)
            // Ties go to the method first in name order (stable, reproducible).
            if let top = candidates.min(by: { higher ? $0.1 > $1.1 : $0.1 < $1.1 }) { best[key] = top.0 }
        }
        let disagreements = agreement.map { DatasetSummary.Disagreement(image: $0.key, meanPairwiseSpearman: $0.value) }
            .sorted { ($0.meanPairwiseSpearman, $0.image) < ($1.meanPairwiseSpearman, $1.image) }
            .prefix(max(0, topDisagreements))
        return DatasetSummary(
            overall: overall, perClass: perClass, best: best,
            meanDeletionCurve: deletion.filter { !$0.value.isEmpty },
            meanInsertionCurve: insertion.filter { !$0.value.isEmpty },
            disagreements: Array(disagreements), bootstrapResamples: resamples, confidenceLevel: level, seed: seed)
    }

    static func intervals(
        _ records: [ImageMetricRecord], resamples: Int, level: Double, seed: UInt64
    ) throws
        -> [String: MeanInterval]
    {
        var out: [String: MeanInterval] = [:]
        for key in FaithfulnessScores.keys {
            let values = records.compactMap { $0.scores[key] }
            if values.isEmpty { continue }
            out[key] = try Bootstrap.interval(values, resamples: resamples, level: level, seed: seed)
        }
        return out
    }

    static func meanCurve(_ curves: [[Double]], what: String, method: String) throws -> [Double] {
        guard let first = curves.first else { return [] }
        guard curves.allSatisfy({ $0.count == first.count }) else {
            throw MetricError.shapeMismatch(
                "\(method)'s \(what) curves have different lengths (\(Set(curves.map(\.count)).sorted())): "
                    + "use one image size and one --metric-step")
        }
        var sum = [Double](repeating: 0, count: first.count)
        for c in curves { for i in c.indices { sum[i] += c[i] } }
        return sum.map { $0 / Double(curves.count) }
    }
}
