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
        guard let topK else {
            return try run(path, methods: methods, target: target, progress: progress, warning: warning)
        }
        let computed = try compute(path, methods: methods, target: target, topK: topK, progress: progress)
        return try withSharedScales(over: computed).render(computed, warning: warning)
    }
}
