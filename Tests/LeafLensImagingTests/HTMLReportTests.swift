import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct HTMLReportTests {
    static func png(_ width: Int, _ height: Int, seed: Int) throws -> (image: RGBImage, data: Data) {
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 17) }
        let image = try RGBImage(width: width, height: height, pixels: pixels)
        return (image, try PNGWriter.encode(image))
    }

    static func report(labels: [(String, Double)] = [("Tomato_healthy", 0.9)]) throws -> HTMLReport {
        HTMLReport(
            title: "LeafLens explanation", inputName: "leaf <1> & \"friends\".png",
            originalPNG: try png(6, 5, seed: 1).data,
            predictions: labels.map { (label: $0.0, probability: $0.1) },
            methods: [
                HTMLReport.Method(
                    name: "integrated-gradients", heatMapPNG: try png(6, 5, seed: 2).data,
                    overlayPNG: try png(6, 5, seed: 3).data,
                    parameters: [("steps", "32"), ("method", "gausslegendre")],
                    convergenceDelta: -0.00123, seconds: 1.5),
                HTMLReport.Method(
                    name: "grad-cam", heatMapPNG: try png(6, 5, seed: 4).data, overlayPNG: try png(6, 5, seed: 5).data,
                    parameters: [("layer", "layer4")], seconds: 0.25, notes: ["all <zero> map"]),
            ])
    }

    /// All `data:image/png;base64,` payloads in page order.
    static func embeddedImages(_ html: String) -> [Data] {
        html.components(separatedBy: "src=\"data:image/png;base64,").dropFirst().compactMap { part in
            part.split(separator: "\"", maxSplits: 1).first.flatMap { Data(base64Encoded: String($0)) }
        }
    }

    @Test(arguments: [
        ("a & b", "a &amp; b"), ("<script>", "&lt;script&gt;"), ("\"q\" 'r'", "&quot;q&quot; &#39;r&#39;"),
        ("Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot", "Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot"),
        ("Pepper,_bell___healthy", "Pepper,_bell___healthy"), ("é…🌿", "é…🌿"), ("&amp;", "&amp;amp;"),
    ])
    func escapesText(_ pair: (String, String)) {
        #expect(HTMLReport.escape(pair.0) == pair.1)
    }

    @Test func everyTextFieldIsEscaped() throws {
        var report = try Self.report(labels: [("Bad <b>label</b> & \"co\", (x)", 0.6), ("ok", 0.4)])
        report.title = "T<i>"
        report.details = [("model <m>", "a&b")]
        report.methods[0].name = "m<x>"
        report.methods[0].parameters = [("key\"q", "v'w")]
        let html = report.render()
        for raw in ["<b>", "</b>", "<i>", "<m>", "<x>", "<zero>", "leaf <1>", "a&b", "key\"q", "v'w"] {
            #expect(!html.contains(raw), "unescaped \(raw)")
        }
        for escaped in [
            "Bad &lt;b&gt;label&lt;/b&gt; &amp; &quot;co&quot;, (x)", "T&lt;i&gt;", "model &lt;m&gt;", "a&amp;b",
            "m&lt;x&gt;", "key&quot;q", "v&#39;w", "all &lt;zero&gt; map",
            "leaf &lt;1&gt; &amp; &quot;friends&quot;.png",
        ] {
            #expect(html.contains(escaped), "missing \(escaped)")
        }
    }

    /// The original, then each method's heat map and overlay, decode back to the images given.
    @Test func imagesAreEmbeddedAndRoundTrip() throws {
        let html = try Self.report().render()
        let embedded = Self.embeddedImages(html)
        #expect(embedded.count == 5)
        for (data, seed) in zip(embedded, [1, 2, 3, 4, 5]) {
            #expect(try ImageDecoder.decode(data) == (try Self.png(6, 5, seed: seed).image))
        }
    }

    @Test func noExternalResourcesOrScripts() throws {
        // Base64 payloads may spell anything ("//", "http"); check the page around them.
        let html = try Self.report().render().components(separatedBy: "base64,")
            .map { $0.drop { $0 != "\"" } }.joined(separator: "base64,").lowercased()
        #expect(html.contains("src=\"data:image/png;base64,\""))
        for forbidden in ["http", "<script", "<link", "@import", "url(", "//", "<iframe", "onload", "javascript:"] {
            #expect(!html.contains(forbidden), "found \(forbidden)")
        }
        let sources = html.components(separatedBy: "src=\"").dropFirst()
        #expect(sources.allSatisfy { $0.hasPrefix("data:image/png;base64,") })
        #expect(!html.contains("href="))
    }

    /// The five most probable, highest first, ties in given order, NaN last.
    @Test func listsTheTopFivePredictionsInOrder() throws {
        let labels: [(String, Double)] = [
            ("c", 0.05), ("a", 0.4), ("nan", .nan), ("f", 0.01), ("b", 0.2), ("d1", 0.1), ("d2", 0.1), ("e", 0.02),
        ]
        let report = try Self.report(labels: labels)
        #expect(report.topPredictions.map(\.label) == ["a", "b", "d1", "d2", "c"])
        let html = report.render()
        let cells = html.components(separatedBy: "<td class=\"label\">").dropFirst().map { $0.prefix { $0 != "<" } }
        #expect(cells == ["a", "b", "d1", "d2", "c"])
        #expect(html.contains("style=\"width: 40.00%\""))
        #expect(html.contains(">40.00%<"))

        let few = try Self.report(labels: [("x", 1.5), ("y", .nan)])
        let fewHTML = few.render()
        #expect(fewHTML.contains("style=\"width: 100.00%\""), "bars are clamped to 0...100%")
        #expect(fewHTML.contains(">n/a<"))
    }

    @Test func showsParametersDeltaAndTiming() throws {
        let html = try Self.report().render()
        #expect(html.contains("<tr><th>steps</th><td>32</td></tr>"))
        #expect(html.contains("<tr><th>convergence delta</th><td>-1.230e-03</td></tr>"))
        #expect(html.contains("<tr><th>time</th><td>1.500 s</td></tr>"))
        #expect(html.contains("<tr><th>time</th><td>0.250 s</td></tr>"))
        #expect(html.components(separatedBy: "convergence delta").count == 2, "only IG has a delta")
        #expect(html.components(separatedBy: "<section class=\"method\"").count == 3)
    }

    @Test func renderingIsDeterministic() throws {
        #expect(try Self.report().render() == (try Self.report().render()))
    }

    @Test func missingPicturesShowAPlaceholder() throws {
        var report = try Self.report()
        report.methods[1].overlayPNG = Data()
        #expect(report.render().contains("no picture"))
        #expect(Self.embeddedImages(report.render()).count == 4)
    }

    @Test func writesAtomically() throws {
        let folder = try FixturePaths.temporaryDirectory("imaging-html")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("leaf.report.html")
        let report = try Self.report()
        try report.write(to: url)
        try report.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == report.render())
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["leaf.report.html"])

        let missing = URL(fileURLWithPath: "/nonexistent-leaflens-dir/r.html")
        let error = #expect(throws: ImageError.self) { try report.write(to: missing) }
        #expect(error?.description.contains("r.html") == true)
    }

    /// Writes a realistic report (a fixture photo, synthetic attributions drawn with the real colormaps,
    /// the panel) to the folder in LEAFLENS_REPORT_SAMPLE, for `scripts/screenshot-report` to look at.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["LEAFLENS_REPORT_SAMPLE"] != nil))
    func writeSampleReport() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LEAFLENS_REPORT_SAMPLE"] ?? "")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let photo = try ImageDecoder.decode(contentsOf: FixturePaths.fixture("imaging/images/png_rgb8_300x200.png"))
        let original = try photo.resizedBilinear(width: 336, height: 224).centerCropped(height: 224, width: 224)
        let (w, h) = (original.width, original.height)
        func blob(_ cx: Double, _ cy: Double, _ radius: Double, signed: Bool) -> [Float] {
            (0..<(w * h)).map { i in
                let dx = Double(i % w) - cx, dy = Double(i / w) - cy
                let v = exp(-(dx * dx + dy * dy) / (2 * radius * radius))
                return Float(signed ? v * cos(Double(i % w) / 9) : v)
            }
        }
        let maps: [(String, [Float], AttributionSign, [(String, String)], Double?, Double)] = [
            (
                "integrated-gradients", blob(90, 120, 40, signed: true), .all,
                [("steps", "32"), ("method", "gausslegendre"), ("baseline", "zeros"), ("sign", "all")], -0.0042, 12.31
            ),
            (
                "grad-cam", blob(140, 80, 30, signed: false), .absoluteValue,
                [("layer", "layer4"), ("sign", "absolute_value")], nil, 0.41
            ),
            (
                "occlusion", blob(60, 60, 25, signed: false), .positive,
                [("window", "16x16"), ("stride", "8"), ("sign", "positive")], nil, 48.9
            ),
        ]
        var methods: [HTMLReport.Method] = []
        var columns = [Panel.Column(title: "original", subtitle: "Tomato___Late_blight 87.31%", image: original)]
        for (name, values, sign, parameters, delta, seconds) in maps {
            let map = try AttributionMap(height: h, width: w, reduced: values, sign: sign)
            let heat = map.heatMap()
            let overlay = try map.blendedHeatMap(original: original)
            columns.append(Panel.Column(title: name, subtitle: "Tomato___Late_blight 87.31%", image: overlay))
            methods.append(
                HTMLReport.Method(
                    name: name, heatMapPNG: try PNGWriter.encode(heat), overlayPNG: try PNGWriter.encode(overlay),
                    parameters: parameters, convergenceDelta: delta, seconds: seconds))
        }
        try PNGWriter.write(try Panel.render(columns: columns), to: folder.appendingPathComponent("sample.panel.png"))
        let report = HTMLReport(
            inputName: "png_rgb8_300x200.png", originalPNG: try PNGWriter.encode(original),
            predictions: [
                ("Tomato___Late_blight", 0.8731), ("Tomato___Early_blight", 0.0712), ("Potato___Late_blight", 0.0301),
                ("Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot", 0.0102), ("Pepper,_bell___healthy", 0.0051),
                ("Apple___healthy", 0.0003),
            ],
            methods: methods,
            details: [
                ("model", "default (bundled, seeded)"), ("target", "Tomato___Late_blight (class 30)"),
                ("input size", "300x200 → 224x224"),
            ])
        try report.write(to: folder.appendingPathComponent("sample.report.html"))
    }
}
