import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel

/// Everything that defines a training run (stored in each checkpoint's state file).
public struct TrainingOptions: Sendable, Codable, Equatable {
    public var mode: TrainingMode
    /// Stage N (1…4): freeze conv1, bn1 and layer1…layer(N−1) (full mode only).
    public var freezeUntil: Int?
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var optimizer: OptimizerSettings
    public var schedule: LearningRateSchedule
    public var seed: UInt64
    /// Network input side S; evaluation transform Resize(resize) → CenterCrop(S).
    public var imageSize: Int
    public var resize: Int
    /// Training augmentation (full mode): RandomResizedCrop(S, scale: minCropScale…1) + horizontal flip.
    public var augment: Bool
    public var minCropScale: Double

    public init(
        mode: TrainingMode, freezeUntil: Int? = nil, epochs: Int, batchSize: Int, learningRate: Double,
        optimizer: OptimizerSettings, schedule: LearningRateSchedule = .constant, seed: UInt64 = 0,
        imageSize: Int = 224, resize: Int = 256, augment: Bool = true, minCropScale: Double = 0.08
    ) {
        self.mode = mode
        self.freezeUntil = freezeUntil
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.optimizer = optimizer
        self.schedule = schedule
        self.seed = seed
        self.imageSize = imageSize
        self.resize = resize
        self.augment = augment
        self.minCropScale = minCropScale
    }

    public var evaluationTransform: ImageTransform { .evaluation(resize: resize, size: imageSize) }
    public var trainingTransform: ImageTransform {
        augment ? .training(size: imageSize, scale: minCropScale...1, flip: true) : evaluationTransform
    }
}

/// Numbers for one finished epoch.
public struct EpochReport: Sendable, Codable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var seconds: Double
    /// Training images per second in this epoch (head mode: fc steps only; see `featureSeconds`).
    public var imagesPerSecond: Double
}

/// Live progress within an epoch.
public struct TrainingProgress: Sendable {
    public enum Phase: String, Sendable { case features, training, validation }
    public var phase: Phase
    public var epoch: Int
    public var epochs: Int
    public var done: Int
    public var total: Int
    /// Running mean loss and accuracy of this epoch so far (training phase).
    public var loss: Double
    public var accuracy: Double
    public var imagesPerSecond: Double
}

/// The training loop: mini-batch SGD/Adam on mean cross-entropy, a checkpoint after every epoch.
///
/// Checkpoints in `checkpointDirectory`: `epoch-NNN.safetensors` (the model, labels and training facts in
/// the metadata, loadable by every command) and `epoch-NNN.state.safetensors` (optimizer buffers, step
/// count, options and history), both written atomically; `model.safetensors` is the latest model.
public final class Trainer {
    public private(set) var model: ResNet<Float>
    public let train: ImageFolder
    public let validation: ImageFolder?
    public let options: TrainingOptions
    public let checkpointDirectory: URL?
    public private(set) var optimizer: Optimizer
    public private(set) var history: [EpochReport] = []
    /// Seconds spent computing head-mode features (0 in full mode).
    public private(set) var featureSeconds = 0.0
    public let trainedNames: [String]

    public init(
        model: ResNet<Float>, train: ImageFolder, validation: ImageFolder?, options: TrainingOptions,
        checkpointDirectory: URL?
    ) throws {
        guard options.epochs >= 1, options.batchSize >= 1, options.learningRate > 0 else {
            throw DatasetError.invalidOption("epochs, batch size and learning rate must be positive")
        }
        guard !train.samples.isEmpty else { throw DatasetError.invalidOption("the training set has no images") }
        guard model.labels == train.classes else {
            throw DatasetError.invalidOption(
                "the model's labels differ from the data set's classes (adapt the model first)")
        }
        self.model = model
        self.train = train
        self.validation = validation
        self.options = options
        self.checkpointDirectory = checkpointDirectory
        optimizer = Optimizer(options.optimizer)
        trainedNames = TrainingSetup.trainedParameters(of: model, mode: options.mode, freezeUntil: options.freezeUntil)
    }

    /// Continues from a checkpoint written by this class: loads its model and the sibling state file.
    ///
    /// Checkpoints are written state first, model second (see `saveCheckpoint`), so a model file never
    /// exists without its state; a state file without its model, a model without its state (from an
    /// older LeafLens), or a pair whose epochs differ is reported as an interrupted checkpoint.
    public func resume(from checkpoint: URL) throws {
        let state = Self.stateURL(for: checkpoint)
        let hasModel = FileAccess.status(checkpoint.path, followingLinks: true) != nil
        let hasState = FileAccess.status(state.path, followingLinks: true) != nil
        switch (hasModel, hasState) {
        case (false, true):
            throw DatasetError.unreadable(
                "\(checkpoint.path): checkpoint was interrupted while being written (its state file "
                    + "\(state.lastPathComponent) exists, the model file does not); resume from the previous epoch's checkpoint"
            )
        case (true, false):
            throw DatasetError.unreadable(
                "\(checkpoint.path): incomplete checkpoint: its state file \(state.lastPathComponent) is missing "
                    + "(the checkpoint was interrupted while being written, or the file is not a training checkpoint)")
        case (false, false):
            throw DatasetError.unreadable("\(checkpoint.path): file does not exist")
        case (true, true):
            break
        }
        let file = try SafeTensorsFile.read(state)
        guard let epochText = file.metadata["epoch"], let epoch = Int(epochText),
            let stepsText = file.metadata["step_count"], let steps = Int(stepsText),
            let kind = file.metadata["optimizer"], kind == options.optimizer.kind.rawValue
        else {
            throw DatasetError.unreadable(
                "\(state.path): not a training state for optimizer \(options.optimizer.kind.rawValue)")
        }
        let loaded = try ResNet<Float>.load(contentsOf: checkpoint)
        if let modelEpoch = loaded.metadata["epoch"], modelEpoch != epochText {
            throw DatasetError.unreadable(
                "\(checkpoint.path): checkpoint was interrupted while being written (the model is from epoch "
                    + "\(modelEpoch), its state \(state.lastPathComponent) from epoch \(epochText))")
        }
        guard loaded.labels == train.classes, loaded.configuration == model.configuration else {
            throw DatasetError.invalidOption("\(checkpoint.path): labels, depth or width differ from this run's")
        }
        model = loaded
        var tensors: [String: Tensor<Float>] = [:]
        for name in file.tensorNames { tensors[name] = try file.tensor(name, as: Float.self) }
        optimizer.restore(stateTensors: tensors, stepCount: steps)
        if let text = file.metadata["history"], let data = text.data(using: .utf8) {
            history = (try? JSONDecoder().decode([EpochReport].self, from: data)) ?? []
        }
        history = Array(history.prefix(epoch))
    }

    public static func stateURL(for checkpoint: URL) -> URL {
        let base = checkpoint.deletingPathExtension()
        return base.deletingLastPathComponent().appendingPathComponent(base.lastPathComponent + ".state.safetensors")
    }

    /// Runs the remaining epochs. `progress` and `epochFinished` are called on the calling thread.
    @discardableResult
    public func run(
        progress: (TrainingProgress) -> Void = { _ in }, epochFinished: (EpochReport) -> Void = { _ in }
    ) throws -> [EpochReport] {
        switch options.mode {
        case .head: try runHead(progress: progress, epochFinished: epochFinished)
        case .full: try runFull(progress: progress, epochFinished: epochFinished)
        }
        return history
    }

    // MARK: - Full fine-tuning

    private func runFull(progress: (TrainingProgress) -> Void, epochFinished: (EpochReport) -> Void) throws {
        let loader = BatchLoader(
            dataset: train, transform: options.trainingTransform, batchSize: options.batchSize, seed: options.seed)
        let trained = Set(trainedNames)
        for epoch in history.count..<options.epochs {
            let lr = options.schedule.rate(base: options.learningRate, epoch: epoch)
            let start = Date()
            var meter = Meter()
            loader.startEpoch(epoch, shuffle: true)
            for b in 0..<loader.batchCount {
                let batch = try loader.batch(b)
                let ce = try TrainingStep.full(
                    model: &model, optimizer: &optimizer, inputs: batch.inputs, labels: batch.labels, trained: trained,
                    learningRate: lr)
                meter.add(loss: ce.loss, predictions: ce.predictions, labels: batch.labels)
                progress(
                    TrainingProgress(
                        phase: .training, epoch: epoch + 1, epochs: options.epochs, done: b + 1,
                        total: loader.batchCount,
                        loss: meter.loss, accuracy: meter.accuracy,
                        imagesPerSecond: Double(meter.count) / max(1e-9, -start.timeIntervalSinceNow)))
            }
            let seconds = -start.timeIntervalSinceNow
            var report = EpochReport(
                epoch: epoch + 1, learningRate: lr, trainLoss: meter.loss, trainAccuracy: meter.accuracy,
                validationLoss: nil, validationAccuracy: nil, seconds: seconds,
                imagesPerSecond: Double(meter.count) / max(seconds, 1e-9))
            if let validation, !validation.samples.isEmpty {
                let result = try ModelEvaluation.run(
                    model: model, dataset: validation, transform: options.evaluationTransform,
                    batchSize: max(options.batchSize, 16)
                ) { done, total in
                    progress(
                        TrainingProgress(
                            phase: .validation, epoch: epoch + 1, epochs: self.options.epochs, done: done, total: total,
                            loss: 0, accuracy: 0, imagesPerSecond: 0))
                }
                report.validationLoss = result.loss
                report.validationAccuracy = result.accuracy
            }
            try finishEpoch(report, epochFinished)
        }
    }

    // MARK: - Head only

    private func runHead(progress: (TrainingProgress) -> Void, epochFinished: (EpochReport) -> Void) throws {
        let featureStart = Date()
        let trainFeatures = try features(of: train, progress: progress)
        let validationFeatures = try validation.map { try features(of: $0, progress: progress) }
        featureSeconds = -featureStart.timeIntervalSinceNow
        let count = train.samples.count
        for epoch in history.count..<options.epochs {
            let lr = options.schedule.rate(base: options.learningRate, epoch: epoch)
            let start = Date()
            var order = Array(0..<count)
            var rng = SeededRandom(seed: BatchLoader.mix(options.seed, UInt64(epoch), 0x4845_4144))
            shuffle(&order, &rng)
            var meter = Meter()
            let batches = (count + options.batchSize - 1) / options.batchSize
            for b in 0..<batches {
                let members = Array(order[b * options.batchSize..<min(count, (b + 1) * options.batchSize)])
                let x = trainFeatures.rows(members)
                let labels = members.map { train.samples[$0].label }
                let head = try headLayer()
                let ce = try CrossEntropy.evaluate(logits: try head.forward(x), targets: labels)
                var grads: LinearGradients<Float>? = LinearGradients(weightShape: head.weight.shape, hasBias: true)
                _ = try head.backward(gradOutput: ce.gradient, input: x, parameterGradients: &grads)
                guard let grads, let biasGradient = grads.bias else {
                    preconditionFailure("Linear.backward returns the gradients it was given")
                }  // safe: see message
                var parameters = ["fc.weight": head.weight, "fc.bias": try headBias(head)]
                try optimizer.step(
                    parameters: &parameters, gradients: ["fc.weight": grads.weight, "fc.bias": biasGradient],
                    learningRate: lr)
                for (name, value) in parameters { try model.setParameter(name, value) }
                meter.add(loss: ce.loss, predictions: ce.predictions, labels: labels)
                progress(
                    TrainingProgress(
                        phase: .training, epoch: epoch + 1, epochs: options.epochs, done: b + 1, total: batches,
                        loss: meter.loss, accuracy: meter.accuracy,
                        imagesPerSecond: Double(meter.count) / max(1e-9, -start.timeIntervalSinceNow)))
            }
            let seconds = -start.timeIntervalSinceNow
            var report = EpochReport(
                epoch: epoch + 1, learningRate: lr, trainLoss: meter.loss, trainAccuracy: meter.accuracy,
                validationLoss: nil, validationAccuracy: nil, seconds: seconds,
                imagesPerSecond: Double(meter.count) / max(seconds, 1e-9))
            if let validationFeatures, let validation, !validation.samples.isEmpty {
                let all = Array(0..<validation.samples.count)
                let logits = try headLayer().forward(validationFeatures.rows(all))
                let ce = try CrossEntropy.evaluate(logits: logits, targets: validation.samples.map(\.label))
                report.validationLoss = ce.loss
                report.validationAccuracy =
                    Double(zip(ce.predictions, validation.samples).filter { $0.0 == $0.1.label }.count)
                    / Double(validation.samples.count)
            }
            try finishEpoch(report, epochFinished)
        }
    }

    /// The model's `fc` as a layer (every ResNet has one: the configuration lists it).
    private func headLayer() throws -> Linear<Float> {
        guard let w = model.parameters["fc.weight"], let b = model.parameters["fc.bias"] else {
            preconditionFailure("a validated ResNet has fc.weight and fc.bias")  // safe: ResNet.init checks every entry
        }
        return try Linear(weight: w, bias: b)
    }

    private func headBias(_ head: Linear<Float>) throws -> Tensor<Float> {
        guard let bias = head.bias else { preconditionFailure("headLayer sets the bias") }  // safe: see headLayer
        return bias
    }

    /// avgpool features `[N, 8w·expansion]` of every image (evaluation transform, BN folded), in data set order.
    /// The frozen backbone's pooled features of every image, computed once (the cache every epoch reuses),
    /// at inference speed: the classification program (BN folded; packed or Winograd convolutions), as
    /// `classify` runs it.
    private func features(of dataset: ImageFolder, progress: (TrainingProgress) -> Void) throws -> FeatureMatrix {
        let program = try model.program(for: .classification)
        let loader = BatchLoader(
            dataset: dataset, transform: options.evaluationTransform, batchSize: max(16, options.batchSize),
            seed: options.seed)
        loader.startEpoch(0, shuffle: false)
        let width = model.configuration.featureCount
        var values = [Float](repeating: 0, count: dataset.samples.count * width)
        let start = Date()
        var done = 0
        for b in 0..<loader.batchCount {
            let batch = try loader.batch(b)
            let record = try program.forward(batch.inputs, taps: ["avgpool"])
            guard let pooled = record.layerActivations["avgpool"] else {
                throw DatasetError.invalidOption("no avgpool output")
            }
            for (k, i) in batch.indices.enumerated() {
                for j in 0..<width { values[i * width + j] = pooled.storage[k * width + j] }
            }
            done += batch.indices.count
            progress(
                TrainingProgress(
                    phase: .features, epoch: 0, epochs: options.epochs, done: b + 1, total: loader.batchCount, loss: 0,
                    accuracy: 0,
                    imagesPerSecond: Double(done) / max(1e-9, -start.timeIntervalSinceNow)))
        }
        return FeatureMatrix(width: width, values: values)
    }

    // MARK: - Checkpoints

    private func finishEpoch(_ report: EpochReport, _ epochFinished: (EpochReport) -> Void) throws {
        history.append(report)
        if let directory = checkpointDirectory { try saveCheckpoint(in: directory, epoch: report.epoch) }
        epochFinished(report)
    }

    /// Writes `epoch-NNN.state.safetensors`, then `epoch-NNN.safetensors`, then `model.safetensors`
    /// (atomically each). The state goes first so that a model checkpoint never exists without its state:
    /// an interruption (SIGTERM at a Slurm time limit, a full disk) leaves at most a state file without
    /// its model, which `resume(from:)` reports as an interrupted checkpoint. SIGINT/SIGTERM remove the
    /// file being written (its temporary) when the CLI has installed `TemporaryFiles`' handlers.
    public func saveCheckpoint(in directory: URL, epoch: Int) throws {
        let name = "epoch-" + String(repeating: "0", count: max(0, 3 - String(epoch).count)) + String(epoch)
        let checkpoint = directory.appendingPathComponent(name + ".safetensors")
        let metadata = [
            CheckpointMetadata.epoch: String(epoch), CheckpointMetadata.imageSize: String(options.imageSize),
            CheckpointMetadata.resize: String(options.resize),
            "mode": options.mode.rawValue, "trained_by": "leaflens train",
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var stateMetadata = [
            "epoch": String(epoch), "step_count": String(optimizer.stepCount),
            "optimizer": options.optimizer.kind.rawValue,
        ]
        stateMetadata["options"] = String(decoding: try encoder.encode(options), as: UTF8.self)
        stateMetadata["history"] = String(decoding: try encoder.encode(history), as: UTF8.self)
        var state = optimizer.stateTensors
        if state.isEmpty { state["step_count"] = Tensor(repeating: Float(optimizer.stepCount), shape: [1]) }
        try SafeTensorsFile.write(state, metadata: stateMetadata, to: Self.stateURL(for: checkpoint))
        try model.save(to: checkpoint, metadata: metadata)
        try model.save(to: directory.appendingPathComponent("model.safetensors"), metadata: metadata)
    }
}

/// One optimisation step of the whole network, as a PyTorch loop body in `model.train()` mode:
/// forward with BatchNorm on batch statistics (the `.optimizerStep` program: convolution weights packed
/// for this step where the CPU has the AVX-512 kernel) → mean cross-entropy → backward → optimizer step on the
/// `trained` parameters → BatchNorm running statistics replaced by the forward pass's updates
/// (momentum 0.1, unbiased variance; all BN layers, frozen or not, as `model.train()` does).
/// Returns the loss (before the update) and the batch's predictions.
public enum TrainingStep {
    public static func full(
        model: inout ResNet<Float>, optimizer: inout Optimizer, inputs: Tensor<Float>, labels: [Int],
        trained: Set<String>, learningRate: Double
    ) throws -> CrossEntropy.Result<Float> {
        let program = try model.program(for: .optimizerStep)
        let record = try program.forward(inputs, backward: BackwardPlan(parameterGradients: true, training: true))
        let ce = try CrossEntropy.evaluate(logits: record.outputs, targets: labels)
        let grads = try program.backward(record, gradOutput: ce.gradient, input: false)
        var parameters = model.parameters
        try optimizer.step(
            parameters: &parameters, gradients: grads.parameters.filter { trained.contains($0.key) },
            learningRate: learningRate)
        for (name, value) in record.updatedStatistics { parameters[name] = value }
        model = try ResNet(configuration: model.configuration, parameters: parameters, labels: model.labels)
        return ce
    }
}

/// Row-major features `[N, width]`.
struct FeatureMatrix {
    let width: Int
    let values: [Float]

    func rows(_ indices: [Int]) -> Tensor<Float> {
        var out = [Float]()
        out.reserveCapacity(indices.count * width)
        for i in indices { out.append(contentsOf: values[i * width..<(i + 1) * width]) }
        return Tensor(uncheckedShape: [indices.count, width], storage: out)
    }
}

/// Running loss and accuracy over an epoch.
struct Meter {
    var lossSum = 0.0
    var correct = 0
    var count = 0

    mutating func add(loss: Double, predictions: [Int], labels: [Int]) {
        lossSum += loss * Double(labels.count)
        correct += zip(predictions, labels).filter { $0 == $1 }.count
        count += labels.count
    }

    var loss: Double { count == 0 ? 0 : lossSum / Double(count) }
    var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
}
