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
        /// The method's full name ("Integrated Gradients"), shown as the heading with `name` beside it.
        public var fullName: String?
        /// The colour scale of the heat map and overlay, drawn under them.
        public var colorBar: ColorBar?
        /// Further views (Captum's masked image, alpha scaling, …) as (caption, PNG), always shown.
        public var extraViews: [(caption: String, png: Data)]
        /// Further timings beside `seconds` (e.g. ("forward + backward", 0.8)), in seconds.
        public var timings: [(name: String, seconds: Double)]
        /// Faithfulness metrics when computed (e.g. ("deletion AUC", "0.213")), shown as a table.
        public var metrics: [(name: String, value: String)]
        /// Deletion / insertion curves when computed, drawn as inline SVG.
        public var curves: [Curve]

        public init(
            name: String, heatMapPNG: Data, overlayPNG: Data, parameters: [(String, String)] = [],
            convergenceDelta: Double? = nil, seconds: Double, notes: [String] = [], fullName: String? = nil,
            colorBar: ColorBar? = nil, extraViews: [(String, Data)] = [], timings: [(String, Double)] = [],
            metrics: [(String, String)] = [], curves: [Curve] = []
        ) {
            self.name = name
            self.heatMapPNG = heatMapPNG
            self.overlayPNG = overlayPNG
            self.parameters = parameters.map { (name: $0.0, value: $0.1) }
            self.convergenceDelta = convergenceDelta
            self.seconds = seconds
            self.notes = notes
            self.fullName = fullName
            self.colorBar = colorBar
            self.extraViews = extraViews.map { (caption: $0.0, png: $0.1) }
            self.timings = timings.map { (name: $0.0, seconds: $0.1) }
            self.metrics = metrics.map { (name: $0.0, value: $0.1) }
            self.curves = curves
        }
    }

    /// A perturbation curve (RISE's deletion or insertion): the model's score after removing or
    /// adding the given fraction of the most important pixels.
    public struct Curve: Sendable {
        /// "deletion" or "insertion".
        public var name: String
        /// Fractions of pixels changed, ascending, in [0, 1].
        public var fractions: [Double]
        /// The score at each fraction (usually a probability in [0, 1]).
        public var scores: [Double]
        /// The area under the curve, when computed.
        public var area: Double?

        public init(name: String, fractions: [Double], scores: [Double], area: Double? = nil) {
            self.name = name
            self.fractions = fractions
            self.scores = scores
            self.area = area
        }
    }

    /// Every method's map for one input on one shared colour scale, side by side.
    public struct Comparison: Sendable {
        /// (method name, PNG) in column order.
        public var items: [(name: String, png: Data)]
        public var colorBar: ColorBar
        /// Shown above the row, e.g. that the methods' units disagree.
        public var notes: [String]

        public init(items: [(String, Data)], colorBar: ColorBar, notes: [String] = []) {
            self.items = items.map { (name: $0.0, png: $0.1) }
            self.colorBar = colorBar
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
    /// A row of every method on one shared scale, when the caller drew one.
    public var comparison: Comparison?
    /// Caption of the input picture (e.g. that it is shown enlarged).
    public var inputCaption: String

    public init(
        title: String = "LeafLens explanation", inputName: String, originalPNG: Data,
        predictions: [(label: String, probability: Double)], methods: [Method], details: [(String, String)] = [],
        comparison: Comparison? = nil, inputCaption: String = "Input as the model sees it"
    ) {
        self.title = title
        self.inputName = inputName
        self.originalPNG = originalPNG
        self.predictions = predictions
        self.methods = methods
        self.details = details.map { (name: $0.0, value: $0.1) }
        self.comparison = comparison
        self.inputCaption = inputCaption
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
            <input type="radio" name="view" id="view-overlay" class="view-toggle" checked>
            <input type="radio" name="view" id="view-heat" class="view-toggle">
            <main>
            <header>
            <h1>\(Self.escape(title))</h1>
            <p class="input">Input: <code>\(Self.escape(inputName))</code></p>
            </header>
            <section class="overview">
            \(Self.figure(originalPNG, caption: inputCaption, alt: inputName))
            \(predictionsTable())
            </section>

            """
        if let comparison { html += comparisonRow(comparison) }
        if !methods.isEmpty {
            html += """
                <nav class="toggle" aria-label="Pictures">Show each method's \
                <label for="view-overlay" class="for-overlay">overlay</label> \
                <label for="view-heat" class="for-heat">heat map</label></nav>

                """
        }
        for (index, method) in methods.enumerated() {
            html += section(for: method, index: index + 1)
        }
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    private func comparisonRow(_ comparison: Comparison) -> String {
        let figures = comparison.items.map {
            Self.figure($0.png, caption: $0.name, alt: "\($0.name) on the shared scale")
        }
        let notes = comparison.notes.map { "<p class=\"note\">\(Self.escape($0))</p>\n" }.joined()
        return """
            <section class="comparison">
            <h2>Side by side on one scale</h2>
            \(notes)<div class="pictures">
            \(figures.joined(separator: "\n"))
            </div>
            \(Self.colorBarHTML(comparison.colorBar))
            </section>

            """
    }

    private func predictionsTable() -> String {
        var rows = ""
        for (rank, prediction) in topPredictions.enumerated() {
            let p = prediction.probability
            let share = p.isFinite ? min(max(p, 0), 1) * 100 : 0
            rows += """
                <tr><td class="rank">\(rank + 1)</td><td class="label">\(Self.breakable(prediction.label))</td>\
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
        for timing in method.timings {
            facts.append(
                (
                    name: "time: \(timing.name)",
                    value: timing.seconds.isFinite ? Self.fixed(timing.seconds, 3) + " s" : "n/a"
                ))
        }
        let notes = method.notes.map { "<p class=\"note\">\(Self.escape($0))</p>\n" }.joined()
        let heading =
            method.fullName.map { "\(Self.escape($0)) <span class=\"id\">\(Self.escape(method.name))</span>" }
            ?? Self.escape(method.name)
        let extra = method.extraViews.map {
            Self.figure($0.png, caption: $0.caption, alt: "\(method.name) \($0.caption)")
        }
        let bar = method.colorBar.map { Self.colorBarHTML($0) + "\n" } ?? ""
        var metrics = ""
        if !method.metrics.isEmpty {
            metrics =
                "<h3>Faithfulness</h3>\n<table class=\"parameters metrics\">\n" + Self.keyValueRows(method.metrics)
                + "</table>\n"
        }
        let curves =
            method.curves.isEmpty
            ? "" : "<div class=\"curves\">\n" + method.curves.map(Self.curveSVG).joined(separator: "\n") + "\n</div>\n"
        return """
            <section class="method" id="method-\(index)">
            <h2>\(heading)</h2>
            <div class="pictures">
            <div class="switchable">
            <div class="show-heat">\(Self.figure(method.heatMapPNG, caption: "Heat map", alt: "\(method.name) heat map"))</div>
            <div class="show-overlay">\(Self.figure(method.overlayPNG, caption: "Overlay", alt: "\(method.name) overlay"))</div>
            \(bar)</div>
            \(extra.joined(separator: "\n"))
            </div>
            \(notes)<div class="facts"><div><h3>Parameters</h3><table class="parameters">
            \(Self.keyValueRows(facts))</table></div>
            \(metrics.isEmpty && curves.isEmpty ? "" : "<div>" + metrics + curves + "</div>")</div>
            </section>

            """
    }

    /// A colour bar as HTML: the gradient strip, tick labels at their positions, the caption.
    public static func colorBarHTML(_ bar: ColorBar) -> String {
        let ticks = bar.ticks.map { tick -> String in
            let p = min(max(tick.position, 0), 1) * 100
            let align = tick.position <= 0 ? "start" : tick.position >= 1 ? "end" : "middle"
            return "<span class=\"tick \(align)\" style=\"left: \(fixed(p, 1))%\">\(escape(tick.label))</span>"
        }
        return """
            <div class="colorbar"><div class="strip" style="background: \(bar.cssGradient())"></div>\
            <div class="ticks">\(ticks.joined())</div><div class="caption">\(escape(bar.caption))</div></div>
            """
    }

    /// A curve as an inline SVG line chart: fraction (0…1) across, score up (0…max(1, largest score)).
    public static func curveSVG(_ curve: Curve) -> String {
        let (w, h, left, bottom, top, right) = (260.0, 170.0, 34.0, 28.0, 22.0, 10.0)
        let points = zip(curve.fractions, curve.scores).filter { $0.0.isFinite && $0.1.isFinite }
        let yMax = max(1, points.map(\.1).max() ?? 1)
        func x(_ f: Double) -> Double { left + min(max(f, 0), 1) * (w - left - right) }
        func y(_ s: Double) -> Double { h - bottom - min(max(s, 0), yMax) / yMax * (h - bottom - top) }
        let line = points.map { "\(fixed(x($0.0), 1)),\(fixed(y($0.1), 1))" }.joined(separator: " ")
        let area = curve.area.map { ", AUC " + (($0.isFinite) ? fixed($0, 3) : "n/a") } ?? ""
        let title = escape(curve.name) + area
        return """
            <figure class="curve"><svg width="\(Int(w))" height="\(Int(h))" \
            viewBox="0 0 \(Int(w)) \(Int(h))" role="img" aria-label="\(title)">\
            <text x="\(Int(left))" y="14" class="title">\(title)</text>\
            <line x1="\(Int(left))" y1="\(fixed(y(0), 1))" x2="\(fixed(x(1), 1))" y2="\(fixed(y(0), 1))" class="axis"/>\
            <line x1="\(Int(left))" y1="\(fixed(y(0), 1))" x2="\(Int(left))" y2="\(fixed(y(yMax), 1))" class="axis"/>\
            <text x="\(Int(left) - 4)" y="\(fixed(y(0), 1))" class="ylabel">0</text>\
            <text x="\(Int(left) - 4)" y="\(fixed(y(yMax) + 4, 1))" class="ylabel">\(fixed(yMax, yMax == 1 ? 0 : 2))</text>\
            <text x="\(Int(left))" y="\(Int(h) - 8)" class="xlabel">0</text>\
            <text x="\(fixed(x(1), 1))" y="\(Int(h) - 8)" class="xlabel end">1</text>\
            <text x="\(fixed((x(0) + x(1)) / 2, 1))" y="\(Int(h) - 8)" class="xlabel middle">fraction of pixels</text>\
            <polyline points="\(line)" class="data"/></svg></figure>
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

    /// Escaped text with a line-break opportunity after each "_" (PlantVillage labels have no spaces).
    static func breakable(_ text: String) -> String { escape(text).replacingOccurrences(of: "_", with: "_<wbr>") }

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
        h2 span.id { font-weight: normal; font-family: monospace; font-size: 13px; color: #777; margin-left: 6px; }
        h3 { font-size: 14px; margin: 10px 0 0 0; color: #444; }
        .view-toggle { position: absolute; opacity: 0; pointer-events: none; }
        nav.toggle { margin: 10px 0; font-size: 14px; }
        nav.toggle label { display: inline-block; padding: 4px 12px; border: 1px solid #bbb; border-radius: 14px; cursor: pointer; margin-left: 4px; }
        #view-overlay:checked ~ main .for-overlay, #view-heat:checked ~ main .for-heat { background: #2f6f9f; color: #fff; border-color: #2f6f9f; }
        #view-overlay:focus-visible ~ main .for-overlay, #view-heat:focus-visible ~ main .for-heat { outline: 2px solid #2f6f9f; outline-offset: 2px; }
        #view-overlay:checked ~ main .show-heat, #view-heat:checked ~ main .show-overlay { display: none; }
        .switchable { width: 258px; }
        .colorbar { width: 256px; margin-top: 6px; font-size: 11px; color: #444; }
        .colorbar .strip { height: 12px; border: 1px solid #999; }
        .colorbar .ticks { position: relative; height: 15px; }
        .colorbar .tick { position: absolute; top: 1px; white-space: nowrap; font-variant-numeric: tabular-nums; }
        .colorbar .tick.middle { transform: translateX(-50%); }
        .colorbar .tick.end { transform: translateX(-100%); }
        .colorbar .caption { text-align: center; color: #666; }
        .facts { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
        .curves { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 8px; }
        svg .axis { stroke: #888; stroke-width: 1; }
        svg .data { fill: none; stroke: #2f6f9f; stroke-width: 2; }
        svg text { font-size: 11px; fill: #444; font-family: sans-serif; }
        svg text.title { font-size: 12px; fill: #222; }
        svg text.ylabel { text-anchor: end; }
        svg text.xlabel.end { text-anchor: end; }
        svg text.xlabel.middle { text-anchor: middle; }
        @media (max-width: 600px) {
          body { margin: 12px; }
          section.overview { flex-direction: column; gap: 12px; }
          .pictures figure, .switchable, .colorbar { width: 100%; max-width: 322px; }
          figure img, .missing { width: 100%; max-width: 320px; }
          table.predictions td.label { max-width: 170px; overflow-wrap: normal; }
          .bar { width: 70px; }
          .value { min-width: 52px; margin-left: 4px; }
        }
        """
}
