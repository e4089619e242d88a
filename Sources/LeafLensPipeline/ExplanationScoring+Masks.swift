import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensTraining

public typealias LeafBackgroundShare = LeafLensAttribution.LeafBackgroundShare

/// What `evaluate --masks` masks mark (`--mask-kind`).
public enum MaskKind: String, CaseIterable, Sendable, Codable {
    /// White = lesion: the pointing game and the positive mass in the lesion.
    case lesion
    /// A segmented image, the leaf on black (PlantVillage `raw/segmented`): `LeafMask.fromSegmented`.
    case leaf
}

/// One method's attribution on the leaf versus the background, over the data set (`--mask-kind leaf`).
public struct LeafBackgroundScore: Codable, Sendable, Equatable {
    public var method: String
    public var images: Int
    /// Mean share of positive attribution mass on the leaf (the rest lies on the background).
    public var leafPositiveShare: Double
    /// Mean share of |attribution| on the leaf.
    public var leafAbsoluteShare: Double
    /// Share of images whose attribution maximum lies on the background (PlantVillage's known bias).
    public var maximumOnBackground: Double
}

extension ExplanationScoring {
    /// The mask of every data-set image, in `dataset.samples` order: `<dir>/<class>/<stem><suffix>`
    /// (`LeafMask.locateMasks`, which names the first missing files and their count), each checked to
    /// have its image's size before either is resized.
    func maskURLs(_ masks: URL) throws -> [URL] {
        let urls: [URL]
        do {
            urls = try LeafMask.locateMasks(
                images: dataset.samples.map(\.relativePath), directory: masks, suffix: settings.maskSuffix)
        } catch { throw PipelineError("--masks: \(error)") }
        for (sample, url) in zip(dataset.samples, urls) {
            do {
                let image = try ImageDecoder.headerSize(of: try Data(contentsOf: sample.url), source: sample.url.path)
                let mask = try ImageDecoder.headerSize(of: try Data(contentsOf: url), source: url.path)
                try LeafMask.checkSize(
                    file: url.path, width: mask.width, height: mask.height,
                    expectedWidth: image.width, expectedHeight: image.height)
            } catch let error as MetricError {
                throw PipelineError("--masks: \(error)")
            } catch {
                throw PipelineError("\(error)")
            }
        }
        return urls
    }

    /// Checks the mask folder before any image is scored: every image has its mask (named with the
    /// count when not) and each mask has its image's size. `evaluate` calls this before the model run.
    public func checkMasks(_ masks: URL) throws {
        _ = try maskURLs(masks)
    }

    /// Leaf-versus-background shares per method (issue 13 item 3) over every image (at most `limit`,
    /// spread evenly), explaining the image's class. Masks are derived from segmented images brought
    /// into the input's frame exactly as the photo is (resize, centre crop), then `LeafMask.fromSegmented`.
    public func leafBackground(
        masks: URL, progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    ) throws -> [LeafBackgroundScore] {
        try leafBackground(masks: masks, progress: progress, keep: { _ in })
    }

    /// `leafBackground`, handing every scored map to `keep` (the panels `ExplanationScoring+Panels.swift` draws).
    func leafBackground(
        masks: URL, progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void,
        keep: (ScoredMap) -> Void
    ) throws -> [LeafBackgroundScore] {
        guard case .evaluation(let resize, let side) = transform else {
            throw PipelineError("leaf masks need the evaluation transform")
        }
        let explainer = try Explainer(classifier: model.classifier(), settings: settings.explainerSettings(size: side))
        let urls = try maskURLs(masks)
        var pairs = Array(zip(dataset.samples, urls))
        if let limit = settings.limit, pairs.count > limit {
            pairs = (0..<limit).map { pairs[$0 * pairs.count / limit] }
        }
        var leaves: [[Bool]] = []
        for (_, url) in pairs {
            do {
                let display = try ImagePreprocessor(resizeShorterSide: resize, cropSize: side)(
                    ImageDecoder.decode(contentsOf: url)
                ).displayImage
                leaves.append(
                    try LeafMask.fromSegmented(rgb: display.pixels, width: display.width, height: display.height))
            } catch { throw PipelineError("\(url.path): \(error)") }
        }
        var scores: [LeafBackgroundScore] = []
        for method in settings.methods {
            var (positive, absolute, background) = (0.0, 0.0, 0)
            for (k, ((sample, _), leaf)) in zip(pairs, leaves).enumerated() {
                let input = try load(sample)
                let map = try scoringMap(explainer, method, input: input, target: classMap[sample.label])
                let share: LeafBackgroundShare
                do { share = try LeafBackgroundShare.compute(map: map, leaf: leaf) } catch {
                    throw PipelineError("\(sample.url.path): \(error)")
                }
                keep(
                    ScoredMap(
                        index: k, count: pairs.count, sample: sample, input: input, mask: leaf, method: method,
                        map: map,
                        note: "positive mass on the leaf \(Self.percent(share.leafPositiveShare)); maximum on the "
                            + (share.maximumOnBackground ? "background" : "leaf")))
                positive += share.leafPositiveShare
                absolute += share.leafAbsoluteShare
                if share.maximumOnBackground { background += 1 }
                progress(method, k + 1, pairs.count)
            }
            let n = Double(max(pairs.count, 1))
            scores.append(
                LeafBackgroundScore(
                    method: method.rawValue, images: pairs.count, leafPositiveShare: positive / n,
                    leafAbsoluteShare: absolute / n, maximumOnBackground: Double(background) / n))
        }
        return scores
    }
}
