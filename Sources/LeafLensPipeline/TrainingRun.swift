import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTraining

public typealias TrainingMode = LeafLensTraining.TrainingMode
public typealias OptimizerKind = LeafLensTraining.OptimizerKind
public typealias TrainingProgress = LeafLensTraining.TrainingProgress
public typealias EpochReport = LeafLensTraining.EpochReport

/// `--schedule`: the learning rate per epoch.
public enum ScheduleKind: String, CaseIterable, Sendable {
    case constant, step, cosine

    func schedule(stepSize: Int, gamma: Double, epochs: Int) -> LearningRateSchedule {
        switch self {
        case .constant: .constant
        case .step: .step(stepSize: stepSize, gamma: gamma)
        case .cosine: .cosine(totalEpochs: epochs)
        }
    }
}

/// Everything `train` is asked to do.
public struct TrainingRequest: Sendable {
    public var data: String
    /// A validation ImageFolder with the same classes (instead of `validationFraction`).
    public var validation: String?
    public var validationFraction = 0.1
    public var mode: TrainingMode = .full
    /// Stage N (1…4): freeze conv1, bn1 and the stages before layerN.
    public var freezeUntil: Int?
    /// Starting weights; nil: a fresh seeded network of `width`.
    public var weights: String?
    public var width = 64
    public var epochs = 10
    public var batchSize = 32
    public var learningRate = 0.01
    public var optimizer: OptimizerKind = .sgd
    public var momentum = 0.9
    public var weightDecay = 0.0
    public var schedule: ScheduleKind = .constant
    public var stepSize = 7
    public var gamma = 0.1
    /// nil: the `InputSize` rule over the starting weights' metadata.
    public var crop: Int?
    public var resize: Int?
    public var minCropScale = 0.08
    public var augment = true
    public var out: String
    public var resume: String?
    public var seed: UInt64 = 0

    public init(data: String, out: String) {
        self.data = data
        self.out = out
    }

    /// `layerN` → N (1…4), else nil.
    public static func stage(_ name: String) -> Int? {
        guard name.hasPrefix("layer"), let n = Int(name.dropFirst(5)), (1...4).contains(n) else { return nil }
        return n
    }
}

/// The numbers `train --json` prints (keys on disk: snake_case).
public struct TrainingSummary: Codable, Sendable {
    public var trainAccuracy: Double
    public var trainLoss: Double
    public var valAccuracy: Double?
    public var valLoss: Double?
    public var epochs: Int
    public var seconds: Double
    public var featureSeconds: Double
    public var mode: String
    public var checkpoint: String
    public var imagesPerSecond: Double
}

/// `train` as library code: the data sets, the starting model adapted to their labels, and the
/// training loop writing checkpoints into `request.out`.
public final class TrainingRun {
    public let request: TrainingRequest
    public let trainSet: ImageFolder
    public let validationSet: ImageFolder?
    public let size: InputSize
    /// fc was re-initialised because the weights' class count differs from the data set's.
    public let reinitializedHead: Bool
    /// The class count of the starting weights (before adapting).
    public let startingClassCount: Int?
    /// Entries of the data folders that were not listed (links revisiting a folder, FIFOs, devices,
    /// broken links), for the CLI to warn about.
    public let skipped: [String]
    let model: ResNet18<Float>
    let started = Date()

    /// Loads the data and the starting model; nothing is written yet.
    public init(_ request: TrainingRequest) throws {
        self.request = request
        do {
            let all = try ImageFolder(root: URL(fileURLWithPath: request.data))
            var skipped = all.skipped.map { "\($0)" }
            if let validation = request.validation {
                let held = try ImageFolder(root: URL(fileURLWithPath: validation), classes: all.classes)
                skipped += held.skipped.map { "\($0)" }
                (trainSet, validationSet) = (all, held)
            } else if request.validationFraction == 0 {
                (trainSet, validationSet) = (all, nil)
            } else {
                let (train, held) = try all.split(validationFraction: request.validationFraction, seed: request.seed)
                (trainSet, validationSet) = (train, held)
            }
            self.skipped = skipped
        } catch {
            throw PipelineError("\(error)")
        }
        do {
            if let weights = request.weights {
                let loaded = try ModelSource.loadAnyWeights(
                    URL(fileURLWithPath: weights), labels: nil, description: weights
                ).network
                let adapted = try TrainingSetup.adapt(loaded, to: trainSet.classes, seed: request.seed)
                model = adapted.model
                reinitializedHead = adapted.reinitializedHead
                startingClassCount = loaded.configuration.classCount
                size = InputSize.resolve(resize: request.resize, crop: request.crop, metadata: loaded.metadata)
            } else {
                model = try TrainingSetup.freshModel(width: request.width, labels: trainSet.classes, seed: request.seed)
                reinitializedHead = false
                startingClassCount = nil
                size = InputSize.resolve(resize: request.resize, crop: request.crop, metadata: [:])
            }
        } catch let error as WeightsError {
            throw PipelineError(error.description)
        } catch {
            throw PipelineError("\(error)")
        }
    }

    public var width: Int { model.configuration.width }
    public var classCount: Int { trainSet.classes.count }

    /// Trains for the requested epochs (continuing from `request.resume`), checkpointing after each.
    /// `willStart` is called once the trainer is ready, before the first step.
    public func run(
        willStart: () -> Void = {}, progress: (TrainingProgress) -> Void, epochFinished: (EpochReport) -> Void
    ) throws -> TrainingSummary {
        let options = TrainingOptions(
            mode: request.mode, freezeUntil: request.freezeUntil, epochs: request.epochs, batchSize: request.batchSize,
            learningRate: request.learningRate,
            optimizer: OptimizerSettings(
                kind: request.optimizer, momentum: request.momentum, weightDecay: request.weightDecay),
            schedule: request.schedule.schedule(
                stepSize: request.stepSize, gamma: request.gamma, epochs: request.epochs),
            seed: request.seed, imageSize: size.crop, resize: size.resize ?? size.crop, augment: request.augment,
            minCropScale: request.minCropScale)
        let outURL = URL(fileURLWithPath: request.out)
        do { try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true) } catch {
            throw PipelineError("\(request.out): cannot create the checkpoint folder")
        }
        let trainer: Trainer
        do {
            trainer = try Trainer(
                model: model, train: trainSet, validation: validationSet, options: options, checkpointDirectory: outURL)
            if let resume = request.resume { try trainer.resume(from: URL(fileURLWithPath: resume)) }
        } catch {
            throw PipelineError("\(error)")
        }
        willStart()
        do {
            try trainer.run(progress: progress, epochFinished: epochFinished)
        } catch {
            throw PipelineError("training failed: \(error)")
        }
        let last = trainer.history.last
        return TrainingSummary(
            trainAccuracy: last?.trainAccuracy ?? 0, trainLoss: last?.trainLoss ?? 0,
            valAccuracy: last?.validationAccuracy,
            valLoss: last?.validationLoss, epochs: trainer.history.count, seconds: -started.timeIntervalSinceNow,
            featureSeconds: trainer.featureSeconds, mode: request.mode.rawValue,
            checkpoint: outURL.appendingPathComponent("model.safetensors").path,
            imagesPerSecond: last?.imagesPerSecond ?? 0)
    }
}
