import ArgumentParser
import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train or fine-tune a ResNet18 on an ImageFolder data set (PNG/JPEG).",
        discussion: """
            DIR/<class>/<image>: labels are the class folder names in byte order (as torchvision's \
            ImageFolder). --mode head freezes the backbone, computes the avgpool features once per image \
            (evaluation transform, no augmentation) and trains fc only; --mode full fine-tunes every \
            parameter (not frozen by --freeze-until) with BatchNorm in training mode and augmentation \
            (RandomResizedCrop + horizontal flip). A checkpoint is written after every epoch: \
            OUT/epoch-NNN.safetensors (model, labels in the metadata), OUT/epoch-NNN.state.safetensors \
            (optimizer state, for --resume) and OUT/model.safetensors (latest).
            """)

    @Option(name: .long, help: "Training data: one sub-folder per class.")
    var data: String

    @Option(name: .long, help: "Validation data with the same class folders (instead of --val-fraction).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Share of each class held out for validation (seeded, stratified).")
    var valFraction: Double = 0.1

    @Option(name: .long, help: "head: train fc on frozen features; full: fine-tune the network.")
    var mode: TrainingMode = .full

    @Option(name: .customLong("freeze-until"), help: "Full mode: freeze conv1, bn1 and the stages before this one (layer1 … layer4).")
    var freezeUntil: String?

    @Option(name: .long, help: "Starting weights (.safetensors; a converted torchvision checkpoint or a LeafLens model). fc is re-initialised when the class count differs. Default: a fresh seeded network.")
    var weights: String?

    @Option(name: .long, help: "Base width of a fresh network (without --weights); torchvision's resnet18 is 64.")
    var width: Int = 64

    @Option(name: .long, help: "Number of epochs.")
    var epochs: Int = 10

    @Option(name: .customLong("batch-size"), help: "Images per optimizer step.")
    var batchSize: Int = 32

    @Option(name: .long, help: "Base learning rate.")
    var lr: Double = 0.01

    @Option(name: .long, help: "sgd or adam (PyTorch semantics).")
    var optimizer: OptimizerKind = .sgd

    @Option(name: .long, help: "SGD momentum.")
    var momentum: Double = 0.9

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay added to the gradient (SGD and Adam).")
    var weightDecay: Double = 0

    @Option(name: .long, help: "Learning-rate schedule per epoch: constant, step (--step-size, --gamma) or cosine.")
    var schedule: ScheduleKind = .constant

    @Option(name: .customLong("step-size"), help: "Step schedule: epochs between decays.")
    var stepSize: Int = 7

    @Option(name: .long, help: "Step schedule: decay factor.")
    var gamma: Double = 0.1

    @Option(name: .customLong("image-size"), help: "Network input side S (default: 224, or the --weights file's).")
    var imageSize: Int?

    @Option(name: .long, help: "Evaluation transform: resize the shorter side to this, then center-crop S (default: S·256/224).")
    var resize: Int?

    @Option(name: .customLong("min-crop-scale"), help: "RandomResizedCrop's smallest area share (torchvision: 0.08).")
    var minCropScale: Double = 0.08

    @Flag(name: .customLong("no-augment"), help: "Full mode: train on the evaluation transform (no random crop or flip).")
    var noAugment = false

    @Option(name: .long, help: "Checkpoint folder (created if missing).")
    var out: String

    @Option(name: .long, help: "Continue from a checkpoint OUT/epoch-NNN.safetensors (its .state.safetensors must sit beside it).")
    var resume: String?

    @Option(name: .long, help: "Seed for the split, shuffling, augmentation and new weights.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Print a final JSON line with train_accuracy, val_accuracy, val_loss, epochs, seconds.")
    var json = false

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard (0..<1).contains(valFraction) else { throw ValidationError("--val-fraction must be in [0, 1)") }
        guard momentum >= 0, weightDecay >= 0 else { throw ValidationError("--momentum and --weight-decay must be ≥ 0") }
        guard stepSize >= 1, gamma > 0 else { throw ValidationError("--step-size must be ≥ 1 and --gamma > 0") }
        guard width >= 1 else { throw ValidationError("--width must be at least 1") }
        if let imageSize, imageSize < 32 { throw ValidationError("--image-size must be at least 32") }
        if let resize, let imageSize, resize < imageSize { throw ValidationError("--resize must be at least --image-size") }
        guard minCropScale > 0, minCropScale <= 1 else { throw ValidationError("--min-crop-scale must be in (0, 1]") }
        if let freezeUntil {
            guard Self.stage(freezeUntil) != nil else { throw ValidationError("--freeze-until must be layer1, layer2, layer3 or layer4") }
            guard mode == .full else { throw ValidationError("--freeze-until applies to --mode full only") }
        }
    }

    static func stage(_ name: String) -> Int? {
        guard name.hasPrefix("layer"), let n = Int(name.dropFirst(5)), (1...4).contains(n) else { return nil }
        return n
    }

    func run() throws {
        try OutputCheck.folder(out)
        let started = Date()
        let (trainSet, validationSet) = try loadData()
        let (model, facts) = try startingModel(labels: trainSet.classes)
        let size = imageSize ?? facts.imageSize ?? 224
        let options = TrainingOptions(
            mode: mode, freezeUntil: freezeUntil.flatMap(Self.stage), epochs: epochs, batchSize: batchSize,
            learningRate: lr,
            optimizer: OptimizerSettings(kind: optimizer, momentum: momentum, weightDecay: weightDecay),
            schedule: schedule.schedule(stepSize: stepSize, gamma: gamma, epochs: epochs), seed: seed,
            imageSize: size, resize: resize ?? facts.resize ?? Int((Double(size) * 256 / 224).rounded()),
            augment: !noAugment, minCropScale: minCropScale)
        let outURL = URL(fileURLWithPath: out)
        do { try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true) } catch {
            throw RuntimeError("\(out): cannot create the checkpoint folder")
        }
        let trainer: Trainer
        do {
            trainer = try Trainer(model: model, train: trainSet, validation: validationSet, options: options, checkpointDirectory: outURL)
            if let resume { try trainer.resume(from: URL(fileURLWithPath: resume)) }
        } catch {
            throw RuntimeError("\(error)")
        }
        if !json || TrainingProgressBar.enabled {
            warn("training \(mode.rawValue) on \(trainSet.samples.count) images (\(trainSet.classes.count) classes), validating on \(validationSet?.samples.count ?? 0); width \(model.configuration.width), \(size)×\(size)")
        }
        let bar = TrainingProgressBar()
        do {
            try trainer.run(
                progress: { p in bar.update(p) },
                epochFinished: { r in
                    bar.finish()
                    if !json {
                        var line = String(format: "epoch %d/%d  lr %.5g  loss %.4f  acc %.2f%%", r.epoch, epochs, r.learningRate, r.trainLoss, r.trainAccuracy * 100)
                        if let vl = r.validationLoss, let va = r.validationAccuracy {
                            line += String(format: "  val_loss %.4f  val_acc %.2f%%", vl, va * 100)
                        }
                        line += String(format: "  %.1f s (%.1f img/s)", r.seconds, r.imagesPerSecond)
                        print(line)
                    }
                })
        } catch {
            bar.finish()
            throw RuntimeError("training failed: \(error)")
        }
        let last = trainer.history.last
        let summary = TrainSummary(
            train_accuracy: last?.trainAccuracy ?? 0, train_loss: last?.trainLoss ?? 0, val_accuracy: last?.validationAccuracy,
            val_loss: last?.validationLoss, epochs: trainer.history.count, seconds: -started.timeIntervalSinceNow,
            feature_seconds: trainer.featureSeconds, mode: mode.rawValue, checkpoint: outURL.appendingPathComponent("model.safetensors").path,
            images_per_second: last?.imagesPerSecond ?? 0)
        if json {
            print(try JSONLine.encode(summary))
        } else {
            print("saved \(summary.checkpoint)")
        }
    }

    private func loadData() throws -> (ImageFolder, ImageFolder?) {
        do {
            let all = try ImageFolder(root: URL(fileURLWithPath: data))
            for entry in all.skipped { warn("leaflens: warning: skipped \(entry)") }
            if let val {
                let validation = try ImageFolder(root: URL(fileURLWithPath: val), classes: all.classes)
                for entry in validation.skipped { warn("leaflens: warning: skipped \(entry)") }
                return (all, validation)
            }
            if valFraction == 0 { return (all, nil) }
            let (train, held) = try all.split(validationFraction: valFraction, seed: seed)
            return (train, held)
        } catch {
            throw RuntimeError("\(error)")
        }
    }

    /// The model to start from, adapted to the data set's labels, and the input size stored in its file.
    private func startingModel(labels: [String]) throws -> (ResNet18<Float>, (imageSize: Int?, resize: Int?)) {
        do {
            if let weights {
                let url = URL(fileURLWithPath: weights)
                let loaded = try ResNet18<Float>.load(contentsOf: url)
                let metadata = (try? SafeTensorsFile.read(url))?.metadata ?? [:]
                let adapted = try TrainingSetup.adapt(loaded, to: labels, seed: seed)
                if adapted.reinitializedHead && !json {
                    warn("fc re-initialised for \(labels.count) classes (the weights have \(loaded.configuration.classCount))")
                }
                return (adapted.model, (metadata["image_size"].flatMap { Int($0) }, metadata["resize"].flatMap { Int($0) }))
            }
            if mode == .head { warn("warning: --mode head without --weights trains fc on features of a random backbone") }
            return (try TrainingSetup.freshModel(width: width, labels: labels, seed: seed), (nil, nil))
        } catch let error as WeightsError {
            throw RuntimeError(error.description)
        } catch {
            throw RuntimeError("\(error)")
        }
    }
}

enum ScheduleKind: String, ExpressibleByArgument, CaseIterable {
    case constant, step, cosine

    func schedule(stepSize: Int, gamma: Double, epochs: Int) -> LearningRateSchedule {
        switch self {
        case .constant: .constant
        case .step: .step(stepSize: stepSize, gamma: gamma)
        case .cosine: .cosine(totalEpochs: epochs)
        }
    }
}

extension TrainingMode: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

struct TrainSummary: Codable {
    var train_accuracy: Double
    var train_loss: Double
    var val_accuracy: Double?
    var val_loss: Double?
    var epochs: Int
    var seconds: Double
    var feature_seconds: Double
    var mode: String
    var checkpoint: String
    var images_per_second: Double
}
