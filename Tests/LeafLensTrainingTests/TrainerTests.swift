import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import LeafLensTraining
import Testing

@Suite(.serialized) struct TrainerTests {
    /// A small synthetic set (3 clearly different classes at 40 px) shared by the tests below.
    static func dataset(_ root: URL, perClass: Int, seed: UInt64) throws -> ImageFolder {
        _ = try SyntheticDataset.generate(
            out: root, masks: nil, perClass: perClass, seed: seed, size: 40, classes: [.healthy, .powderyMildew, .rust])
        return try ImageFolder(root: root)
    }

    /// Head mode from the bundled model's backbone on 3 of its classes (fc re-initialised, 3 ≠ 6): fc
    /// alone reaches ≥ 95 % on held-out leaves, and the backbone does not move.
    @Test func headModeLearns() throws {
        let root = try FixturePaths.temporaryDirectory("train-head")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try SyntheticDataset.generate(
            out: root, masks: nil, perClass: 16, seed: 21, size: 128, classes: [.brownSpot, .healthy, .rust])
        let all = try ImageFolder(root: root)
        let (train, validation) = try all.split(validationFraction: 0.25, seed: 1)
        let bundled = try ResNet18<Float>.load(
            contentsOf: FixturePaths.repositoryRoot.appendingPathComponent(
                "Sources/leaflens/Resources/default.safetensors"))
        let (model, reinitialized) = try TrainingSetup.adapt(bundled, to: all.classes, seed: 2)
        #expect(reinitialized)
        let options = TrainingOptions(
            mode: .head, epochs: 30, batchSize: 8, learningRate: 0.01,
            optimizer: OptimizerSettings(kind: .adam), seed: 3, imageSize: 128, resize: 128)
        let trainer = try Trainer(
            model: model, train: train, validation: validation, options: options, checkpointDirectory: nil)
        let history = try trainer.run()
        let last = try #require(history.last)
        #expect(last.trainAccuracy >= 0.95, "train accuracy \(last.trainAccuracy)")
        #expect(
            try #require(last.validationAccuracy) >= 0.95,
            "validation accuracy \(String(describing: last.validationAccuracy))")
        for name in model.trainableParameterNames where !name.hasPrefix("fc.") {
            #expect(trainer.model.parameters[name] == model.parameters[name])
        }
    }

    /// Two epochs in one run equal one epoch, then `resume` for the second: same weights bit for bit,
    /// checkpoints carry labels and the BatchNorm statistics moved.
    @Test func resumeContinuesExactly() throws {
        let root = try FixturePaths.temporaryDirectory("train-resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataset(root.appendingPathComponent("data"), perClass: 4, seed: 5)
        let model = try TrainingSetup.freshModel(width: 4, labels: data.classes, seed: 1)
        func options(_ epochs: Int) -> TrainingOptions {
            TrainingOptions(
                mode: .full, freezeUntil: 2, epochs: epochs, batchSize: 6, learningRate: 0.01,
                optimizer: OptimizerSettings(kind: .sgd, momentum: 0.9, weightDecay: 1e-4),
                schedule: .cosine(totalEpochs: 2),
                seed: 9, imageSize: 32, resize: 36, minCropScale: 0.5)
        }
        let straight = root.appendingPathComponent("straight"), split = root.appendingPathComponent("split")
        for dir in [straight, split] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let full = try Trainer(
            model: model, train: data, validation: nil, options: options(2), checkpointDirectory: straight)
        try full.run()
        let first = try Trainer(
            model: model, train: data, validation: nil, options: options(1), checkpointDirectory: split)
        try first.run()
        let second = try Trainer(
            model: model, train: data, validation: nil, options: options(2), checkpointDirectory: split)
        try second.resume(from: split.appendingPathComponent("epoch-001.safetensors"))
        try second.run()
        #expect(second.history.count == 2)
        #expect(second.model.parameters == full.model.parameters)
        let saved = try ResNet18<Float>.load(contentsOf: split.appendingPathComponent("epoch-002.safetensors"))
        #expect(saved.labels == data.classes)
        #expect(saved.parameters == full.model.parameters)
        // Frozen stem: conv1 unchanged; a trained layer and the BN statistics changed.
        #expect(full.model.parameters["conv1.weight"] == model.parameters["conv1.weight"])
        #expect(full.model.parameters["layer3.0.conv1.weight"] != model.parameters["layer3.0.conv1.weight"])
        #expect(full.model.parameters["bn1.running_mean"] != model.parameters["bn1.running_mean"])
    }

    @Test func adaptReinitialisesTheHeadOnlyWhenNeeded() throws {
        let model = try ResNet18<Float>.seeded(seed: 1, configuration: ResNet18Configuration(classCount: 38, width: 4))
        let same = try TrainingSetup.adapt(model, to: (0..<38).map { "c\($0)" }, seed: 0)
        #expect(!same.reinitializedHead && same.model.parameters == model.parameters)
        let six = try TrainingSetup.adapt(model, to: ["a", "b", "c", "d", "e", "f"], seed: 0)
        #expect(six.reinitializedHead)
        #expect(six.model.parameters["fc.weight"]?.shape == [6, 32])
        #expect(six.model.parameters["layer1.0.conv1.weight"] == model.parameters["layer1.0.conv1.weight"])
        let bound = Float(1 / Double(32).squareRoot())
        #expect(six.model.parameters["fc.weight"]?.storage.allSatisfy { abs($0) <= bound } == true)
    }
}
