import Foundation
import LeafLensAttribution
import LeafLensMath

public typealias FaithfulnessMetric = LeafLensAttribution.FaithfulnessMetric
public typealias FaithfulnessScores = LeafLensAttribution.FaithfulnessScores
public typealias FaithfulnessOptions = LeafLensAttribution.FaithfulnessOptions
public typealias CausalCurves = LeafLensAttribution.CausalCurves
public typealias MetricError = LeafLensAttribution.MetricError
public typealias DatasetSummary = LeafLensAttribution.DatasetSummary

/// Which faithfulness metrics `explain` and `evaluate` compute (issue 13), and with which options.
public struct MetricSettings: Sendable {
    /// In `FaithfulnessMetric.allCases` order; empty = no metrics.
    public var metrics: [FaithfulnessMetric] = []
    /// The reference defaults (`FaithfulnessOptions`); the CLI sets step, ROAD noise, infidelity σ, seed.
    public var options = FaithfulnessOptions()

    public init(metrics: [FaithfulnessMetric] = [], options: FaithfulnessOptions = FaithfulnessOptions()) {
        self.metrics = metrics
        self.options = options
    }
}

extension Explainer {
    /// The faithfulness scores and deletion/insertion curves of one explanation.
    ///
    /// Pixels are ranked by `explanation.displayed` (channel-summed signed attribution; for CAM methods
    /// the map upsampled to the input, as the issue asks), so infidelity, which needs attributions
    /// shaped like the image, is skipped (absent) for CAM maps. Sensitivity re-runs the same method,
    /// with the same settings and target, on each perturbed input and compares the stored attributions.
    public func faithfulness(
        of explanation: Explanation, input: LoadedInput, target: Int, settings: MetricSettings
    ) throws -> (scores: FaithfulnessScores, curves: CausalCurves) {
        let shown = explanation.displayed
        let attribution = try shown.reshaped(shown.rank == 2 ? [1, 1] + shown.shape : [1] + shown.shape)
        let method = explanation.method
        let rerun: (Tensor<Float>) throws -> Tensor<Float> = { batch in
            let k = batch.shape[0]
            let per = batch.storage.count / max(k, 1)
            var storage: [Float] = []
            var itemShape: [Int] = []
            for i in 0..<k {
                var item = input
                item.tensor = Tensor(
                    uncheckedShape: [1] + Array(batch.shape.dropFirst()),
                    storage: Array(batch.storage[(i * per)..<((i + 1) * per)]))
                let a = try self.explain(method, input: item, target: target).attributions
                itemShape = a.shape
                storage += a.storage
            }
            return Tensor(uncheckedShape: [k] + itemShape, storage: storage)
        }
        do {
            return try FaithfulnessEvaluator.evaluate(
                model: classifier, image: input.tensor, target: target, attribution: attribution,
                metrics: settings.metrics, options: settings.options, explain: rerun, method: method.rawValue)
        } catch let error as MetricError {
            throw PipelineError("\(input.path): \(method.rawValue): metrics: \(error)")
        }
    }
}

extension ExplanationJob {
    /// The one hook `run` calls per method: fills `record.metrics` and adds `<stem>.<method>.curves.json`
    /// to the input's file set (so it is written with the others, or not at all). No-op without metrics.
    func addMetrics(
        _ explanation: Explanation, input: LoadedInput, target: Int, stem: String,
        record: inout ExplanationRecord, files: inout PendingFiles
    ) throws -> CausalCurves? {
        guard let metrics, !metrics.metrics.isEmpty else { return nil }
        let (scores, curves) = try explainer.faithfulness(
            of: explanation, input: input, target: target, settings: metrics)
        record.metrics = scores
        if curves.deletion != nil || curves.insertion != nil {
            files.add(CausalCurves.fileName(stem: stem, method: explanation.method.rawValue), try curves.jsonData())
        }
        return curves
    }
}

/// The metrics table and a small deletion/insertion chart, appended to the per-image HTML report
/// (kept apart from `HTMLReport`, which another part of the project draws).
enum MetricsReportSection {
    struct Entry {
        var method: String
        var scores: FaithfulnessScores
        var curves: CausalCurves?
    }

    static func html(_ entries: [Entry]) -> String {
        let keys = FaithfulnessScores.keys.filter { key in entries.contains { $0.scores[key] != nil } }
        guard !keys.isEmpty else { return "" }
        var html = "<section class=\"metrics\">\n<h2>Faithfulness metrics</h2>\n<table>\n<tr><th>method</th>"
        html += keys.map { "<th>\($0)\(FaithfulnessScores.higherIsBetter($0) ? " ↑" : " ↓")</th>" }.joined()
        html += "</tr>\n"
        for entry in entries {
            html += "<tr><td>\(SVGChart.escape(entry.method))</td>"
            html += keys.map { "<td>\(entry.scores[$0].map { SVGChart.number($0, digits: 4) } ?? "–")</td>" }.joined()
            html += "</tr>\n"
        }
        html += "</table>\n"
        for (title, pick) in [("Deletion", \CausalCurves.deletion), ("Insertion", \CausalCurves.insertion)] {
            let series = entries.compactMap { e in e.curves?[keyPath: pick].map { (e.method, $0.scores) } }
            if series.isEmpty { continue }
            html += SVGChart.lines(
                title: "\(title) curve", xLabel: "fraction of pixels", yLabel: "probability", series: series,
                xValues: nil)
        }
        return html + "</section>\n"
    }

    /// `page` with `section` inserted before `</body>` (appended when there is none).
    static func insert(_ section: String, into page: String) -> String {
        guard !section.isEmpty else { return page }
        guard let range = page.range(of: "</body>", options: .backwards) else { return page + section }
        return page.replacingCharacters(in: range, with: section + "</body>")
    }
}
