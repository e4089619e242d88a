import Foundation
import LeafLensAttribution
import LeafLensMath

/// `explain --data/--list` as library code: one shard of a data set through the same `ExplanationJob` as
/// single inputs, each image's files under `OUT/<relative folder>/<stem>.*`, one record per image.
///
/// What runs batched: the classification (the forward pass that gives the prediction, the top-5 and the
/// default target) takes up to `batchSize` images at once. The attribution methods run per image, as
/// `Explainer.explain` does for single inputs, with their own batching inside an image (Integrated
/// Gradients' `internalBatchSize` scaled inputs per pass, Occlusion's `perturbationsPerEval`); the targets of
/// a batch differ per image and the methods' outputs are written per image, so batching them across images
/// would save little beyond the classification.
public struct DataSetExplanation {
    public var job: ExplanationJob
    public var methods: [AttributionMethod]
    /// The output folder OUT.
    public var output: URL
    /// The class explained for every image (nil: each image's predicted class).
    public var target: Int?
    /// Images classified in one forward pass.
    public var batchSize: Int
    /// Most probable classes kept in each record.
    public static let topCount = 5

    public init(job: ExplanationJob, methods: [AttributionMethod], output: URL, target: Int? = nil, batchSize: Int = 8)
    {
        self.job = job
        self.methods = methods
        self.output = output
        self.target = target
        self.batchSize = batchSize
    }

    /// One image loaded and classified.
    public struct Prepared: Sendable {
        public var input: LoadedInput
        /// Every class, best first.
        public var ranking: [Prediction]
    }

    /// The run of `shard` over `items` (the model's labels as the report's classes).
    public func shardRun(items: [DataSetItem], shard: Shard) -> DataSetRun {
        DataSetRun(
            items: items, output: output, shard: shard, classes: job.explainer.labels, methods: methods.map(\.rawValue))
    }

    /// Runs one shard. `progress` hears every finished image; `methodProgress(label)` gives the callback
    /// for one method on one image (nil for none); `warning` hears problems that do not stop an image.
    public func run(
        _ run: DataSetRun, progress: ((DataSetProgress) -> Void)? = nil,
        methodProgress: (_ label: String) -> AttributionProgress? = { _ in nil },
        warning: (String) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws(DataSetError) -> DataSetRunSummary {
        try run.run(
            batchSize: batchSize, prepare: prepare,
            explain: { item, prepared in try explain(item, prepared, progress: methodProgress, warning: warning) },
            progress: progress, shouldStop: shouldStop)
    }

    /// Loads `items` and classifies the ones that loaded, one forward pass per input shape (images all
    /// share the crop; `.npy` inputs may not). One result per item, in order.
    public func prepare(_ items: [DataSetItem]) -> [Result<Prepared, any Error>] {
        var results: [Result<Prepared, any Error>] = []
        var loaded: [(index: Int, input: LoadedInput)] = []
        for (index, item) in items.enumerated() {
            do {
                loaded.append((index, try job.loader.load(item.url.path)))
                results.append(.failure(PipelineError("\(item.url.path): not classified")))  // replaced below
            } catch { results.append(.failure(error)) }
        }
        var groups: [[Int]: [(index: Int, input: LoadedInput)]] = [:]
        for entry in loaded { groups[entry.input.tensor.shape, default: []].append(entry) }
        for (_, group) in groups.sorted(by: { $0.value[0].index < $1.value[0].index }) {
            do {
                let rankings = try job.explainer.predictions(batch: group.map(\.input))
                for (entry, ranking) in zip(group, rankings) {
                    results[entry.index] = .success(Prepared(input: entry.input, ranking: ranking))
                }
            } catch {
                for entry in group { results[entry.index] = .failure(error) }
            }
        }
        return results
    }

    /// Explains one prepared image, writes its files (all or none) and returns what its record holds.
    public func explain(
        _ item: DataSetItem, _ prepared: Prepared,
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }, warning: (String) -> Void = { _ in }
    ) throws -> DataSetOutcome {
        if let target, target >= job.explainer.classCount {
            throw PipelineError("--target \(target) is outside the model's classes 0...\(job.explainer.classCount - 1)")
        }
        let set = try job.run(
            prepared.input, ranking: prepared.ranking, methods: methods, target: target, progress: progress,
            warning: warning)
        let stem = item.outputStem(in: output)
        let folder = stem.deletingLastPathComponent()
        try set.files.commit(into: folder)

        // Files relative to OUT: the image's relative folder, then the names the job chose.
        let relativeFolder = (item.relativePath as NSString).deletingLastPathComponent
        func relative(_ name: String) -> String { relativeFolder.isEmpty ? name : relativeFolder + "/" + name }
        let names = set.files.entries.map(\.name)
        let fileStem = InputLoader.stem(prepared.input.path)
        var claimed = Set<String>()
        var results: [String: ShardRecord.MethodResult] = [:]
        for (method, record) in zip(methods, set.records) {
            let prefix = "\(fileStem).\(method.rawValue)."
            let mine = names.filter { $0.hasPrefix(prefix) && !claimed.contains($0) }
            claimed.formUnion(mine)
            let parameters: [String: JSONValue]
            do { parameters = try JSONValue.object(record.parameters) } catch {
                throw PipelineError("\(item.url.path): \(method.rawValue): cannot record the parameters (\(error))")
            }
            // Faithfulness scores (explain --metrics) by their JSON keys, the ones that were computed.
            let metrics = record.metrics.map { scores in
                Dictionary(
                    uniqueKeysWithValues: FaithfulnessScores.keys.compactMap { key in scores[key].map { (key, $0) } })
            }
            results[method.rawValue] = ShardRecord.MethodResult(
                files: mine.map(relative), parameters: parameters, metrics: metrics,
                convergenceDelta: record.convergenceDelta, seconds: record.wallTimeSeconds)
        }
        let shared = names.filter { !claimed.contains($0) }.map(relative)
        func score(_ p: Prediction) -> ShardRecord.Prediction {
            .init(index: p.index, label: p.label, probability: p.probability)
        }
        return DataSetOutcome(
            prediction: score(set.predicted), top: prepared.ranking.prefix(Self.topCount).map(score), methods: results,
            files: shared)
    }
}

extension Explainer {
    /// The model's logits for several inputs of one shape (each `[1, 3, H, W]`) in one forward pass, each
    /// ranked. Same function as `predictions(_:)` per image; the batched convolution may round differently
    /// in the last bits, so probabilities can differ from a one-image pass by a few ulps.
    public func predictions(batch inputs: [LoadedInput]) throws -> [[Prediction]] {
        guard let first = inputs.first else { return [] }
        guard inputs.count > 1 else { return [try predictions(first)] }
        let shape = first.tensor.shape
        var storage: [Float] = []
        storage.reserveCapacity(inputs.count * first.tensor.storage.count)
        for input in inputs {
            guard input.tensor.shape == shape else {
                throw PipelineError("\(input.path): shape \(input.tensor.shape) differs from the batch's \(shape)")
            }
            storage += input.tensor.storage
        }
        let batch = try Tensor(shape: [inputs.count] + shape.dropFirst(), storage: storage)
        let logits = try classifier.outputs(batch)
        let classes = classifier.classCount
        guard logits.storage.count == inputs.count * classes else {
            throw PipelineError("the model returned \(logits.shape) logits for a batch of \(inputs.count)")
        }
        return (0..<inputs.count).map { i in
            Prediction.rank(
                logits: Array(logits.storage[i * classes..<(i + 1) * classes]), labels: classifier.labels, top: classes)
        }
    }
}
