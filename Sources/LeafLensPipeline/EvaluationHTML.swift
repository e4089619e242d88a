import Foundation
import LeafLensAttribution
import LeafLensMath

/// `evaluation.html`: one self-contained page (inline SVG, no script) answering "which explanation
/// method is most faithful for my model" — the averaged deletion/insertion curves per method, the
/// method × metric table (mean and bootstrap interval, the best method per metric in bold), per-class
/// means, the images where the methods disagree most, and the model-randomization curves.
public enum EvaluationHTML {
    public static let fileName = "evaluation.html"

    /// Whether the report has anything the page shows beyond accuracy.
    public static func applies(to report: EvaluationReport) -> Bool {
        report.faithfulness != nil || report.randomizationCurves != nil || report.leafBackground != nil
    }

    /// - pictures: thumbnails of the images where the methods disagree most
    ///   (`ExplanationScoring.faithfulnessWithPictures`); without them those images are listed in a table.
    public static func render(_ report: EvaluationReport, pictures: [DisagreementPicture] = []) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>LeafLens evaluation</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}\
            td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}\
            td.best{font-weight:bold;background:#e8f4e8}figure{display:inline-block;margin:0 1em 1em 0}\
            .note{color:#555;font-size:90%}\(disagreementStyle)</style></head><body>
            <h1>LeafLens evaluation</h1>

            """
        html += "<p>\(report.images) images, accuracy \(SVGChart.number(report.accuracy * 100, digits: 2))%, "
        html += "loss \(SVGChart.number(report.loss, digits: 4)).</p>\n"
        if let shares = report.leafBackground, !shares.isEmpty { html += leafBackground(shares) }
        if let summary = report.faithfulness { html += faithfulness(summary, pictures: pictures) }
        if let curves = report.randomizationCurves, !curves.isEmpty { html += randomization(curves) }
        return html + "</body></html>\n"
    }

    static func faithfulness(_ s: DatasetSummary, pictures: [DisagreementPicture] = []) -> String {
        let methods = s.overall.keys.sorted()
        let keys = FaithfulnessScores.keys.filter { k in methods.contains { s.overall[$0]?[k] != nil } }
        var html = "<h2>Faithfulness</h2>\n"
        let del = methods.compactMap { m in s.meanDeletionCurve[m].map { (m, $0) } }
        let ins = methods.compactMap { m in s.meanInsertionCurve[m].map { (m, $0) } }
        if !del.isEmpty {
            html += SVGChart.lines(
                title: "Mean deletion curve (lower is better)", xLabel: "fraction of pixels deleted",
                yLabel: "probability", series: del, xValues: nil)
        }
        if !ins.isEmpty {
            html += SVGChart.lines(
                title: "Mean insertion curve (higher is better)", xLabel: "fraction of pixels inserted",
                yLabel: "probability", series: ins, xValues: nil)
        }
        let level = Int((s.confidenceLevel * 100).rounded())
        html += "<p class=\"note\">Mean over images with a \(level)% percentile-bootstrap interval "
        html +=
            "(\(s.bootstrapResamples) resamples, seed \(s.seed)); ↑ higher is better, ↓ lower; bold: best method.</p>\n"
        html += table(methods: methods, keys: keys, values: s.overall, best: s.best)
        for label in s.perClass.keys.sorted() {
            guard let perMethod = s.perClass[label] else { continue }
            html += "<h3>Class \(SVGChart.escape(label))</h3>\n"
            html += table(methods: perMethod.keys.sorted(), keys: keys, values: perMethod, best: [:])
        }
        html += disagreements(s.disagreements, pictures: pictures)
        return html
    }

    static func table(
        methods: [String], keys: [String], values: [String: [String: MeanInterval]],
        best: [String: String]
    ) -> String {
        var html = "<table><tr><th>method</th>"
        html += keys.map { "<th>\($0) \(FaithfulnessScores.higherIsBetter($0) ? "↑" : "↓")</th>" }.joined() + "</tr>\n"
        for m in methods {
            html += "<tr><td>\(SVGChart.escape(m))</td>"
            for k in keys {
                let cls = best[k] == m ? " class=\"best\"" : ""
                if let v = values[m]?[k] {
                    html += "<td\(cls)>\(SVGChart.number(v.mean, digits: 4)) "
                    html +=
                        "<span class=\"note\">[\(SVGChart.number(v.low, digits: 4)), \(SVGChart.number(v.high, digits: 4))]</span></td>"
                } else {
                    html += "<td>–</td>"
                }
            }
            html += "</tr>\n"
        }
        return html + "</table>\n"
    }

    static func leafBackground(_ shares: [LeafBackgroundScore]) -> String {
        var html = "<h2>Leaf versus background</h2>\n<table><tr><th>method</th><th>images</th>"
        html += "<th>positive mass on leaf</th><th>|a| on leaf</th><th>maximum on background</th></tr>\n"
        for s in shares {
            html += "<tr><td>\(SVGChart.escape(s.method))</td><td>\(s.images)</td>"
            html +=
                [s.leafPositiveShare, s.leafAbsoluteShare, s.maximumOnBackground]
                .map { "<td>\(SVGChart.number($0 * 100, digits: 1))%</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }

    static func randomization(_ curves: [RandomizationCurve]) -> String {
        var html = "<h2>Model randomization (Adebayo et al. 2018)</h2>\n"
        html += "<p class=\"note\">Spearman ρ between the trained model's signed map and the map after re-initialising "
        html += "blocks: cascading from the output (fc) to the input (conv1), and one block at a time. A method that "
        html += "depends on the learned weights falls toward 0.</p>\n"
        for (title, pick) in [
            ("Cascading randomization", \RandomizationCurve.cascading),
            ("Independent randomization", \RandomizationCurve.independent),
        ] {
            let series = curves.map { ($0.method, $0[keyPath: pick]) }.filter { !$0.1.isEmpty }
            guard let stages = curves.first?.stages, !series.isEmpty else { continue }
            html += SVGChart.lines(
                title: title, xLabel: "randomized block", yLabel: "Spearman ρ", series: series,
                xValues: stages)
        }
        return html
    }

    /// Writes `evaluation.html` into `directory` atomically.
    public static func write(_ report: EvaluationReport, pictures: [DisagreementPicture] = [], to directory: URL) throws
    {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicWrite.write(
                Data(render(report, pictures: pictures).utf8), to: directory.appendingPathComponent(fileName))
        } catch {
            throw PipelineError("\(directory.path): cannot write \(fileName) (\(error))")
        }
    }
}
