import Foundation
import LeafLensMath

/// A single self-contained HTML page explaining one prediction: the input, the top-5 predictions as
/// bars, and one section per attribution method with its heat map, overlay, parameters, convergence
/// delta and time.
///
/// Self-contained means the file can be mailed or archived alone: pictures are embedded as
/// `data:image/png;base64,…` URIs, CSS is inline, and there are no scripts, fonts or links to fetch.
/// All text (labels such as `Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot`, file names,
/// parameters) is HTML-escaped. Output is deterministic: the same report renders the same bytes.
public struct HTMLReport: Sendable {
    public struct Method: Sendable {
        /// Shown as the section heading, e.g. "integrated-gradients".
        public var name: String
        public var heatMapPNG: Data
        public var overlayPNG: Data
        /// Shown in order as a two-column table (e.g. ("steps", "50"), ("baseline", "zeros")).
        public var parameters: [(name: String, value: String)]
        /// Integrated Gradients' completeness error, when the method has one.
        public var convergenceDelta: Double?
        /// Wall-clock time of the attribution, in seconds.
        public var seconds: Double
        /// Warnings to show under the pictures (e.g. "the map normalizes to nothing").
        public var notes: [String]

        public init(
            name: String, heatMapPNG: Data, overlayPNG: Data, parameters: [(String, String)] = [],
            convergenceDelta: Double? = nil, seconds: Double, notes: [String] = []
        ) {
            self.name = name
            self.heatMapPNG = heatMapPNG
            self.overlayPNG = overlayPNG
            self.parameters = parameters.map { (name: $0.0, value: $0.1) }
            self.convergenceDelta = convergenceDelta
            self.seconds = seconds
            self.notes = notes
        }
    }

    /// How many predictions the page lists.
    public static let predictionCount = 5

    public var title: String
    public var inputName: String
    /// The picture the methods explain (usually the preprocessed, cropped input), as PNG.
    public var originalPNG: Data
    /// Class probabilities; the page shows the `predictionCount` most probable, highest first.
    public var predictions: [(label: String, probability: Double)]
    public var methods: [Method]
    /// Extra facts shown under the input (model, target class, image size, …).
    public var details: [(name: String, value: String)]

    public init(
        title: String = "LeafLens explanation", inputName: String, originalPNG: Data,
        predictions: [(label: String, probability: Double)], methods: [Method], details: [(String, String)] = []
    ) {
        self.title = title
        self.inputName = inputName
        self.originalPNG = originalPNG
        self.predictions = predictions
        self.methods = methods
        self.details = details.map { (name: $0.0, value: $0.1) }
    }

    /// The predictions listed: highest probability first (NaN last), ties in their given order.
    public var topPredictions: [(label: String, probability: Double)] {
        let ordered = predictions.enumerated().sorted { a, b in
            let pa = a.element.probability.isNaN ? -Double.infinity : a.element.probability
            let pb = b.element.probability.isNaN ? -Double.infinity : b.element.probability
            return pa != pb ? pa > pb : a.offset < b.offset
        }
        return ordered.prefix(Self.predictionCount).map(\.element)
    }

    /// Writes the page atomically (temporary file, then rename): a reader never sees half a page and a
    /// failed write leaves any previous file in place.
    public func write(to url: URL) throws(ImageError) {
        do {
            try AtomicWrite.write(Data(render().utf8), to: url)
        } catch {
            throw ImageError(source: error.file, problem: .io(error.problem))
        }
    }

    public func render() -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title)) — \(Self.escape(inputName))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <header>
            <h1>\(Self.escape(title))</h1>
            <p class="input">Input: <code>\(Self.escape(inputName))</code></p>
            </header>
            <section class="overview">
            \(Self.figure(originalPNG, caption: "Input as the model sees it", alt: inputName))
            \(predictionsTable())
            </section>

            """
        for (index, method) in methods.enumerated() {
            html += section(for: method, index: index + 1)
        }
        html += "</body>\n</html>\n"
        return html
    }

    private func predictionsTable() -> String {
        var rows = ""
        for (rank, prediction) in topPredictions.enumerated() {
            let p = prediction.probability
            let share = p.isFinite ? min(max(p, 0), 1) * 100 : 0
            rows += """
                <tr><td class="rank">\(rank + 1)</td><td class="label">\(Self.escape(prediction.label))</td>\
                <td class="probability"><div class="bar"><div class="fill" style="width: \(Self.fixed(share, 2))%"></div></div>\
                <span class="value">\(p.isFinite ? Self.fixed(p * 100, 2) + "%" : "n/a")</span></td></tr>

                """
        }
        var details = ""
        if !self.details.isEmpty {
            details = "<table class=\"parameters details\">\n" + Self.keyValueRows(self.details) + "</table>\n"
        }
        return """
            <div class="predictions">
            <h2>Top-\(Self.predictionCount) predictions</h2>
            <table class="predictions">
            <tr><th>#</th><th>Label</th><th>Probability</th></tr>
            \(rows)</table>
            \(details)</div>
            """
    }

    private func section(for method: Method, index: Int) -> String {
        var facts = method.parameters
        if let delta = method.convergenceDelta {
            facts.append((name: "convergence delta", value: delta.isFinite ? Self.scientific(delta) : "n/a"))
        }
        facts.append((name: "time", value: method.seconds.isFinite ? Self.fixed(method.seconds, 3) + " s" : "n/a"))
        let notes = method.notes.map { "<p class=\"note\">\(Self.escape($0))</p>\n" }.joined()
        return """
            <section class="method" id="method-\(index)">
            <h2>\(Self.escape(method.name))</h2>
            <div class="pictures">
            \(Self.figure(method.heatMapPNG, caption: "Heat map", alt: "\(method.name) heat map"))
            \(Self.figure(method.overlayPNG, caption: "Overlay", alt: "\(method.name) overlay"))
            </div>
            \(notes)<table class="parameters">
            \(Self.keyValueRows(facts))</table>
            </section>

            """
    }

    private static func keyValueRows(_ pairs: [(name: String, value: String)]) -> String {
        pairs.map { "<tr><th>\(escape($0.name))</th><td>\(escape($0.value))</td></tr>\n" }.joined()
    }

    /// A picture as an embedded PNG, or a placeholder when there is none.
    private static func figure(_ png: Data, caption: String, alt: String) -> String {
        let picture =
            png.isEmpty
            ? "<div class=\"missing\">no picture</div>"
            : "<img src=\"\(dataURI(png))\" alt=\"\(escape(alt))\">"
        return "<figure>\(picture)<figcaption>\(escape(caption))</figcaption></figure>"
    }

    /// `data:image/png;base64,…` for `png`.
    public static func dataURI(_ png: Data) -> String { "data:image/png;base64," + png.base64EncodedString() }

    /// Escapes the five characters that are special in HTML text and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Fixed-point text with a "." decimal point whatever the locale.
    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    static func scientific(_ value: Double) -> String { String(format: "%.3e", value) }

    static let css = """
        body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; max-width: 1100px; }
        h1 { font-size: 22px; margin: 0 0 4px 0; }
        h2 { font-size: 17px; margin: 0 0 8px 0; }
        p.input { margin: 0 0 16px 0; color: #555; }
        code { font-family: monospace; background: #f2f2f2; padding: 1px 4px; }
        section { border-top: 1px solid #ddd; padding: 14px 0; }
        section.overview { display: flex; gap: 28px; align-items: flex-start; }
        .pictures { display: flex; gap: 20px; flex-wrap: wrap; }
        figure { margin: 0; }
        figure img, .missing { width: 256px; height: auto; image-rendering: pixelated; border: 1px solid #ccc; display: block; }
        .missing { height: 256px; line-height: 256px; text-align: center; color: #999; background: #f6f6f6; }
        figcaption { font-size: 13px; color: #555; margin-top: 4px; }
        table { border-collapse: collapse; font-size: 14px; margin-top: 10px; }
        th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: middle; }
        table.predictions td.label { font-family: monospace; overflow-wrap: anywhere; max-width: 360px; }
        table.predictions td.rank { color: #777; }
        .bar { display: inline-block; width: 180px; height: 12px; background: #eee; vertical-align: middle; }
        .fill { height: 100%; background: #3a8f3a; }
        .value { display: inline-block; min-width: 64px; margin-left: 8px; text-align: right; font-variant-numeric: tabular-nums; }
        table.parameters th { font-weight: normal; color: #555; }
        table.parameters td { font-family: monospace; }
        p.note { color: #a15c00; margin: 8px 0 0 0; }
        """
}
