import Foundation

/// Small inline SVG line charts for the HTML reports: no script, no external files.
enum SVGChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    /// One line per series. x runs over [0, 1] evenly (the fraction of pixels moved) unless `xValues`
    /// names the points (then they are categorical, evenly spaced and labelled). y is fitted to the
    /// data, always including [0, 1] for probabilities when `unitY`, else [min, max] with a margin.
    static func lines(
        title: String, xLabel: String, yLabel: String, series: [(String, [Double])], xValues: [String]?,
        unitY: Bool = true
    ) -> String {
        // The legend's column fits "integrated-gradients" at 11 px.
        let (width, height) = (440.0, 260.0)
        let (left, right, top, bottom) = (48.0, 150.0, 24.0, 40.0)
        let plotW = width - left - right, plotH = height - top - bottom
        let finite = series.flatMap(\.1).filter(\.isFinite)
        var (lo, hi) = unitY ? (0.0, 1.0) : (finite.min() ?? 0, finite.max() ?? 1)
        if unitY { lo = min(lo, finite.min() ?? 0); hi = max(hi, finite.max() ?? 1) }
        if hi - lo < 1e-9 { (lo, hi) = (lo - 0.5, hi + 0.5) }
        func y(_ v: Double) -> Double { top + plotH * (1 - (v - lo) / (hi - lo)) }
        var svg = "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        // Shrinks with a narrow page (a phone) instead of running off it; the viewBox keeps its proportions.
        svg +=
            "style=\"max-width:100%;height:auto\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<text x=\"\(Int(left))\" y=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#888\"/>\n"
        for t in 0...4 {
            let v = lo + (hi - lo) * Double(t) / 4
            svg += "<text x=\"\(left - 4)\" y=\(q(y(v) + 4)) text-anchor=\"end\">\(number(v, digits: 2))</text>\n"
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\(q(y(v))) y2=\(q(y(v))) stroke=\"#eee\"/>\n"
        }
        func x(_ i: Int, of n: Int) -> Double { left + plotW * Double(i) / Double(max(n - 1, 1)) }
        if let xValues {
            for (i, label) in xValues.enumerated() {
                svg += "<text x=\(q(x(i, of: xValues.count))) y=\"\(top + plotH + 14)\" text-anchor=\"middle\">"
                svg += "\(escape(label))</text>\n"
            }
        } else {
            for t in 0...4 {
                svg += "<text x=\(q(left + plotW * Double(t) / 4)) y=\"\(top + plotH + 14)\" text-anchor=\"middle\">"
                svg += "\(number(Double(t) / 4, digits: 2))</text>\n"
            }
        }
        svg += "<text x=\(q(left + plotW / 2)) y=\"\(height - 6)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text x=\"12\" y=\(q(top + plotH / 2)) transform=\"rotate(-90 12 \(q(top + plotH / 2, quoted: false)))\" "
        svg += "text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (k, (name, values)) in series.enumerated() {
            let colour = palette[k % palette.count]
            let points = values.enumerated().filter { $0.element.isFinite }
                .map { "\(q(x($0.offset, of: values.count), quoted: false)),\(q(y($0.element), quoted: false))" }
            svg +=
                "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            let ly = top + 12 + Double(k) * 15
            svg += "<line x1=\"\(left + plotW + 8)\" x2=\"\(left + plotW + 24)\" y1=\(q(ly - 4)) y2=\(q(ly - 4)) "
            svg += "stroke=\"\(colour)\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(left + plotW + 28)\" y=\(q(ly))>\(escape(name))</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    static func q(_ v: Double, quoted: Bool = true) -> String {
        let s = String(format: "%.1f", locale: Locale(identifier: "en_US_POSIX"), v)
        return quoted ? "\"\(s)\"" : s
    }

    static func number(_ v: Double, digits: Int) -> String {
        v.isFinite ? String(format: "%.\(digits)f", locale: Locale(identifier: "en_US_POSIX"), v) : "\(v)"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
