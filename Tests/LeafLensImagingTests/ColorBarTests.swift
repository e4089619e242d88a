import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("ColorBar")
struct ColorBarTests {
    static func bar(sign: AttributionSign, style: OverlayStyle = .captum) throws -> ColorBar {
        let raw = try ReducedAttribution(height: 1, width: 4, values: [-0.5, 0.25, 1, 2])
        let scale = try AttributionScale.fit([raw], sign: sign, normalization: .minMax)
        return AttributionRenderer.colorBar(
            scale: scale, style: style, options: RenderingOptions(normalization: .minMax))
    }

    @Test func labelsAreTheValuesAtTheEndsAndZeroForSignAll() throws {
        let all = try Self.bar(sign: .all)
        #expect(all.ticks.map(\.label) == ["-2", "0", "2"])
        #expect(all.ticks.map(\.position) == [0, 0.5, 1])
        #expect(all.caption == "min-max, per map")
        let positive = try Self.bar(sign: .positive)
        #expect(positive.ticks.map(\.label) == ["0", "2"])
    }

    /// The strip's colours are the pictures' colours: ends of the Captum map, OpenCV JET for grad-cam.
    @Test func stripColoursAreThePicturesColours() throws {
        let captum = try Self.bar(sign: .positive)
        let low = Colormap.greens.color(normalized: 0), high = Colormap.greens.color(normalized: 1)
        #expect(
            captum.color(at: 0)
                == RGBColor(
                    r: UInt8((low.r * 255).rounded()), g: UInt8((low.g * 255).rounded()),
                    b: UInt8((low.b * 255).rounded())))
        #expect(
            captum.color(at: 1)
                == RGBColor(
                    r: UInt8((high.r * 255).rounded()), g: UInt8((high.g * 255).rounded()),
                    b: UInt8((high.b * 255).rounded())))
        let jet = try Self.bar(sign: .positive, style: .gradCAM)
        #expect(jet.color(at: 0) == RGBColor(r: 0, g: 0, b: 128))
        #expect(jet.color(at: 1) == RGBColor(r: 128, g: 0, b: 0))
        #expect(jet.cssGradient().hasPrefix("linear-gradient(to right, #000080 0.0%"))
    }

    @Test func tickLabelFormatting() {
        #expect(ColorBar.label(0) == "0")
        #expect(ColorBar.label(0.024137) == "0.0241")
        #expect(ColorBar.label(-1.5) == "-1.5")
        #expect(ColorBar.label(3.2e-6) == "3.20e-06")
        #expect(ColorBar.label(123456) == "1.23e+05")
        #expect(ColorBar.label(.nan) == "n/a")
    }

    @Test(arguments: [Typeface.standard, Typeface.bitmap])
    func rendersAndAttaches(_ typeface: Typeface) throws {
        let bar = try Self.bar(sign: .all)
        let strip = try bar.render(width: 200, typeface: typeface)
        #expect(strip.width == 200 && strip.height == ColorBar.height(typeface: typeface, textSize: 12))
        // The strip's middle row follows the colormap left to right.
        let y = ColorBar.stripHeight / 2
        func at(_ x: Int) -> RGBColor { RGBColor(r: strip[x, y].r, g: strip[x, y].g, b: strip[x, y].b) }
        #expect(at(6) == bar.color(at: 0))
        #expect(at(193) == bar.color(at: 1))
        // Some text was drawn below the strip.
        let textRows = (ColorBar.stripHeight + 4)..<strip.height
        let inked = textRows.contains { row in (0..<200).contains { strip[$0, row].r < 160 } }
        #expect(inked)
        let picture = try RGBImage(width: 50, height: 30, pixels: [UInt8](repeating: 7, count: 4500))
        let attached = try bar.attached(below: picture, typeface: typeface)
        #expect(attached.width == 180)
        #expect(attached[65, 0] == (7, 7, 7) && attached[64, 0] == (255, 255, 255))
        #expect(throws: RenderingError.self) { _ = try bar.render(width: 3) }
    }
}

@Suite("Typeface")
struct TypefaceTests {
    @Test func dejaVuThroughFreeTypeWhenInstalled() throws {
        guard FileManager.default.fileExists(atPath: Typeface.dejaVuSansPath) else {
            #expect(!Typeface.standard.isFreeType, "without the font the bitmap font draws")
            return
        }
        let face = try Typeface(fontFile: Typeface.dejaVuSansPath)
        #expect(face.isFreeType)
        #expect(face.name.hasPrefix("DejaVu Sans (FreeType 2."))
        #expect(Typeface.standard.isFreeType)
        // Proportional: "W" is wider than "i"; widths grow with the size.
        #expect(face.width("W", size: 16) > face.width("i", size: 16))
        #expect(face.width("Integrated Gradients", size: 24) > face.width("Integrated Gradients", size: 12))
        var image = try RGBImage.filled(width: 80, height: 24, color: .white)
        face.draw("Ag", into: &image, x: 2, y: 2, size: 16, color: .black)
        let dark = image.pixels.enumerated().filter { $0.offset % 3 == 0 && $0.element < 128 }.count
        let grey = image.pixels.enumerated().filter { $0.offset % 3 == 0 && $0.element > 20 && $0.element < 235 }.count
        #expect(dark > 10, "ink")
        #expect(grey > 5, "anti-aliased edges")
    }

    @Test func missingFontFileIsATypedErrorAndTheBitmapFontStillDraws() throws {
        #expect(throws: RenderingError.self) { _ = try Typeface(fontFile: "/nonexistent/font.ttf") }
        let bitmap = Typeface.bitmap
        #expect(!bitmap.isFreeType && bitmap.name == "built-in 5x8 bitmap font")
        #expect(bitmap.width("abc", size: 8) == BitmapFont.measure("abc").width)
        var image = try RGBImage.filled(width: 30, height: 12, color: .white)
        bitmap.draw("Hi", into: &image, x: 0, y: 0, size: 8, color: .black)
        #expect(image.pixels.contains(0))
    }

    @Test(arguments: [Typeface.standard, Typeface.bitmap])
    func wrapsAndTruncatesToWidth(_ face: Typeface) {
        let lines = face.wrapped(
            "Tomato Early blight with a long label that wraps", maxWidth: 120, size: 12, maxLines: 2)
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { face.width($0, size: 12) <= 120 })
        #expect(lines.last?.hasSuffix("\u{2026}") == true)
        #expect(face.truncated("short", maxWidth: 500, size: 12) == "short")
    }
}
