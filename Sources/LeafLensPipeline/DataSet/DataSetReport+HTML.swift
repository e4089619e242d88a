import Foundation
import LeafLensImaging
import LeafLensMath

extension DataSetReport {
    /// What `summary.html` shows and how much it reads.
    public struct HTMLOptions: Sendable {
        /// Images per class read for each method's mean attribution map (the first ones in path order).
        /// Bounded so the report stays fast on large runs; the page says how many were averaged.
        public var meanMapImagesPerClass: Int = 20
        /// Images per gallery (most confident, least confident, misclassified).
        public var galleryCount: Int = 8

        public init(meanMapImagesPerClass: Int = 20, galleryCount: Int = 8) {
            self.meanMapImagesPerClass = meanMapImagesPerClass
            self.galleryCount = galleryCount
        }
    }

    /// One self-contained page: every picture is embedded, no script, no network.
    public func html(output: URL, options: HTMLOptions = .init()) -> String {
        let s = summary
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>LeafLens data-set report — \(esc(output.lastPathComponent))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <h1>LeafLens data-set report</h1>
            <p class="sub"><code>\(esc(output.path))</code></p>

            """
        html += countsSection(s)
        html += confusionSection()
        html += metricsSection()
        html += meanMapsSection(output: output, options: options)
        html += gallerySections(output: output, options: options)
        html += failuresSection()
        html += "</body>\n</html>\n"
        return html
    }

    private func esc(_ text: String) -> String { HTMLReport.escape(text) }

    private func countsSection(_ s: Summary) -> String {
        var rows: [(String, String)] = [
            ("images", "\(s.images)"), ("explained", "\(s.explained)"), ("failed", "\(s.failed)"),
            ("missing (no record yet)", "\(s.missing)"), ("shards", "\(s.shardCount)"),
            ("methods", s.methods.joined(separator: ", ")),
        ]
        if let accuracy = s.accuracy {
            rows.append(("accuracy", String(format: "%.2f%% of %d labelled images", accuracy * 100, s.labelledImages)))
        }
        var notes = ""
        if !s.missingShards.isEmpty {
            notes +=
                "<p class=\"warn\">Shards never started: \(s.missingShards.map(String.init).joined(separator: ", ")) of \(s.shardCount).</p>\n"
        }
        if !s.missingImages.isEmpty {
            let shown = s.missingImages.prefix(20).map { "<code>\(esc($0))</code>" }.joined(separator: ", ")
            let more = s.missingImages.count > 20 ? " and \(s.missingImages.count - 20) more" : ""
            notes += "<p class=\"warn\">\(s.missingImages.count) images have no record yet: \(shown)\(more).</p>\n"
        }
        if !s.ignoredFiles.isEmpty {
            let shown = s.ignoredFiles.prefix(20).map { "<code>\(esc($0))</code>" }.joined(separator: ", ")
            let more = s.ignoredFiles.count > 20 ? " and \(s.ignoredFiles.count - 20) more" : ""
            notes +=
                "<p class=\"sub\">\(s.ignoredFiles.count) files are not images and were not explained: \(shown)\(more).</p>\n"
        }
        if s.unreadableRecordLines > 0 {
            notes +=
                "<p class=\"warn\">\(s.unreadableRecordLines) record lines could not be read and were ignored.</p>\n"
        }
        if s.complete { notes += "<p class=\"ok\">Complete: every image of every shard was explained.</p>\n" }
        let table = rows.map { "<tr><th>\(esc($0.0))</th><td>\(esc($0.1))</td></tr>" }.joined(separator: "\n")
        return "<section>\n<h2>Run</h2>\n<table class=\"kv\">\n\(table)\n</table>\n\(notes)</section>\n"
    }

    private func confusionSection() -> String {
        guard let c = confusion else { return "" }
        let maxCount = max(1, c.counts.flatMap { $0 }.max() ?? 1)
        var html =
            "<section>\n<h2>Confusion matrix</h2>\n<p class=\"sub\">Rows: true class; columns: predicted class.</p>\n"
        html += "<div class=\"scroll\"><table class=\"confusion\">\n<tr><th></th>"
        for (i, label) in c.labels.enumerated() { html += "<th title=\"\(esc(label))\">\(i)</th>" }
        html += "</tr>\n"
        for (t, label) in c.labels.enumerated() {
            html += "<tr><th class=\"row\">\(t) \(esc(label))</th>"
            for p in c.labels.indices {
                let n = c.counts[t][p]
                let shade = n == 0 ? 0 : 0.15 + 0.85 * Double(n) / Double(maxCount)
                let colour = t == p ? "58,143,58" : "196,64,48"
                let style = n == 0 ? "" : " style=\"background: rgba(\(colour),\(String(format: "%.2f", shade)))\""
                html += "<td\(style)>\(n == 0 ? "" : String(n))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</table></div>\n</section>\n"
    }

    private func metricsSection() -> String {
        let means = metricMeans
        guard !means.isEmpty else { return "" }
        let metrics = Set(means.values.flatMap(\.keys)).sorted()
        var html =
            "<section>\n<h2>Faithfulness metrics (mean over images)</h2>\n<table class=\"grid\">\n<tr><th>method</th>"
        html += metrics.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
        for method in methods where means[method] != nil {
            html += "<tr><th>\(esc(method))</th>"
            for metric in metrics {
                if let v = means[method]?[metric] {
                    html += "<td>\(String(format: "%.4g", v.mean)) <span class=\"n\">n=\(v.count)</span></td>"
                } else {
                    html += "<td></td>"
                }
            }
            html += "</tr>\n"
        }
        return html + "</table>\n</section>\n"
    }

    /// Per class and method: the mean of |channel-summed attribution| over up to `meanMapImagesPerClass`
    /// explained images of that class (by true label, else by prediction), each normalised to sum 1 first so
    /// that no single image dominates; drawn with the absolute-value colormap.
    private func meanMapsSection(output: URL, options: HTMLOptions) -> String {
        guard options.meanMapImagesPerClass > 0, !methods.isEmpty else { return "" }
        var groups: [String: [ShardRecord]] = [:]
        var order: [String] = []
        for row in okRows {
            guard let key = row.label ?? row.prediction?.label else { continue }
            if groups[key] == nil { order.append(key) }
            if groups[key, default: []].count < options.meanMapImagesPerClass { groups[key, default: []].append(row) }
        }
        let classOrder = classes.filter { groups[$0] != nil } + order.filter { !classes.contains($0) }
        var body = ""
        var anyPicture = false
        for label in classOrder {
            let members = groups[label] ?? []
            var cells =
                "<th class=\"row\">\(esc(label))<br><span class=\"n\">\(members.count) image\(members.count == 1 ? "" : "s")</span></th>"
            for method in methods {
                if let png = meanMapPNG(members, method: method, output: output) {
                    anyPicture = true
                    cells +=
                        "<td><img class=\"map\" src=\"\(HTMLReport.dataURI(png))\" alt=\"mean \(esc(method)) map for \(esc(label))\"></td>"
                } else {
                    cells += "<td class=\"n\">no maps</td>"
                }
            }
            body += "<tr>\(cells)</tr>\n"
        }
        guard anyPicture else { return "" }
        let head = "<tr><th>class</th>" + methods.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
        return """
            <section>
            <h2>Mean attribution per class</h2>
            <p class="sub">Mean of |attribution| (channels summed, each map scaled to sum 1) over up to \
            \(options.meanMapImagesPerClass) images per class; one colour scale per map.</p>
            <div class="scroll"><table class="grid">
            \(head)\(body)</table></div>
            </section>

            """
    }

    private func meanMapPNG(_ rows: [ShardRecord], method: String, output: URL) -> Data? {
        var sum: [Double] = []
        var shape: (Int, Int)?
        var used = 0
        for row in rows {
            guard let file = row.methods?[method]?.files.first(where: { $0.hasSuffix(".npy") }),
                let tensor = try? NPY.read(output.appendingPathComponent(file), as: Float.self),
                let (h, w, values) = try? AttributionMap.channelSum(tensor)
            else { continue }
            if shape == nil {
                shape = (h, w)
                sum = [Double](repeating: 0, count: h * w)
            }
            guard let s = shape, s == (h, w) else { continue }
            let total = values.reduce(0.0) { $0 + Double(abs($1)) }
            guard total > 0, total.isFinite else { continue }
            for i in values.indices { sum[i] += Double(abs(values[i])) / total }
            used += 1
        }
        guard used > 0, let (h, w) = shape,
            let map = try? AttributionMap(
                height: h, width: w, reduced: sum.map { Float($0 / Double(used)) }, sign: .absoluteValue)
        else { return nil }
        var image = map.heatMap()
        if image.width < 96 { image = image.nearestUpscaled(toAtLeast: 96) }
        return try? PNGWriter.encode(image)
    }

    private func gallerySections(output: URL, options: HTMLOptions) -> String {
        let ok = okRows.filter { $0.prediction != nil }
        let byConfidence = ok.sorted { ($0.prediction?.probability ?? 0) > ($1.prediction?.probability ?? 0) }
        let wrong = ok.filter { row in row.label.map { $0 != row.prediction?.label } ?? false }
        var html = ""
        html += gallery("Most confident", Array(byConfidence.prefix(options.galleryCount)), output: output)
        // The least confident images not already shown as the most confident (small runs would repeat them).
        let least = min(options.galleryCount, max(0, byConfidence.count - options.galleryCount))
        html += gallery("Least confident", Array(byConfidence.suffix(least).reversed()), output: output)
        if confusion != nil {
            html += gallery("Misclassified (\(wrong.count))", Array(wrong.prefix(options.galleryCount)), output: output)
        }
        return html
    }

    private func gallery(_ title: String, _ rows: [ShardRecord], output: URL) -> String {
        guard !rows.isEmpty else { return "" }
        var cards = ""
        for row in rows {
            var pictures = ""
            for method in methods {
                guard let file = row.methods?[method]?.files.first(where: { $0.hasSuffix(".overlay.png") }),
                    let png = try? Data(contentsOf: output.appendingPathComponent(file))
                else { continue }
                pictures +=
                    "<figure><img src=\"\(HTMLReport.dataURI(png))\" alt=\"\(esc(method)) overlay of \(esc(row.input))\"><figcaption>\(esc(method))</figcaption></figure>"
            }
            let p =
                row.prediction.map { String(format: "%@ %.1f%%", $0.label, $0.probability * 100) } ?? "no prediction"
            let truth = row.label.map { "true: \(esc($0)) · " } ?? ""
            cards += """
                <div class="card"><p><code>\(esc(row.input))</code><br>\(truth)predicted: \(esc(p))</p>\
                <div class="pictures">\(pictures)</div></div>

                """
        }
        return "<section>\n<h2>\(esc(title))</h2>\n<div class=\"cards\">\n\(cards)</div>\n</section>\n"
    }

    private func failuresSection() -> String {
        let failed = failedRows
        guard !failed.isEmpty else { return "" }
        let rows = failed.map {
            "<tr><td><code>\(esc($0.input))</code></td><td>\(esc($0.error ?? "unknown error"))</td></tr>"
        }
        return
            "<section>\n<h2>Failed images (\(failed.count))</h2>\n<table class=\"grid\">\n<tr><th>image</th><th>error</th></tr>\n\(rows.joined(separator: "\n"))\n</table>\n</section>\n"
    }

    static let css = """
        body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; max-width: 1200px; }
        h1 { font-size: 22px; margin: 0 0 4px 0; }
        h2 { font-size: 17px; margin: 0 0 8px 0; }
        .sub { color: #555; margin: 0 0 10px 0; font-size: 13px; }
        code { font-family: monospace; background: #f2f2f2; padding: 1px 4px; overflow-wrap: anywhere; }
        section { border-top: 1px solid #ddd; padding: 14px 0; }
        table { border-collapse: collapse; font-size: 14px; }
        table.kv th { text-align: left; font-weight: normal; color: #555; padding: 2px 14px 2px 0; }
        table.grid th, table.grid td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }
        table.confusion td, table.confusion th { border: 1px solid #e4e4e4; min-width: 22px; height: 22px; text-align: center; font-size: 12px; padding: 1px 3px; }
        table.confusion th.row, table.grid th.row { text-align: left; white-space: nowrap; font-weight: normal; }
        .scroll { overflow-x: auto; }
        .n { color: #777; font-size: 12px; }
        .warn { color: #a15c00; }
        .ok { color: #2f7a2f; }
        img.map { width: 112px; height: auto; image-rendering: pixelated; display: block; }
        .cards { display: flex; flex-wrap: wrap; gap: 14px; }
        .card { border: 1px solid #ddd; padding: 8px; max-width: 100%; }
        .card p { margin: 0 0 6px 0; font-size: 13px; }
        .pictures { display: flex; gap: 8px; flex-wrap: wrap; }
        figure { margin: 0; }
        figure img { width: 128px; height: auto; image-rendering: pixelated; display: block; border: 1px solid #ccc; }
        figcaption { font-size: 12px; color: #555; }
        """
}

extension RGBImage {
    /// Nearest-neighbour upscaling by the smallest whole factor that reaches `minimum` pixels of width.
    func nearestUpscaled(toAtLeast minimum: Int) -> RGBImage {
        let factor = max(1, (minimum + width - 1) / width)
        guard factor > 1 else { return self }
        let (w, h) = (width * factor, height * factor)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let source = ((y / factor) * width + x / factor) * 3
                let target = (y * w + x) * 3
                out[target] = pixels[source]
                out[target + 1] = pixels[source + 1]
                out[target + 2] = pixels[source + 2]
            }
        }
        return (try? RGBImage(width: w, height: h, pixels: out)) ?? self
    }
}
