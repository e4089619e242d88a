import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTraining

/// How `evaluate` scores explanations against lesion masks and runs the sanity check.
public struct ScoringSettings: Sendable {
    /// Methods to score (run through the `Explainer`).
    public var methods: [AttributionMethod] = []
    /// Pointing-game tolerance in pixels of the network input; nil: 15·S/224 (Zhang et al. at 224 px).
    public var tolerance: Int?
    /// Grad-CAM's single layer: scored when `camFusion` is nil (`--layer`), and the sanity check's.
    /// layer3, not layer4: at the 128-px inputs of the synthetic set layer4 is a 4×4 grid of 32-px
    /// cells, too coarse to point at a lesion (pointing game 71 % vs 87 % for layer3 on 100 held-out leaves).
    public var layer = "layer3"
    /// Grad-CAM layers whose maps the pointing game and lesion mass fuse (`CAMFusion`; default
    /// layer3 + layer4: 93 % vs 87 % / 71 % on 100 held-out leaves, README); nil scores `layer` alone (`--layer`).
    /// The sanity check always uses `layer`.
    public var camFusion: [String]? = ScoringDefaults.fusedCAMLayers
    /// Occlusion window side; nil: S/8.
    public var window: Int?
    /// Occlusion stride; nil: half the window (never more than the window).
    public var stride: Int?
    /// Integrated Gradients steps (Gauss–Legendre).
    public var steps = 32
    /// Score at most this many diseased images, spread evenly over the data set.
    public var limit: Int?
    /// Images the sanity check uses (diseased ones first when masks are given).
    public var sanityImages = 6
    /// Mask file name = image name without extension + suffix ("" = the image's own name;
    /// PlantVillage's segmented layout: `_final_masked.jpg`, or `_final_masked`, which takes the
    /// image's extension and then `.jpg`, `.jpeg`, `.png`: `LeafMask.maskFileCandidates`).
    public var maskSuffix = ""
    /// What the masks mark: lesions (pointing game) or the leaf (leaf-vs-background shares).
    public var maskKind: MaskKind = .lesion

    public init() {}

    /// The explainer settings for inputs of side `size`.
    func explainerSettings(size: Int, relu: Bool = true) -> ExplainerSettings {
        var settings = ExplainerSettings()
        settings.integratedGradients.steps = steps
        settings.gradCAM.layer = layer
        settings.gradCAM.relu = relu
        settings.gradCAM.upsample = .bilinear
        let window = self.window ?? max(1, size / 8)
        settings.occlusion.window = window
        settings.occlusion.stride = min(window, stride ?? max(1, window / 2))
        return settings
    }
}

/// One method's scores on the diseased images (keys on disk: snake_case).
public struct ExplanationScore: Codable, Sendable {
    public var method: String
    public var images: Int
    public var pointingGame: Double
    public var pointingGameStrict: Double
    public var tolerancePixels: Int
    public var positiveMassInLesion: Double
    public var seconds: Double
}

/// One stage of the cascading randomization: mean Spearman ρ with the trained model's maps.
public struct SanityCheckRow: Codable, Sendable {
    public var randomizedThrough: String
    /// Signed Grad-CAM (no ReLU; Captum's LayerGradCam default).
    public var gradCam: Double
    /// Grad-CAM with the paper's ReLU: the zero (background) regions of both maps tie, which keeps ρ up.
    public var gradCamRelu: Double
    public var integratedGradients: Double
    public var integratedGradientsAbs: Double
}

public struct SanityCheckReport: Codable, Sendable {
    public var images: Int
    public var rows: [SanityCheckRow]
}

/// Explanation scoring on a data set with lesion masks, and the model-randomization sanity check.
public struct ExplanationScoring {
    public var model: LoadedModel
    public var dataset: ImageFolder
    /// Data set class index → model class index.
    public var classMap: [Int]
    public var size: InputSize
    public var settings: ScoringSettings

    public init(model: LoadedModel, dataset: ImageFolder, classMap: [Int], size: InputSize, settings: ScoringSettings) {
        self.model = model
        self.dataset = dataset
        self.classMap = classMap
        self.size = size
        self.settings = settings
    }

    var loader: InputLoader { InputLoader(size: size) }
    var transform: ImageTransform { size.evaluationTransform }

    /// Diseased samples (non-empty mask) with their masks, at most `limit`, spread evenly.
    func diseasedSamples(masks: URL, limit: Int?) throws -> [(ImageFolder.Sample, [Bool])] {
        var found: [(ImageFolder.Sample, [Bool])] = []
        for (sample, url) in zip(dataset.samples, try maskURLs(masks)) {
            let mask: [Bool]
            do { mask = try LesionMask.load(url, transform: transform) } catch {
                throw PipelineError("\(url.path): \(error)")
            }
            if mask.contains(true) { found.append((sample, mask)) }
        }
        guard let limit, found.count > limit else { return found }
        return (0..<limit).map { found[$0 * found.count / limit] }
    }

    func load(_ sample: ImageFolder.Sample) throws -> LoadedInput {
        do { return try loader.load(sample.url.path) } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError("\(sample.url.path): \(error)")
        }
    }

    /// Pointing game (at the tolerance and at 0 px) and positive mass inside the lesion, per method, over
    /// the diseased images. `progress(method, done, total)` is called after each image.
    public func score(
        masks: URL, progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void = { _, _, _ in }
    )
        throws -> [ExplanationScore]
    {
        try score(masks: masks, progress: progress, keep: { _ in })
    }

    /// `score`, handing every scored map to `keep` (the panels `ExplanationScoring+Panels.swift` draws).
    func score(
        masks: URL, progress: (_ method: AttributionMethod, _ done: Int, _ total: Int) -> Void,
        keep: (ScoredMap) -> Void
    ) throws -> [ExplanationScore] {
        let side = size.crop
        let explainer = try Explainer(
            classifier: model.classifier(), settings: settings.explainerSettings(size: side))
        let samples = try diseasedSamples(masks: masks, limit: settings.limit)
        guard !samples.isEmpty else { throw PipelineError("no diseased images (non-empty masks) under \(masks.path)") }
        let radius = settings.tolerance ?? Int((15.0 * Double(side) / 224).rounded())
        var scores: [ExplanationScore] = []
        for method in settings.methods {
            let start = Date()
            var hits = 0, strictHits = 0, mass = 0.0
            for (k, (sample, mask)) in samples.enumerated() {
                let input = try load(sample)
                let map = try scoringMap(explainer, method, input: input, target: classMap[sample.label])
                let hit = ExplanationMetrics.pointingGameHit(
                    map: map, mask: mask, width: side, height: side, tolerance: radius)
                if hit { hits += 1 }
                if ExplanationMetrics.pointingGameHit(map: map, mask: mask, width: side, height: side, tolerance: 0) {
                    strictHits += 1
                }
                let inside = ExplanationMetrics.positiveMassInside(map: map, mask: mask)
                mass += inside
                keep(
                    ScoredMap(
                        index: k, count: samples.count, sample: sample, input: input, mask: mask, method: method,
                        map: map,
                        note:
                            "pointing game (\(radius) px): \(hit ? "hit" : "miss"); positive mass in lesion \(Self.percent(inside))"
                    ))
                progress(method, k + 1, samples.count)
            }
            let n = Double(samples.count)
            scores.append(
                ExplanationScore(
                    method: method.rawValue, images: samples.count, pointingGame: Double(hits) / n,
                    pointingGameStrict: Double(strictHits) / n, tolerancePixels: radius,
                    positiveMassInLesion: mass / n, seconds: -start.timeIntervalSinceNow))
        }
        return scores
    }

    /// Cascading randomization: for each stage (fc, layer4, …, conv1), the mean over images of Spearman's ρ
    /// between the original map and the map of the progressively randomized model. Grad-CAM is compared
    /// signed (no ReLU, upsampled) and with the ReLU; Integrated Gradients signed and as |·| (Adebayo et
    /// al. report signed and absolute rank correlations). The signed maps are the ones the check asserts:
    /// with ReLU or |·|, maps of a random network still separate leaf from background, as the trained
    /// network's do, which keeps ρ around 0.3–0.4 without saying anything about the learned weights.
    /// `progress(done, total)` is called after each stage. Leaf masks (`settings.maskKind`) mark no
    /// lesions, so with them the first images are used.
    public func sanityCheck(
        masks: URL?, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws
        -> SanityCheckReport
    {
        var samples: [ImageFolder.Sample]
        if let masks, settings.maskKind == .lesion {
            samples = try diseasedSamples(masks: masks, limit: settings.sanityImages).map(\.0)
        } else {
            samples = Array(dataset.samples.prefix(settings.sanityImages))
        }
        samples = Array(samples.prefix(settings.sanityImages))
        let inputs = try samples.map(load)
        let targets = samples.map { classMap[$0.label] }
        let explainerSettings = settings.explainerSettings(size: size.crop, relu: false)
        func maps(_ network: ResNet18<Float>) throws -> [[[Float]]] {
            let explainer = try Explainer(
                classifier: LoadedModel(network, description: model.description).classifier(),
                settings: explainerSettings)
            return try zip(inputs, targets).map { input, target in
                [
                    try explainer.explain(.gradCAM, input: input, target: target).map,
                    try explainer.explain(.integratedGradients, input: input, target: target).map,
                ]
            }
        }
        let original = try maps(model.network)
        var network = model.network
        var rows: [SanityCheckRow] = []
        for (index, stage) in ModelRandomization.cascade.enumerated() {
            network = try ModelRandomization.randomized(
                network, prefixes: stage.prefixes, seed: 0x5A17_0000 + UInt64(index))
            let randomized = try maps(network)
            var cam = 0.0, camReLU = 0.0, ig = 0.0, igAbs = 0.0
            for i in inputs.indices {
                cam += ExplanationMetrics.spearman(original[i][0], randomized[i][0])
                camReLU += ExplanationMetrics.spearman(
                    original[i][0].map { max($0, 0) }, randomized[i][0].map { max($0, 0) })
                ig += ExplanationMetrics.spearman(original[i][1], randomized[i][1])
                igAbs += ExplanationMetrics.spearman(original[i][1].map(abs), randomized[i][1].map(abs))
            }
            let n = Double(inputs.count)
            rows.append(
                SanityCheckRow(
                    randomizedThrough: stage.name, gradCam: cam / n, gradCamRelu: camReLU / n,
                    integratedGradients: ig / n, integratedGradientsAbs: igAbs / n))
            progress(index + 1, ModelRandomization.cascade.count)
        }
        return SanityCheckReport(images: inputs.count, rows: rows)
    }
}
