import ArgumentParser
import Foundation
import LeafLensPipeline

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

    @Option(
        name: .customLong("val-fraction"), help: "Share of each class held out for validation (seeded, stratified).")
    var valFraction: Double = 0.1

    @Option(name: .long, help: "head: train fc on frozen features; full: fine-tune the network.")
    var mode: TrainingMode = .full

    @Option(
        name: .customLong("freeze-until"),
        help: "Full mode: freeze conv1, bn1 and the stages before this one (layer1 … layer4).")
    var freezeUntil: String?

    @Option(
        name: .long,
        help:
            "Starting weights (.safetensors; a converted torchvision checkpoint or a LeafLens model). fc is re-initialised when the class count differs. Default: a fresh seeded network."
    )
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

    @Option(name: .long, help: "Network input side S: center-crop to S×S (default: 224, or the --weights file's).")
    var crop: Int?
    @Option(name: .customLong("image-size"), help: .hidden) var imageSize: Int?

    @Option(
        name: .long,
        help: "Evaluation transform: resize the shorter side to this, then center-crop S (default: S·256/224).")
    var resize: Int?

    @Option(name: .customLong("min-crop-scale"), help: "RandomResizedCrop's smallest area share (torchvision: 0.08).")
    var minCropScale: Double = 0.08

    @Flag(
        name: .customLong("no-augment"), help: "Full mode: train on the evaluation transform (no random crop or flip).")
    var noAugment = false

    @Option(name: .long, help: "Checkpoint folder (created if missing).")
    var out: String

    @Option(
        name: .long,
        help: "Continue from a checkpoint OUT/epoch-NNN.safetensors (its .state.safetensors must sit beside it).")
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
        guard momentum >= 0, weightDecay >= 0 else {
            throw ValidationError("--momentum and --weight-decay must be ≥ 0")
        }
        guard stepSize >= 1, gamma > 0 else { throw ValidationError("--step-size must be ≥ 1 and --gamma > 0") }
        guard width >= 1 else { throw ValidationError("--width must be at least 1") }
        let crop = try renamed(crop, old: imageSize, name: "--crop", oldName: "--image-size")
        if let crop, crop < 32 { throw ValidationError("--crop must be at least 32") }
        if let resize, let crop, resize < crop { throw ValidationError("--resize must be at least --crop") }
        guard minCropScale > 0, minCropScale <= 1 else { throw ValidationError("--min-crop-scale must be in (0, 1]") }
        if let freezeUntil {
            guard TrainingRequest.stage(freezeUntil) != nil else {
                throw ValidationError("--freeze-until must be layer1, layer2, layer3 or layer4")
            }
            guard mode == .full else { throw ValidationError("--freeze-until applies to --mode full only") }
        }
    }

    var request: TrainingRequest {
        var request = TrainingRequest(data: data, out: out)
        request.validation = val
        request.validationFraction = valFraction
        request.mode = mode
        request.freezeUntil = freezeUntil.flatMap(TrainingRequest.stage)
        request.weights = weights
        request.width = width
        request.epochs = epochs
        request.batchSize = batchSize
        request.learningRate = lr
        request.optimizer = optimizer
        request.momentum = momentum
        request.weightDecay = weightDecay
        request.schedule = schedule
        request.stepSize = stepSize
        request.gamma = gamma
        request.crop = crop ?? imageSize
        request.resize = resize
        request.minCropScale = minCropScale
        request.augment = !noAugment
        request.resume = resume
        request.seed = seed
        return request
    }

    func run() throws {
        try OutputCheck.folder(out)
        let training = try TrainingRun(request)
        for entry in training.skipped { warn("leaflens: warning: skipped \(entry)") }
        if weights == nil, mode == .head {
            warn("warning: --mode head without --weights trains fc on features of a random backbone")
        }
        if training.reinitializedHead, !json, let before = training.startingClassCount {
            warn("fc re-initialised for \(training.classCount) classes (the weights have \(before))")
        }
        let bar = ProgressBar()
        let summary: TrainingSummary
        do {
            summary = try training.run(
                willStart: {
                    if !json || ProgressBar.terminal {
                        let size = training.size.crop
                        warn(
                            "training \(mode.rawValue) on \(training.trainSet.samples.count) images (\(training.classCount) classes), validating on \(training.validationSet?.samples.count ?? 0); width \(training.width), \(size)×\(size)"
                        )
                    }
                },
                progress: { p in bar.update(Self.label(p), done: p.done, total: p.total, detail: Self.detail(p)) },
                epochFinished: { r in
                    bar.finish()
                    if !json { print(Self.line(r, epochs: epochs)) }
                })
        } catch {
            bar.finish()
            throw error
        }
        if json {
            try printJSON(summary)
        } else {
            print("saved \(summary.checkpoint)")
        }
    }

    static func label(_ p: TrainingProgress) -> String {
        switch p.phase {
        case .features: "features"
        case .validation: "epoch \(p.epoch)/\(p.epochs) validating"
        case .training: "epoch \(p.epoch)/\(p.epochs)"
        }
    }

    static func detail(_ p: TrainingProgress) -> String {
        guard p.phase == .training else { return "" }
        return String(format: "loss %.4f acc %.1f%% %.1f img/s", p.loss, p.accuracy * 100, p.imagesPerSecond)
    }

    static func line(_ r: EpochReport, epochs: Int) -> String {
        var line = String(
            format: "epoch %d/%d  lr %.5g  loss %.4f  acc %.2f%%", r.epoch, epochs, r.learningRate, r.trainLoss,
            r.trainAccuracy * 100)
        if let vl = r.validationLoss, let va = r.validationAccuracy {
            line += String(format: "  val_loss %.4f  val_acc %.2f%%", vl, va * 100)
        }
        line += String(format: "  %.1f s (%.1f img/s)", r.seconds, r.imagesPerSecond)
        return line
    }
}

extension ScheduleKind: ExpressibleByArgument {}
extension TrainingMode: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
