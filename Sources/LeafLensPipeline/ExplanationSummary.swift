import Foundation
import LeafLensAttribution
import LeafLensImaging

/// What `explain` writes when several methods ran on one input: `<stem>.panel.png` (the input, then
/// each method's overlay, titled) and `<stem>.report.html` (a self-contained page).
struct ExplanationSummary {
    struct Method {
        var explanation: Explanation
        var sign: AttributionSign
        var overlay: RGBImage
        var heatMapPNG: Data
        var overlayPNG: Data
        var blank: Bool
        /// The pictures as drawn with `RenderingSettings` (colour bar, views, warnings).
        var drawing: MethodDrawing? = nil
        var reduced: ReducedAttribution? = nil
        /// `--metrics`: the method's faithfulness scores (listed with its parameters in the report).
        var metrics: FaithfulnessScores? = nil
    }

    var input: LoadedInput
    var predicted: Prediction
    var target: Prediction
    /// Every class, most probable first.
    var ranking: [Prediction]
    var weights: String
    var methods: [Method]

    /// Original first, then one overlay per method; each titled, with the predicted class (and the
    /// target when it differs) as the subtitle.
    func panelPNG() throws -> Data {
        let predictedText = "\(predicted.label) \(Self.percent(predicted.probability))"
        var columns = [Panel.Column(title: "Input", subtitle: predictedText, image: input.displayImage)]
        let subtitle =
            target.index == predicted.index
            ? predictedText : "target \(target.label) \(Self.percent(target.probability))"
        for method in methods {
            columns.append(
                Panel.Column(title: method.explanation.method.title, subtitle: subtitle, image: method.overlay))
        }
        return try PNGWriter.encode(try Panel.render(columns: columns))
    }

    func report() throws -> HTMLReport {
        let reportMethods = methods.map { method in
            var notes: [String] = []
            if method.blank { notes.append("The attributions normalize to nothing; the heat map is blank.") }
            return HTMLReport.Method(
                name: method.explanation.method.rawValue, heatMapPNG: method.heatMapPNG, overlayPNG: method.overlayPNG,
                parameters: method.explanation.parameters.displayPairs + [
                    ("sign", method.sign.rawValue),
                    (
                        "attribution shape",
                        method.explanation.attributions.shape.map(String.init).joined(separator: "×")
                    ),
                ],
                convergenceDelta: method.explanation.convergenceDelta, seconds: method.explanation.seconds, notes: notes
            )
        }
        let size = input.tensor.shape.dropFirst(2).map(String.init).joined(separator: "×")
        return HTMLReport(
            inputName: input.path, originalPNG: try PNGWriter.encode(input.displayImage),
            predictions: ranking.map { (label: "\($0.label) (\($0.index))", probability: $0.probability) },
            methods: reportMethods,
            details: [
                ("model", weights),
                ("predicted", "\(predicted.label) (\(predicted.index)), \(Self.percent(predicted.probability))"),
                ("target", "\(target.label) (\(target.index)), \(Self.percent(target.probability))"),
                ("input", "\(input.kind.rawValue), \(size) after preprocessing"),
            ])
    }

    /// "92.73%", with a "." whatever the locale.
    public static func percent(_ probability: Double) -> String {
        String(format: "%.2f%%", locale: Locale(identifier: "en_US_POSIX"), probability * 100)
    }
}

extension MethodParameters {
    /// The parameters that apply, as (name, value) text for reports.
    var displayPairs: [(String, String)] {
        func list(_ values: [Int]?) -> String? { values.map { $0.map(String.init).joined(separator: "×") } }
        let pairs: [(String, String?)] = [
            ("steps", steps.map(String.init)), ("approximation", approximation), ("baseline", baseline),
            ("blur sigma", blurSigma.map { "\($0)" }), ("noise seed", noiseSeed.map(String.init)),
            ("noise range", noiseRange.map { $0.map { String(format: "%.4f", $0) }.joined(separator: " to ") }),
            ("internal batch size", internalBatchSize.map(String.init)),
            ("step search", stepSearch?.summary),
            ("layer", layer), ("relu", relu.map { $0 ? "on" : "off" }), ("upsample", upsample),
            ("layer resolution", list(layerShape)),
            ("window", list(window)), ("strides", list(strides)),
            ("occlusion baseline", occlusionBaseline.map { "\($0)" }),
            ("perturbations per eval", perturbationsPerEval.map(String.init)),
            ("occlusion approximation", occlusionApproximation?.summary),
            ("absolute value", absolute.map { $0 ? "yes" : "no" }),
        ]
        return (pairs + camAndSegmentPairs).compactMap { name, value in value.map { (name, $0) } }
            + gradientDisplayPairs
    }
}
