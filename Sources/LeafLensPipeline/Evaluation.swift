import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTraining

/// What `evaluate` prints (`--json`) and writes to `metrics.json` (keys on disk: snake_case).
public struct EvaluationReport: Codable, Sendable {
    public var images: Int
    public var accuracy: Double
    public var loss: Double
    public var classes: [ConfusionMatrix.ClassMetrics]
    public var confusion: [[Int]]
    public var labels: [String]
    public var explanations: [ExplanationScore]?
    public var sanityCheck: SanityCheckReport?
    /// `evaluate --metrics` (issue 13): per method and metric, mean and bootstrap interval.
    public var faithfulness: DatasetSummary?
    /// `evaluate --sanity-check`: cascading and independent randomization curves per method.
    public var randomizationCurves: [RandomizationCurve]?
    /// `evaluate --mask-kind leaf`: attribution on the leaf vs the background per method.
    public var leafBackground: [LeafBackgroundScore]?
}

/// `evaluate` as library code: the model over an ImageFolder data set in evaluation mode, the
/// confusion matrix, its files, and (through `ExplanationScoring`) the explanation scores.
public struct Evaluation {
    public var model: LoadedModel
    public var dataset: ImageFolder
    /// Data set class index → model class index (`classMap(dataset:model:)`).
    public var classMap: [Int]
    public var size: InputSize

    /// Opens the data set at `data` and matches its class folders to the model's labels; `warning`
    /// hears when they are matched by position.
    public init(model: LoadedModel, data: String, size: InputSize, warning: (String) -> Void = { _ in }) throws {
        self.model = model
        self.size = size
        do { dataset = try ImageFolder(root: URL(fileURLWithPath: data)) } catch { throw PipelineError("\(error)") }
        for entry in dataset.skipped { warning("skipped \(entry)") }
        classMap = try Self.classMap(dataset: dataset.classes, model: model.labels, warning: warning)
    }

    /// Data set class index → model class index: by name when every folder names a model label, else by
    /// position when the counts agree.
    public static func classMap(
        dataset: [String], model: [String], warning: (String) -> Void = { _ in }
    ) throws
        -> [Int]
    {
        let byName = dataset.compactMap { model.firstIndex(of: $0) }
        if byName.count == dataset.count { return byName }
        if dataset.count == model.count {
            warning("warning: class folders do not match the model's labels; matching by position")
            return Array(dataset.indices)
        }
        let missing = dataset.filter { !model.contains($0) }
        throw PipelineError(
            "class folders \(missing.prefix(5).joined(separator: ", ")) are not among the model's \(model.count) labels"
        )
    }

    var transform: ImageTransform { size.evaluationTransform }

    /// The model over every image: accuracy, loss, per-class metrics and the confusion matrix.
    /// `progress(done, total)` counts batches.
    public func run(
        batchSize: Int, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws
        -> (report: EvaluationReport, confusion: ConfusionMatrix)
    {
        let result: ModelEvaluation.Result
        do {
            result = try ModelEvaluation.run(
                model: model.network, dataset: dataset, transform: transform, batchSize: batchSize, classMap: classMap,
                progress: progress)
        } catch {
            throw PipelineError("\(error)")
        }
        var confusion = ConfusionMatrix(labels: model.labels)
        for (truth, prediction) in zip(result.targets, result.predictions) {
            confusion.add(truth: truth, prediction: prediction)
        }
        let report = EvaluationReport(
            images: confusion.total, accuracy: confusion.accuracy, loss: result.loss, classes: confusion.perClass,
            confusion: confusion.counts, labels: model.labels, explanations: nil, sanityCheck: nil)
        return (report, confusion)
    }

    /// The scorer for explanations on this data set.
    public func scoring(_ settings: ScoringSettings) -> ExplanationScoring {
        ExplanationScoring(model: model, dataset: dataset, classMap: classMap, size: size, settings: settings)
    }

    /// Writes `confusion.csv`, `confusion.png` and `metrics.json` into `directory` (created if needed).
    public static func write(_ report: EvaluationReport, confusion: ConfusionMatrix, to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicWrite.write(Data(confusion.csv.utf8), to: directory.appendingPathComponent("confusion.csv"))
            try PNGWriter.write(ConfusionImage.render(confusion), to: directory.appendingPathComponent("confusion.png"))
            try AtomicWrite.write(
                Data((try ReportJSON.line(report) + "\n").utf8), to: directory.appendingPathComponent("metrics.json"))
        } catch {
            throw PipelineError("\(directory.path): cannot write the evaluation files (\(error))")
        }
    }
}
