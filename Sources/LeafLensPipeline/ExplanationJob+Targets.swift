import Foundation
import LeafLensAttribution

extension ExplanationJob {
    /// Explains the input at `path` for `target` (nil: the predicted class), or, with `topK`, for each of
    /// its K most probable classes: files `<stem>.<method>.top<k>.*` (and `<stem>.top<k>.panel.png`,
    /// `.report.html`), k = 1 the most probable, so the K runs never collide. The file set holds every
    /// run's files; its `target` is the first class explained.
    public func run(
        _ path: String, methods: [AttributionMethod], target: Int?, topK: Int?,
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }, warning: (String) -> Void = { _ in }
    ) throws -> ExplanationFileSet {
        guard let topK else { return try run(path, methods: methods, target: target, progress: progress, warning: warning) }
        let ranking = try explainer.predictions(try loader.load(path))
        guard topK >= 1, topK <= ranking.count else {
            throw PipelineError("--targets top:\(topK) needs 1...\(ranking.count) classes")
        }
        var merged: ExplanationFileSet?
        for (k, prediction) in ranking.prefix(topK).enumerated() {
            let result = try run(
                path, methods: methods, target: prediction.index, fileSuffix: ".top\(k + 1)", progress: progress,
                warning: warning)
            if merged == nil {
                merged = result
            } else {
                for entry in result.files.entries { merged?.files.add(entry.name, entry.data) }
            }
        }
        guard let merged else { throw PipelineError("\(path): no class to explain") }
        return merged
    }
}
