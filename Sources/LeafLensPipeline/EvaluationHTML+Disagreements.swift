import Foundation
import LeafLensAttribution
import LeafLensImaging

/// `evaluation.html`'s "where the methods disagree most": for each listed image, its mean pairwise
/// Spearman ρ and, when thumbnails were made, the input beside every method's map (PNG data URIs, so
/// the page stays one file that fetches nothing; plain `<img>` elements, no script).
extension EvaluationHTML {
    /// CSS of the thumbnail rows (they wrap on narrow screens).
    static let disagreementStyle = """
        .gallery{display:flex;flex-wrap:wrap;gap:.6em 1em;margin:.4em 0 1.4em}\
        .gallery figure{margin:0;width:112px}\
        .gallery img{display:block;width:112px;height:112px;object-fit:contain;image-rendering:pixelated;\
        border:1px solid #ccc;background:#fff}\
        .gallery figcaption{font-size:85%;overflow-wrap:anywhere;text-align:center}\
        h4.disagreement{margin:1em 0 .2em;font-weight:normal;overflow-wrap:anywhere}\
        @media(max-width:600px){.gallery{gap:.5em .6em}.gallery figure{width:96px}.gallery img{width:96px;height:96px}}
        """

    static func disagreements(_ list: [DatasetSummary.Disagreement], pictures: [DisagreementPicture]) -> String {
        guard !list.isEmpty else { return "" }
        var html = "<h3>Where the methods disagree most</h3>\n"
        let byImage = Dictionary(pictures.map { ($0.image, $0) }, uniquingKeysWith: { first, _ in first })
        guard list.contains(where: { byImage[$0.image] != nil }) else {
            html += "<table><tr><th>image</th><th>mean pairwise Spearman ρ</th></tr>\n"
            for d in list {
                html +=
                    "<tr><td>\(SVGChart.escape(d.image))</td><td>\(SVGChart.number(d.meanPairwiseSpearman, digits: 3))</td></tr>\n"
            }
            return html + "</table>\n"
        }
        html += "<p class=\"note\">The \(list.count == 1 ? "image" : "\(list.count) images") with the lowest mean "
        html += "pairwise Spearman ρ between the methods' maps. Each map is the one the metrics rank pixels by "
        html += "(channel-summed signed attribution; CAM maps upsampled), on its own scale over the grey input: "
        html += "signed maps red (negative) – white (0) – green (positive), non-negative maps in greens.</p>\n"
        for (k, d) in list.enumerated() {
            let rho = SVGChart.number(d.meanPairwiseSpearman, digits: 3)
            let name = SVGChart.escape(d.image)
            guard let p = byImage[d.image] else {
                html += "<h4 class=\"disagreement\">\(k + 1). \(name) — mean pairwise ρ \(rho) (no thumbnails)</h4>\n"
                continue
            }
            html += "<h4 class=\"disagreement\">\(k + 1). \(name) — class \(SVGChart.escape(p.label)), "
            html += "mean pairwise ρ \(rho)</h4>\n<div class=\"gallery\">"
            html += figure(p.input, caption: "input", alt: "input \(d.image)", side: p.side)
            for m in p.maps {
                html += figure(
                    m.png, caption: m.method + (m.blank ? " (all zero)" : ""), alt: "\(m.method) map of \(d.image)",
                    side: p.side)
            }
            html += "</div>\n"
        }
        return html
    }

    static func figure(_ png: Data, caption: String, alt: String, side: Int) -> String {
        "<figure><img src=\"\(HTMLReport.dataURI(png))\" width=\"\(side)\" height=\"\(side)\" "
            + "alt=\"\(SVGChart.escape(alt))\"><figcaption>\(SVGChart.escape(caption))</figcaption></figure>"
    }
}
