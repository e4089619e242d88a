import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTraining

public typealias RandomizationCurve = LeafLensAttribution.RandomizationCurve

/// Layers whose Grad-CAM maps `evaluate` fuses by default (issue 13 item 5, `CAMFusion`).
public enum ScoringDefaults {
    public static let fusedCAMLayers = ["layer3", "layer4"]
}

extension ExplanationScoring {
    /// The map the pointing game and lesion mass read: `Explanation.map`, except for Grad-CAM with
    /// `settings.camFusion` set, where each layer's (ReLU'd, upsampled) map is computed and the maps are
    /// fused as pytorch-grad-cam does for several target layers (`CAMFusion.fuse`).
    func scoringMap(
        _ explainer: Explainer, _ method: AttributionMethod, input: LoadedInput, target: Int
    ) throws -> [Float] {
        guard method == .gradCAM, let layers = settings.camFusion, !layers.isEmpty else {
            return try explainer.explain(method, input: input, target: target).map
        }
        var single = explainer
        let maps = try layers.map { layer in
            single.settings.gradCAM.layer = layer
            return try single.explain(.gradCAM, input: input, target: target).map
        }
        do { return try CAMFusion.fuse(maps) } catch { throw PipelineError("\(input.path): grad-cam fusion: \(error)") }
    }

    /// Samples for the mask-free metrics: every image, or `limit` spread evenly.
    func metricSamples() -> [ImageFolder.Sample] {
        let all = dataset.samples
        guard let limit = settings.limit, all.count > limit else { return all }
        return (0..<limit).map { all[$0 * all.count / limit] }
    }

    /// Faithfulness metrics per method over the data set (issue 13 item 2): for every image (at most
    /// `settings.limit`, evenly spread) and method, the scores of the explanation of the **predicted**
    /// class (as `explain` does by default), the deletion/insertion curves, and the methods' agreement
    /// (mean pairwise Spearman ρ of their ranking maps); aggregated by `DatasetAggregator` with a
    /// bootstrap seeded by `metrics.options.seed`. `progress(done, total)` after each image.
    public func faithfulness(
        _ metrics: MetricSettings, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> DatasetSummary {
        try faithfulnessWithPictures(metrics, progress: progress).summary
    }

    /// `faithfulness`, and thumbnails of the images the summary lists as the ones where the methods
    /// disagree most (the input and each method's map, `thumbnailSide` pixels at most) for
    /// `evaluation.html`. Only the inputs and maps of the current lowest-agreement images are kept
    /// while the data set is scored.
    public func faithfulnessWithPictures(
        _ metrics: MetricSettings, thumbnailSide: Int = 112, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> (summary: DatasetSummary, pictures: [DisagreementPicture]) {
        let topDisagreements = 5
        var collector = DisagreementCollector(capacity: topDisagreements, side: thumbnailSide)
        let explainer = try Explainer(
            classifier: model.classifier(), settings: settings.explainerSettings(size: size.crop))
        let samples = metricSamples()
        guard !samples.isEmpty else { throw PipelineError("\(dataset.root.path): no images to score") }
        var records: [ImageMetricRecord] = []
        var agreement: [String: Double] = [:]
        for (k, sample) in samples.enumerated() {
            let input = try load(sample)
            guard let predicted = try explainer.predictions(input).first?.index else {
                throw PipelineError("\(sample.url.path): the model returned no outputs")
            }
            var maps: [[Float]] = []
            for method in settings.methods {
                let explanation = try explainer.explain(method, input: input, target: predicted)
                let (scores, curves) = try explainer.faithfulness(
                    of: explanation, input: input, target: predicted, settings: metrics)
                maps.append(explanation.map)
                records.append(
                    ImageMetricRecord(
                        image: sample.relativePath, label: dataset.classes[sample.label], method: method.rawValue,
                        scores: scores, deletionCurve: curves.deletion?.scores, insertionCurve: curves.insertion?.scores
                    ))
            }
            if let rho = RankCorrelation.meanPairwiseSpearman(maps) {
                agreement[sample.relativePath] = rho
                collector.offer(
                    .init(
                        image: sample.relativePath, label: dataset.classes[sample.label], rho: rho,
                        display: input.displayImage,
                        maps: zip(settings.methods, maps).map { (method: $0.rawValue, values: $1) }))
            }
            progress(k + 1, samples.count)
        }
        let summary: DatasetSummary
        do {
            summary = try DatasetAggregator.summarize(
                records, agreement: agreement, topDisagreements: topDisagreements, seed: metrics.options.seed)
        } catch { throw PipelineError("metrics: \(error)") }
        return (summary, try collector.pictures(for: summary.disagreements))
    }

    /// The model-randomization curves of Adebayo et al. (2018) for every method in `settings.methods`
    /// (Grad-CAM and Integrated Gradients when none): Spearman ρ between the signed map of the trained
    /// model and of the model with blocks re-initialised, cascading (fc down to conv1) and one block at
    /// a time, averaged over the sanity-check images. Each stage is re-initialised with the seed the
    /// cascade of `sanityCheck` uses for it, so the cascading curve's models are that check's models.
    public func randomizationCurves(
        masks: URL?, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> [RandomizationCurve] {
        var samples: [ImageFolder.Sample]
        if let masks, settings.maskKind == .lesion {
            samples = try diseasedSamples(masks: masks, limit: settings.sanityImages).map(\.0)
        } else {
            samples = Array(dataset.samples.prefix(settings.sanityImages))
        }
        samples = Array(samples.prefix(settings.sanityImages))
        let inputs = try samples.map(load)
        let targets = samples.map { classMap[$0.label] }
        let methods = settings.methods.isEmpty ? [AttributionMethod.gradCAM, .integratedGradients] : settings.methods
        let stages = ModelRandomization.cascade
        let names = stages.map(\.name)
        let explainerSettings = settings.explainerSettings(size: size.crop, relu: false)
        var cache: [[String]: Explainer] = [:]
        func explainer(_ randomized: [String]) throws -> Explainer {
            if let hit = cache[randomized] { return hit }
            var network = model.network
            for (index, stage) in stages.enumerated() where randomized.contains(stage.name) {
                network = try ModelRandomization.randomized(
                    network, prefixes: stage.prefixes, seed: 0x5A17_0000 + UInt64(index))
            }
            let made = try Explainer(
                classifier: LoadedModel(network, description: model.description).classifier(),
                settings: explainerSettings)
            cache[randomized] = made
            return made
        }
        let trained = try explainer([])
        var curves: [RandomizationCurve] = []
        for (m, method) in methods.enumerated() {
            var cascading = [Double](repeating: 0, count: names.count)
            var independent = [Double](repeating: 0, count: names.count)
            var last: RandomizationCurve?
            for (input, target) in zip(inputs, targets) {
                let curve = try RandomizationCurve.compute(
                    method: method.rawValue, stages: names, trained: trained,
                    randomize: { try explainer($0) },
                    explain: { try $0.explain(method, input: input, target: target).map })
                for i in names.indices {
                    cascading[i] += curve.cascading[i] / Double(inputs.count)
                    independent[i] += curve.independent[i] / Double(inputs.count)
                }
                last = curve
            }
            guard var mean = last else { throw PipelineError("the randomization curves need at least one image") }
            (mean.cascading, mean.independent) = (cascading, independent)
            curves.append(mean)
            progress(m + 1, methods.count)
        }
        return curves
    }
}
