import ArgumentParser
import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTraining

/// Explanation methods scored against lesion masks.
enum ScoredMethod: String, CaseIterable, Codable {
    case gradCAM = "grad-cam"
    case occlusion
    case integratedGradients = "integrated-gradients"
}

/// Options and runners for `evaluate --masks … --explain …` and `--sanity-check`.
struct ExplanationEvaluationOptions: ParsableArguments {
    @Option(name: .long, help: "Lesion masks with the same relative paths as the images (white = lesion).")
    var masks: String?

    @Option(name: .long, help: "Methods to score, comma-separated: grad-cam, occlusion, integrated-gradients.")
    var explain: String?

    @Option(name: .long, help: "Pointing-game tolerance in pixels of the network input (default: 15·S/224, as Zhang et al. at 224 px).")
    var tolerance: Int?

    /// layer3, not layer4: at the 128-px inputs of the synthetic set layer4 is a 4×4 grid of 32-px cells,
    /// too coarse to point at a lesion (pointing game 71 % vs 87 % for layer3 on 100 held-out leaves).
    @Option(name: .customLong("cam-layer"), help: "Grad-CAM layer (layer3's grid is twice as fine as layer4's).")
    var camLayer: String = "layer3"

    @Option(name: .customLong("occlusion-window"), help: "Occlusion window side in pixels (default: S/8).")
    var occlusionWindow: Int?

    @Option(name: .customLong("occlusion-stride"), help: "Occlusion stride in pixels (default: half the window).")
    var occlusionStride: Int?

    @Option(name: .customLong("ig-steps"), help: "Integrated Gradients steps (Gauss–Legendre).")
    var igSteps: Int = 32

    @Option(name: .customLong("explain-limit"), help: "Score at most this many diseased images (evenly over the data set).")
    var explainLimit: Int?

    @Flag(name: .customLong("sanity-check"), help: "Run the cascading model-randomization check (Grad-CAM and IG).")
    var sanityCheck = false

    @Option(name: .customLong("sanity-images"), help: "Images used by the sanity check (diseased ones first).")
    var sanityImages: Int = 6

    var methods: [ScoredMethod] {
        (explain ?? "").split(separator: ",").compactMap { ScoredMethod(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        if let explain {
            for name in explain.split(separator: ",") where ScoredMethod(rawValue: name.trimmingCharacters(in: .whitespaces)) == nil {
                throw ValidationError("--explain: unknown method '\(name)'; choose from \(ScoredMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard masks != nil else { throw ValidationError("--explain needs --masks") }
        }
        if let tolerance, tolerance < 0 { throw ValidationError("--tolerance must be ≥ 0") }
        if let occlusionWindow, occlusionWindow < 1 { throw ValidationError("--occlusion-window must be ≥ 1") }
        if let occlusionStride, occlusionStride < 1 { throw ValidationError("--occlusion-stride must be ≥ 1") }
        guard igSteps >= 1, sanityImages >= 1 else { throw ValidationError("--ig-steps and --sanity-images must be ≥ 1") }
        if let explainLimit, explainLimit < 1 { throw ValidationError("--explain-limit must be ≥ 1") }
    }

    /// The attribution map `[S·S]` (channels summed) of `method` for one input `[1, 3, S, S]`.
    func attribution(
        _ method: ScoredMethod, classifier: ResNetClassifier<Float>, input: Tensor<Float>, target: Int, absolute: Bool = false,
        relu: Bool = true
    ) throws -> [Float] {
        let size = input.shape[3]
        switch method {
        case .gradCAM:
            let cam = try GradCAM.attribute(
                model: classifier, input: input, layer: camLayer, targets: [target], relu: relu, upsample: .bilinear)
            return cam.storage
        case .occlusion:
            let window = occlusionWindow ?? max(1, size / 8)
            let stride = min(window, occlusionStride ?? max(1, window / 2))
            let map = try Occlusion.attribute(
                model: classifier, input: input, targets: [target], window: [3, window, window], strides: [3, stride, stride],
                perturbationsPerEval: 16)
            return ExplanationMetrics.channelSum(map, absolute: absolute)
        case .integratedGradients:
            let result = try IntegratedGradients.attribute(
                model: classifier, input: input, targets: [target], steps: igSteps, internalBatchSize: 16)
            return ExplanationMetrics.channelSum(result.attributions, absolute: absolute)
        }
    }

    /// Diseased samples (non-empty mask) with their masks, at most `limit`, spread evenly.
    func diseasedSamples(_ dataset: ImageFolder, masks: URL, transform: ImageTransform, limit: Int?) throws -> [(ImageFolder.Sample, [Bool])] {
        var found: [(ImageFolder.Sample, [Bool])] = []
        for sample in dataset.samples {
            let url = masks.appendingPathComponent(sample.relativePath)
            guard FileManager.default.fileExists(atPath: url.path) else { throw RuntimeError("\(url.path): no mask for \(sample.relativePath)") }
            let mask: [Bool]
            do { mask = try LesionMask.load(url, transform: transform) } catch { throw RuntimeError("\(url.path): \(error)") }
            if mask.contains(true) { found.append((sample, mask)) }
        }
        guard let limit, found.count > limit else { return found }
        return (0..<limit).map { found[$0 * found.count / limit] }
    }

    func score(
        network: ResNet18<Float>, dataset: ImageFolder, classMap: [Int], masks: URL, transform: ImageTransform, quiet: Bool
    ) throws -> [ExplanationScore] {
        let classifier = try ResNetClassifier(network)
        let samples = try diseasedSamples(dataset, masks: masks, transform: transform, limit: explainLimit)
        guard !samples.isEmpty else { throw RuntimeError("no diseased images (non-empty masks) under \(masks.path)") }
        let size = transform.outputSize
        let radius = tolerance ?? Int((15.0 * Double(size) / 224).rounded())
        var scores: [ExplanationScore] = []
        for method in methods {
            let start = Date()
            var hits = 0, strictHits = 0, mass = 0.0
            for (k, (sample, mask)) in samples.enumerated() {
                let input = try loadInput(sample, transform: transform)
                let map = try attribution(method, classifier: classifier, input: input, target: classMap[sample.label])
                if ExplanationMetrics.pointingGameHit(map: map, mask: mask, width: size, height: size, tolerance: radius) { hits += 1 }
                if ExplanationMetrics.pointingGameHit(map: map, mask: mask, width: size, height: size, tolerance: 0) { strictHits += 1 }
                mass += ExplanationMetrics.positiveMassInside(map: map, mask: mask)
                if !quiet && TrainingProgressBar.enabled {
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(method.rawValue) \(k + 1)/\(samples.count)".utf8))
                }
            }
            if !quiet && TrainingProgressBar.enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let n = Double(samples.count)
            scores.append(ExplanationScore(
                method: method.rawValue, images: samples.count, pointing_game: Double(hits) / n,
                pointing_game_strict: Double(strictHits) / n, tolerance_pixels: radius,
                positive_mass_in_lesion: mass / n, seconds: -start.timeIntervalSinceNow))
        }
        return scores
    }

    func loadInput(_ sample: ImageFolder.Sample, transform: ImageTransform) throws -> Tensor<Float> {
        do {
            let image = try ImageDecoder.decode(contentsOf: sample.url)
            var rng = SeededRandom(seed: 0)
            let x = try transform.apply(image, &rng)
            return try x.reshaped([1] + x.shape)
        } catch {
            throw RuntimeError("\(sample.url.path): \(error)")
        }
    }

    /// Cascading randomization: for each stage (fc, layer4, …, conv1), the mean over images of Spearman's ρ
    /// between the original map and the map of the progressively randomized model. Grad-CAM is compared
    /// signed (no ReLU, upsampled) and with the ReLU; Integrated Gradients signed and as |·| (Adebayo et
    /// al. report signed and absolute rank correlations). The signed maps are the ones the check asserts:
    /// with ReLU or |·|, maps of a random network still separate leaf from background, as the trained
    /// network's do, which keeps ρ around 0.3–0.4 without saying anything about the learned weights.
    func sanityCheck(
        network: ResNet18<Float>, dataset: ImageFolder, classMap: [Int], masks: URL?, transform: ImageTransform
    ) throws -> SanityCheckReport {
        var samples: [ImageFolder.Sample]
        if let masks {
            samples = try diseasedSamples(dataset, masks: masks, transform: transform, limit: sanityImages).map(\.0)
        } else {
            samples = Array(dataset.samples.prefix(sanityImages))
        }
        samples = Array(samples.prefix(sanityImages))
        let inputs = try samples.map { try loadInput($0, transform: transform) }
        let targets = samples.map { classMap[$0.label] }
        func maps(_ model: ResNet18<Float>) throws -> [[[Float]]] {
            let classifier = try ResNetClassifier(model)
            return try zip(inputs, targets).map { input, target in
                [
                    try attribution(.gradCAM, classifier: classifier, input: input, target: target, relu: false),
                    try attribution(.integratedGradients, classifier: classifier, input: input, target: target),
                ]
            }
        }
        let original = try maps(network)
        var model = network
        var rows: [SanityCheckRow] = []
        for (index, stage) in ModelRandomization.cascade.enumerated() {
            model = try ModelRandomization.randomized(model, prefixes: stage.prefixes, seed: 0x5A17_0000 + UInt64(index))
            let randomized = try maps(model)
            var cam = 0.0, camReLU = 0.0, ig = 0.0, igAbs = 0.0
            for i in inputs.indices {
                cam += ExplanationMetrics.spearman(original[i][0], randomized[i][0])
                camReLU += ExplanationMetrics.spearman(original[i][0].map { max($0, 0) }, randomized[i][0].map { max($0, 0) })
                ig += ExplanationMetrics.spearman(original[i][1], randomized[i][1])
                igAbs += ExplanationMetrics.spearman(original[i][1].map(abs), randomized[i][1].map(abs))
            }
            let n = Double(inputs.count)
            rows.append(SanityCheckRow(
                randomized_through: stage.name, grad_cam: cam / n, grad_cam_relu: camReLU / n, integrated_gradients: ig / n,
                integrated_gradients_abs: igAbs / n))
        }
        return SanityCheckReport(images: inputs.count, rows: rows)
    }

    static func printText(_ scores: [ExplanationScore]) {
        guard let first = scores.first else { return }
        print("explanations on \(first.images) diseased images (pointing-game tolerance \(first.tolerance_pixels) px):")
        print("method                  pointing  strict  mass-in-lesion  seconds")
        for s in scores {
            print(s.method.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "  %7.1f%%  %5.1f%%  %13.1f%%  %7.1f", s.pointing_game * 100, s.pointing_game_strict * 100, s.positive_mass_in_lesion * 100, s.seconds))
        }
    }

    static func printText(_ report: SanityCheckReport) {
        print("model randomization (Adebayo et al. 2018), mean Spearman ρ with the original map over \(report.images) images:")
        print("randomized through   grad-cam  relu(grad-cam)  integrated-gradients  |integrated-gradients|")
        for r in report.rows {
            print(r.randomized_through.padding(toLength: 19, withPad: " ", startingAt: 0)
                + String(format: "  %8.3f  %14.3f  %20.3f  %22.3f", r.grad_cam, r.grad_cam_relu, r.integrated_gradients, r.integrated_gradients_abs))
        }
    }
}

struct ExplanationScore: Codable {
    var method: String
    var images: Int
    var pointing_game: Double
    var pointing_game_strict: Double
    var tolerance_pixels: Int
    var positive_mass_in_lesion: Double
    var seconds: Double
}

struct SanityCheckRow: Codable {
    var randomized_through: String
    /// Signed Grad-CAM (no ReLU; Captum's LayerGradCam default).
    var grad_cam: Double
    /// Grad-CAM with the paper's ReLU: the zero (background) regions of both maps tie, which keeps ρ up.
    var grad_cam_relu: Double
    var integrated_gradients: Double
    var integrated_gradients_abs: Double
}

struct SanityCheckReport: Codable {
    var images: Int
    var rows: [SanityCheckRow]
}
