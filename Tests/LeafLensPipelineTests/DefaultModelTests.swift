import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensPipeline
import LeafLensTestSupport
import LeafLensTraining
import Testing

/// The bundled default model on held-out synthetic leaves (seed 424242, never used by
/// scripts/train-default-model, which trains on seed 1), evaluated and explained in process through the
/// pipeline — the code `leaflens evaluate` runs.
@Suite(.serialized) struct DefaultModelTests {
    static let modelURL = FixturePaths.repositoryRoot.appendingPathComponent(
        "Sources/leaflens/Resources/default.safetensors")
    static let heldOutSeed: UInt64 = 424_242

    static func heldOut(_ root: URL, perClass: Int) throws -> (images: URL, masks: URL) {
        let images = root.appendingPathComponent("images"), masks = root.appendingPathComponent("masks")
        _ = try SyntheticDataset.generate(out: images, masks: masks, perClass: perClass, seed: heldOutSeed, size: 128)
        return (images, masks)
    }

    static func model() throws -> LoadedModel {
        try ModelSource(weights: modelURL.path, bundled: nil).load()
    }

    /// `evaluate`'s set-up: the model's input size from its metadata (128/128), classes matched by name.
    static func evaluation(_ images: URL) throws -> Evaluation {
        let model = try model()
        return try Evaluation(model: model, data: images.path, size: InputSize.resolve(metadata: model.metadata))
    }

    @Test func bundledModelIsTheSyntheticDemonstrationModel() throws {
        let model = try ResNet18<Float>.load(contentsOf: Self.modelURL)
        #expect(model.labels == SyntheticDisease.allCases.map(\.rawValue))
        let size = try FileManager.default.attributesOfItem(atPath: Self.modelURL.path)[.size] as? Int ?? .max
        #expect(size <= 5_000_000)
        #expect(InputSize.resolve(metadata: model.metadata) == InputSize(resize: 128, crop: 128))
    }

    /// Accuracy ≥ 95 % on 60 held-out leaves.
    @Test func heldOutAccuracy() throws {
        let root = try FixturePaths.temporaryDirectory("default-model")
        defer { try? FileManager.default.removeItem(at: root) }
        let (images, _) = try Self.heldOut(root, perClass: 10)
        let (report, confusion) = try Self.evaluation(images).run(batchSize: 32)
        #expect(report.images == 60 && confusion.total == 60)
        #expect(report.accuracy >= 0.95, "held-out accuracy \(report.accuracy)")
    }

    /// Pointing game ≥ 80 % for Grad-CAM (the fused layer3 + layer4 default) and Occlusion (24-px window, stride 12) on 20 held-out
    /// diseased leaves, tolerance 9 px; IG is only reported.
    @Test func explanationsFindTheLesions() throws {
        let root = try FixturePaths.temporaryDirectory("default-model-explain")
        defer { try? FileManager.default.removeItem(at: root) }
        let (images, masks) = try Self.heldOut(root, perClass: 4)
        var settings = ScoringSettings()
        settings.methods = [.gradCAM, .occlusion, .integratedGradients]
        settings.steps = 8
        settings.window = 24
        settings.stride = 12
        let scores = try Self.evaluation(images).scoring(settings).score(masks: masks)
        var pointing: [String: Double] = [:]
        for s in scores { pointing[s.method] = s.pointingGame }
        #expect(try #require(pointing["grad-cam"]) >= 0.8, "Grad-CAM pointing game \(pointing)")
        #expect(try #require(pointing["occlusion"]) >= 0.8, "Occlusion pointing game \(pointing)")
        #expect(pointing["integrated-gradients"] != nil)
        #expect(scores.first?.images == 20)
        #expect(scores.first?.tolerancePixels == 9)
    }

    /// Adebayo et al. (2018): once every layer is randomized, signed Grad-CAM and IG maps are decorrelated
    /// from the trained model's (mean Spearman ρ over 6 diseased leaves < 0.3; measured 0.28 and 0.00).
    @Test func randomizationDecorrelatesExplanations() throws {
        let root = try FixturePaths.temporaryDirectory("default-model-sanity")
        defer { try? FileManager.default.removeItem(at: root) }
        let (images, masks) = try Self.heldOut(root, perClass: 2)
        var settings = ScoringSettings()
        settings.sanityImages = 6
        settings.steps = 8
        let report = try Self.evaluation(images).scoring(settings).sanityCheck(masks: masks)
        #expect(report.images == 6)
        #expect(report.rows.map(\.randomizedThrough) == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"])
        let last = try #require(report.rows.last)
        #expect(last.gradCam < 0.3, "\(report.rows)")
        #expect(last.integratedGradients < 0.3, "\(report.rows)")
    }
}
