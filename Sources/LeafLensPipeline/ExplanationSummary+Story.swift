import Foundation
import LeafLensImaging

/// The readable panel (`ExplanationPanel`) and the report's story (colour bars, views, warnings, the
/// side-by-side row on one scale) for `explain` with several methods.
extension ExplanationSummary {
    /// The input enlarged to ≥ 224 px with the top-3 predictions, then each method's overlay with its
    /// full name, its colour bar (unless `--colorbar off`) and its warnings.
    func readablePanelPNG(rendering: RenderingSettings) throws -> Data {
        let columns = methods.map { method in
            ExplanationPanel.Column(
                title: method.explanation.method.title, image: method.overlay,
                colorBar: rendering.colorBarInSummaries ? method.drawing?.colorBar : nil,
                notes: method.drawing?.warnings.map(\.description) ?? [])
        }
        let panel = ExplanationPanel(
            input: input.displayImage,
            predictions: ranking.map { ExplanationPanel.Prediction(label: $0.label, probability: $0.probability) },
            columns: columns)
        return try PNGWriter.encode(try panel.render().image)
    }

    /// `report()` with each method's full name, colour bar, further views and warnings, and a row of
    /// every method's heat map on one scale fitted over all of them.
    func storyReport(_ visualization: VisualizationSettings) throws -> HTMLReport {
        var report = try self.report()
        let rendering = visualization.rendering
        for (index, method) in methods.enumerated() where index < report.methods.count {
            guard let drawing = method.drawing else { continue }
            report.methods[index].fullName = method.explanation.method.title
            if rendering.colorBarInSummaries { report.methods[index].colorBar = drawing.colorBar }
            report.methods[index].extraViews = drawing.extraViews.map { (caption: $0.0, png: $0.1) }
            report.methods[index].notes = drawing.warnings.map(\.description)
            report.methods[index].parameters.append(
                (
                    name: "style",
                    value: "\(drawing.options.style.rawValue), \(drawing.options.overlayBase.rawValue) base"
                ))
            report.methods[index].parameters.append(
                (
                    name: "scale",
                    value: drawing.options.normalizationText(
                        sharedMapCount: drawing.scale.mapCount > 1 ? drawing.scale.mapCount : nil)
                ))
        }
        for (index, method) in methods.enumerated() where index < report.methods.count {
            guard let scores = method.metrics else { continue }
            // The method's own scores beside its parameters; the curves are drawn in the metrics section.
            for key in FaithfulnessScores.keys {
                guard let value = scores[key] else { continue }
                let arrow = FaithfulnessScores.higherIsBetter(key) ? "↑" : "↓"
                report.methods[index].parameters.append(
                    (name: "\(key) \(arrow)", value: SVGChart.number(value, digits: 4)))
            }
        }
        report.comparison = try comparison(visualization)
        report.inputCaption = "Input as the model sees it (\(input.displayImage.width)×\(input.displayImage.height) px)"
        return report
    }

    /// Every method's heat map on one scale (Captum's look, so one bar fits all). Methods drawn with
    /// different signs are compared as absolute values, and the row says so; units that disagree are
    /// said too.
    func comparison(_ visualization: VisualizationSettings) throws -> HTMLReport.Comparison? {
        let reduced = methods.compactMap(\.reduced)
        guard reduced.count == methods.count, reduced.count > 1 else { return nil }
        let signs = Set(methods.map(\.sign))
        let sign = signs.count == 1 ? methods[0].sign : .absoluteValue
        let normalization = visualization.rendering.normalization
        let colormap = visualization.colormap.flatMap(Colormap.named)
        let scale = try AttributionScale.fit(
            reduced, sign: sign, normalization: normalization, outlierPercent: visualization.outlierPercent)
        var notes: [String] = []
        if signs.count > 1 { notes.append("The methods use different signs; this row shows absolute values.") }
        if !scale.unitsAgree {
            notes.append(Self.unitsNote(zip(methods, reduced).map { ($0.explanation.method.title, $1.unit) }))
        }
        var items: [(String, Data)] = []
        for (method, map) in zip(methods, reduced) {
            let drawn = scale.apply(map).map
            items.append((method.explanation.method.title, try PNGWriter.encode(drawn.heatMap(colormap: colormap))))
        }
        var options = RenderingOptions(normalization: normalization, outlierPercent: visualization.outlierPercent)
        options.scale = .perImage
        let bar = AttributionRenderer.colorBar(scale: scale, style: .captum, options: options, colormap: colormap)
        return HTMLReport.Comparison(items: items, colorBar: bar, notes: notes)
    }

    /// "The methods' units differ: gradient (Saliency); model output (Integrated Gradients, Occlusion).
    /// Read this row for where, not how much." — each unit once, with the methods measured in it.
    static func unitsNote(_ methods: [(title: String, unit: String?)]) -> String {
        var units: [String] = []
        var titles: [String: [String]] = [:]
        for (title, unit) in methods {
            let unit = unit ?? "unknown unit"
            if titles[unit] == nil { units.append(unit) }
            titles[unit, default: []].append(title)
        }
        let groups = units.map { "\($0) (\(titles[$0, default: []].joined(separator: ", ")))" }
        return "The methods' units differ: \(groups.joined(separator: "; ")). Read this row for where, not how much."
    }
}
