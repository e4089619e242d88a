import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Golden pictures of every style, base, scale, normalization and view, drawn by the library from
/// small integer-formula inputs (24×18), pinned in Golden/rendering/ like snapshot tests.
///
/// Tolerance (also in Golden/rendering/manifest.json): no channel differs by more than 2 levels, and
/// at most 1% of the pixels (at least 1) differ at all. Text in these pictures uses the bitmap font,
/// except the `*.freetype` cases, which are compared only when DejaVu Sans loads through FreeType.
///
/// Golden/rendering/ is rewritten only by `scripts/regenerate-golden` (LEAFLENS_GOLDEN_RECORD set to
/// the staging directory; this suite writes into its `rendering/` folder). A failing case attaches
/// the actual picture.
@Suite("RenderingGolden")
struct RenderingGoldenTests {
    static let recordDirectory = ProcessInfo.processInfo.environment["LEAFLENS_GOLDEN_RECORD"]
    static let recording = recordDirectory != nil
    static let folder = FixturePaths.golden.appendingPathComponent("rendering")

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var description: String
        var needsFreeType = false
        var draw: @Sendable () throws -> RGBImage
        var testDescription: String { name }
        var file: String { name + ".png" }
    }

    static let tolerances = Tolerances(levels: 2, differingFraction: 0.01)

    struct Tolerances: Codable, Equatable {
        var levels: Int
        var differingFraction: Double
        func maxDiffering(_ image: RGBImage) -> Int {
            max(1, Int((Double(image.width * image.height) * differingFraction).rounded(.down)))
        }
    }

    // MARK: Inputs

    static let width = 24
    static let height = 18

    static func picture() -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8((x * 255) / (width - 1))
                pixels[i + 1] = UInt8(((y * 255) / (height - 1) + (x / 4 % 2) * 60) % 256)
                pixels[i + 2] = UInt8((x * 7 + y * 11) % 200 + 30)
            }
        }
        return try! RGBImage(width: width, height: height, pixels: pixels)  // safe: the sizes match
    }

    /// A signed map: a positive blob, a negative blob, a little texture.
    static func attribution(_ factor: Float = 1, unit: String? = nil) -> ReducedAttribution {
        var values = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let p = Float((x - 16) * (x - 16) + (y - 6) * (y - 6)),
                    n = Float((x - 6) * (x - 6) + (y - 12) * (y - 12))
                values[y * width + x] =
                    factor * (exp(-p / 18) - 0.6 * exp(-n / 12) + Float((x * 13 + y * 7) % 11) / 200)
            }
        }
        // safe: the count matches and the values are finite
        return try! ReducedAttribution(height: height, width: width, values: values, unit: unit)
    }

    static func draw(
        _ view: AttributionView, sign: AttributionSign = .absoluteValue, normalization: Normalization = .outlier,
        style: OverlayStyle = .captum, base: OverlayBase = .gray, weight: Double = 0.5, bar: Bool = false
    ) throws -> RGBImage {
        let raw = attribution()
        let options = RenderingOptions(
            colorBar: bar, normalization: normalization, overlayBase: base, imageWeight: weight, style: style,
            views: [view])
        let scale = try AttributionScale.fit([raw], sign: sign, normalization: normalization)
        let picture = try AttributionRenderer.render(
            view, map: scale.apply(raw).map, original: picture(), options: options
        )
        .flattened()
        guard bar else { return picture }
        return try AttributionRenderer.colorBar(scale: scale, style: style, options: options)
            .attached(below: picture.upscaledNearest(4), typeface: .bitmap)
    }

    /// Two maps (A and 2·A, different units for per-image) side by side on one scale, with its bar.
    static func sharedRow(scope: ScaleScope, normalization: Normalization = .outlier) throws -> RGBImage {
        let a = attribution(1, unit: "gradient"), b = attribution(2, unit: scope == .perImage ? "CAM" : "gradient")
        let options = RenderingOptions(colorBar: true, scale: scope, normalization: normalization)
        let maps: [ReducedAttribution] = [a, b]
        let scales =
            try scope == .perMap
            ? maps.map { try AttributionScale.fit([$0], sign: .absoluteValue, normalization: normalization) }
            : [AttributionScale](
                repeating: try AttributionScale.fit(maps, sign: .absoluteValue, normalization: normalization), count: 2)
        let pictures = try zip(maps, scales).map { raw, scale in
            try AttributionRenderer.colorBar(scale: scale, style: .captum, options: options)
                .attached(below: scale.apply(raw).map.heatMap().upscaledNearest(4), typeface: .bitmap)
        }
        var row = try RGBImage.filled(
            width: pictures.map(\.width).reduce(0, +) + 8, height: pictures[0].height, color: .white)
        var x = 0
        for p in pictures {
            row = row.pasting(p, x: x)
            x += p.width + 8
        }
        return row
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for style in OverlayStyle.allCases {
            cases.append(
                Case(name: "heat.\(style.rawValue)", description: "heat map, \(style.rawValue) style") {
                    try RenderingGoldenTests.draw(.heat, style: style)
                })
            for base in OverlayBase.allCases {
                for weight in [0.5, 0.3] {
                    cases.append(
                        Case(
                            name: "overlay.\(style.rawValue).\(base.rawValue).w\(Int(weight * 10))",
                            description:
                                "overlay, \(style.rawValue) style over \(base.rawValue), image weight \(weight)"
                        ) { try RenderingGoldenTests.draw(.overlay, style: style, base: base, weight: weight) })
                }
            }
        }
        for sign in AttributionSign.allCases {
            cases.append(
                Case(name: "heat.captum.sign-\(sign.rawValue)", description: "heat map, sign \(sign.rawValue)") {
                    try RenderingGoldenTests.draw(.heat, sign: sign)
                })
        }
        for view in [AttributionView.masked, .alpha, .original] {
            cases.append(
                Case(name: "view.\(view.rawValue)", description: "\(view.rawValue) view (alpha flattened over white)") {
                    try RenderingGoldenTests.draw(view, sign: .positive)
                })
        }
        for normalization in Normalization.allCases {
            for sign in [AttributionSign.all, .positive] {
                cases.append(
                    Case(
                        name: "normalize.\(normalization.rawValue).sign-\(sign.rawValue).colorbar",
                        description:
                            "heat map normalized \(normalization.rawValue), sign \(sign.rawValue), with colour bar"
                    ) { try RenderingGoldenTests.draw(.heat, sign: sign, normalization: normalization, bar: true) })
            }
        }
        cases.append(
            Case(name: "overlay.grad-cam.color.colorbar", description: "grad-cam overlay with its JET colour bar") {
                try RenderingGoldenTests.draw(
                    .overlay, sign: .positive, normalization: .minMax, style: .gradCAM, base: .color, bar: true)
            })
        for scope in ScaleScope.allCases {
            cases.append(
                Case(name: "scale.\(scope.rawValue)", description: "A and 2·A, scale \(scope.rawValue)") {
                    try RenderingGoldenTests.sharedRow(scope: scope)
                })
        }
        cases.append(
            Case(name: "scale.shared.minmax", description: "A and 2·A on one min-max scale") {
                try RenderingGoldenTests.sharedRow(scope: .shared, normalization: .minMax)
            })
        for (suffix, typeface, needs) in [("bitmap", Typeface.bitmap, false), ("freetype", Typeface.standard, true)] {
            cases.append(
                Case(name: "panel.\(suffix)", description: "readable panel, \(suffix) text", needsFreeType: needs) {
                    try RenderingGoldenTests.panel(typeface: typeface)
                })
        }
        return cases
    }()

    static func panel(typeface: Typeface) throws -> RGBImage {
        let raw = attribution()
        let image = picture()
        var columns: [ExplanationPanel.Column] = []
        for (title, style, sign) in [
            ("Integrated Gradients", OverlayStyle.captum, AttributionSign.absoluteValue),
            ("Grad-CAM", .gradCAM, .positive),
        ] {
            let options = RenderingOptions(
                colorBar: true, overlayBase: RenderingOptions.defaultOverlayBase(for: style), style: style)
            let scale = try AttributionScale.fit([raw], sign: sign, normalization: .outlier)
            let (map, warnings) = scale.apply(raw)
            columns.append(
                .init(
                    title: title, image: try AttributionRenderer.overlay(map, original: image, options: options),
                    colorBar: AttributionRenderer.colorBar(scale: scale, style: style, options: options),
                    notes: warnings.map(\.description),
                    segments: style == .gradCAM ? (0..<(width * height)).map { ($0 % width) / 8 } : nil))
        }
        var panel = ExplanationPanel(
            input: image,
            predictions: [
                .init(label: "Tomato___Early_blight", probability: 0.91),
                .init(label: "Tomato___healthy", probability: 0.06),
                .init(label: "Potato___Late_blight", probability: 0.02),
            ],
            columns: columns, mask: (0..<(width * height)).map { ($0 / width) > 9 && ($0 % width) < 10 },
            typeface: typeface)
        panel.minimumDisplaySize = 96
        return try panel.render().image
    }

    // MARK: Comparing

    static var freeTypeAvailable: Bool { Typeface.standard.isFreeType }

    @Test(.enabled(if: !recording), arguments: cases)
    func matchesGolden(_ golden: Case) throws {
        if golden.needsFreeType, !Self.freeTypeAvailable { return }
        let actual = try golden.draw()
        let hint = "(regenerate with scripts/regenerate-golden if the change is intended)"
        let url = Self.folder.appendingPathComponent(golden.file)
        let expected: RGBImage
        do {
            expected = try ImageDecoder.decode(contentsOf: url)
        } catch {
            Issue.record("Golden/rendering/\(golden.file) is unreadable: \(error) \(hint)")
            return
        }
        guard actual.width == expected.width, actual.height == expected.height else {
            Issue.record(
                "\(golden.name): size \(actual.width)x\(actual.height), golden \(expected.width)x\(expected.height) \(hint)"
            )
            Attachment.record(try PNGWriter.encode(actual), named: "\(golden.name).actual.png")
            return
        }
        var worst = 0, differing = 0
        for i in 0..<(actual.width * actual.height) {
            var d = 0
            for c in 0..<3 {
                let a = Int(actual.pixels[i * 3 + c]), e = Int(expected.pixels[i * 3 + c])
                d = max(d, abs(a - e))
            }
            worst = max(worst, d)
            if d > 0 { differing += 1 }
        }
        let limit = Self.tolerances.maxDiffering(actual)
        if worst > Self.tolerances.levels || differing > limit {
            Attachment.record(try PNGWriter.encode(actual), named: "\(golden.name).actual.png")
            Issue.record(
                "\(golden.name): largest difference \(worst) levels, \(differing) pixels differ (tolerance ≤ \(Self.tolerances.levels) levels, ≤ \(limit) pixels) \(hint)"
            )
        }
    }

    @Test(.enabled(if: !recording))
    func manifestMatchesTheCases() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("manifest.json"))
        let manifest = try JSONDecoder.renderingGolden.decode(Manifest.self, from: data)
        #expect(manifest.tolerances == Self.tolerances)
        #expect(manifest.cases.map(\.name) == Self.cases.map(\.name), "stale Golden/rendering/manifest.json")
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: Self.folder.path))
        let owned = Set(Self.cases.map(\.file) + ["manifest.json", "README.md"])
        #expect(present.subtracting(owned).isEmpty, "unexpected files: \(present.subtracting(owned))")
        #expect(owned.subtracting(present).subtracting(["README.md"]).isEmpty, "missing: \(owned.subtracting(present))")
    }

    // MARK: Recording (scripts/regenerate-golden only)

    struct Manifest: Codable {
        struct Entry: Codable {
            var name: String
            var file: String
            var description: String
            var width: Int
            var height: Int
            var maxDifferingPixels: Int
            var needsFreeType: Bool
        }
        var comment =
            "Written by scripts/regenerate-golden; compared by Tests/LeafLensImagingTests/RenderingGoldenTests.swift."
        var tolerances: Tolerances
        var cases: [Entry]
    }

    @Test(.enabled(if: recording))
    func record() throws {
        let directory = URL(fileURLWithPath: try #require(Self.recordDirectory)).appendingPathComponent("rendering")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try #require(Self.freeTypeAvailable, "recording needs DejaVu Sans and FreeType (scripts/install-dependencies)")
        var entries: [Manifest.Entry] = []
        for golden in Self.cases {
            let image = try golden.draw()
            try PNGWriter.encode(image).write(to: directory.appendingPathComponent(golden.file))
            entries.append(
                .init(
                    name: golden.name, file: golden.file, description: golden.description, width: image.width,
                    height: image.height, maxDifferingPixels: Self.tolerances.maxDiffering(image),
                    needsFreeType: golden.needsFreeType))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var data = try encoder.encode(Manifest(tolerances: Self.tolerances, cases: entries))
        data.append(0x0A)
        try data.write(to: directory.appendingPathComponent("manifest.json"))
    }
}

extension JSONDecoder {
    static var renderingGolden: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension RGBImage {
    /// A copy with `image` pasted at (x, 0) (test helper; the library's paste is internal).
    func pasting(_ image: RGBImage, x: Int) -> RGBImage {
        var pixels = self.pixels
        for row in 0..<min(image.height, height) {
            for column in 0..<image.width where x + column < width {
                for c in 0..<3 {
                    pixels[(row * width + x + column) * 3 + c] = image.pixels[(row * image.width + column) * 3 + c]
                }
            }
        }
        return (try? RGBImage(width: width, height: height, pixels: pixels)) ?? self
    }
}
