import LeafLensImaging
import Testing

@Suite struct BitmapFontTests {
    static let printable: [Character] = (32...126).map { Character(Unicode.Scalar(UInt8($0))) }

    /// The ink pixels of `image` that differ from white, as (x, y).
    static func ink(_ image: RGBImage) -> Set<[Int]> {
        var set = Set<[Int]>()
        for y in 0..<image.height {
            for x in 0..<image.width where image[x, y] != (255, 255, 255) { set.insert([x, y]) }
        }
        return set
    }

    static func white(_ width: Int, _ height: Int) throws -> RGBImage {
        try RGBImage.filled(width: width, height: height, color: .white)
    }

    // MARK: Glyph table

    @Test func everyPrintableGlyphHasInkExceptSpace() {
        for character in Self.printable {
            let rows = BitmapFont.rows(of: character)
            #expect(rows.count == BitmapFont.glyphHeight)
            #expect(rows.allSatisfy { $0 < 0x20 }, "glyph '\(character)' wider than 5 columns")
            if character == " " {
                #expect(rows.allSatisfy { $0 == 0 })
            } else {
                #expect(rows.contains { $0 != 0 }, "glyph '\(character)' is empty")
            }
        }
    }

    @Test func glyphsAreDistinct() {
        var seen: [[UInt8]: Character] = [:]
        for character in Self.printable + [BitmapFont.ellipsis] {
            let rows = BitmapFont.rows(of: character)
            #expect(seen[rows] == nil, "'\(character)' looks like '\(seen[rows].map(String.init) ?? "")'")
            seen[rows] = character
        }
    }

    /// Only descenders reach the bottom row, so text sits on one baseline.
    @Test func onlyDescendersUseTheBottomRow() {
        let descending = Self.printable.filter { BitmapFont.rows(of: $0)[BitmapFont.glyphHeight - 1] != 0 }
        #expect(String(descending) == ",_gjpqy")
    }

    @Test(arguments: ["é", "\n", "\t", "€", "🌿", "\u{7F}"])
    func charactersOutsidePrintableASCIIAreQuestionMarks(_ text: String) throws {
        let character = try #require(text.first)
        #expect(BitmapFont.rows(of: character) == BitmapFont.rows(of: "?"))
    }

    @Test func isInkMatchesRowsAndIsFalseOutside() {
        let rows = BitmapFont.rows(of: "A")
        for row in 0..<BitmapFont.glyphHeight {
            for column in 0..<BitmapFont.glyphWidth {
                #expect(BitmapFont.isInk("A", column: column, row: row) == (rows[row] & (0x10 >> UInt8(column)) != 0))
            }
        }
        #expect(!BitmapFont.isInk("A", column: -1, row: 0))
        #expect(!BitmapFont.isInk("A", column: 5, row: 3))
        #expect(!BitmapFont.isInk("A", column: 0, row: 8))
    }

    // MARK: Measuring

    struct MeasureCase: Sendable, CustomTestStringConvertible {
        let text: String, scale: Int, width: Int, height: Int
        var testDescription: String { "\"\(text)\" ×\(scale)" }
    }

    @Test(arguments: [
        MeasureCase(text: "", scale: 1, width: 0, height: 8),
        MeasureCase(text: "A", scale: 1, width: 5, height: 8),
        MeasureCase(text: "AB", scale: 1, width: 11, height: 8),
        MeasureCase(text: "AB", scale: 2, width: 22, height: 16),
        MeasureCase(text: "leaf 87.5%", scale: 3, width: (10 * 6 - 1) * 3, height: 24),
        MeasureCase(text: "é…", scale: 1, width: 11, height: 8),  // one glyph per Character
        MeasureCase(text: "x", scale: 0, width: 5, height: 8),  // scale clamped to 1
        MeasureCase(text: "x", scale: 1000, width: 5 * 64, height: 8 * 64),  // and to maxScale
    ])
    func measure(_ c: MeasureCase) {
        let size = BitmapFont.measure(c.text, scale: c.scale)
        #expect(size.width == c.width)
        #expect(size.height == c.height)
    }

    // MARK: Drawing

    /// "T" at (1, 2): the top bar is row 2, x 1...5; the stem is x 3, rows 3...8.
    @Test func drawsAtTheGivenPosition() throws {
        var image = try Self.white(10, 12)
        let width = BitmapFont.draw("T", into: &image, x: 1, y: 2, color: .black)
        #expect(width == 5)
        var expected = Set<[Int]>()
        for x in 1...5 { expected.insert([x, 2]) }
        for y in 3...8 { expected.insert([3, y]) }
        #expect(Self.ink(image) == expected)
        #expect(image[3, 5] == (0, 0, 0))
    }

    /// Every font pixel becomes a scale×scale block, glyphs `advance·scale` apart, in the given colour.
    @Test(arguments: [1, 2, 3])
    func drawsScaledGlyphsWithTheAdvance(scale: Int) throws {
        let text = "Hi!"
        let size = BitmapFont.measure(text, scale: scale)
        var image = try Self.white(size.width + 4, size.height + 4)
        let red = RGBColor(r: 200, g: 10, b: 20)
        BitmapFont.draw(text, into: &image, x: 2, y: 2, color: red, scale: scale)
        var expected = Set<[Int]>()
        for (k, character) in text.enumerated() {
            for row in 0..<8 {
                for column in 0..<5 where BitmapFont.isInk(character, column: column, row: row) {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            expected.insert([
                                2 + k * BitmapFont.advance * scale + column * scale + dx, 2 + row * scale + dy,
                            ])
                        }
                    }
                }
            }
        }
        #expect(Self.ink(image) == expected)
        for point in expected { #expect(image[point[0], point[1]] == (200, 10, 20)) }
    }

    struct ClipCase: Sendable, CustomTestStringConvertible {
        let x: Int, y: Int, scale: Int
        var testDescription: String { "(\(x), \(y)) ×\(scale)" }
    }

    /// Drawing partly outside equals drawing on a larger canvas and cropping.
    @Test(arguments: [
        ClipCase(x: -7, y: -3, scale: 1), ClipCase(x: 15, y: 5, scale: 1), ClipCase(x: -4, y: 9, scale: 2),
        ClipCase(x: 3, y: -12, scale: 2), ClipCase(x: 18, y: 11, scale: 3),
    ])
    func clipsAtTheBorders(_ c: ClipCase) throws {
        let (width, height, pad) = (20, 12, 40)
        var small = try Self.white(width, height)
        var large = try Self.white(width + 2 * pad, height + 2 * pad)
        BitmapFont.draw("Wg#", into: &small, x: c.x, y: c.y, scale: c.scale)
        BitmapFont.draw("Wg#", into: &large, x: c.x + pad, y: c.y + pad, scale: c.scale)
        let cropped = Set(
            Self.ink(large).compactMap { p -> [Int]? in
                let (x, y) = (p[0] - pad, p[1] - pad)
                return x >= 0 && x < width && y >= 0 && y < height ? [x, y] : nil
            })
        #expect(Self.ink(small) == cropped)
        #expect(!cropped.isEmpty, "case should draw something inside")
    }

    @Test func textWhollyOutsideOrAtExtremeCoordinatesDrawsNothing() throws {
        let blank = try Self.white(8, 8)
        for (x, y) in [
            (Int.max, 0), (Int.min, 0), (0, Int.max), (0, Int.min), (-100, 2), (8, 0), (0, 8),
            (Int.max - 3, Int.max - 3),
        ] {
            var image = blank
            BitmapFont.draw("Hello", into: &image, x: x, y: y, scale: 64)
            #expect(image == blank, "(\(x), \(y))")
        }
        var empty = try Self.white(0, 0)
        BitmapFont.draw("x", into: &empty, x: 0, y: 0)
        #expect(empty.width == 0)
    }

    // MARK: Truncation and wrapping

    struct TruncateCase: Sendable, CustomTestStringConvertible {
        let text: String, maxWidth: Int, scale: Int, expected: String
        var testDescription: String { "\"\(text)\" in \(maxWidth) ×\(scale)" }
    }

    @Test(arguments: [
        TruncateCase(text: "abcdef", maxWidth: 35, scale: 1, expected: "abcdef"),  // 6·6 − 1 = 35 fits exactly
        TruncateCase(text: "abcdefg", maxWidth: 35, scale: 1, expected: "abcde…"),
        TruncateCase(text: "abcdefg", maxWidth: 70, scale: 2, expected: "abcde…"),
        TruncateCase(text: "ab  cdefg", maxWidth: 29, scale: 1, expected: "ab…"),  // trailing spaces dropped
        TruncateCase(text: "abc", maxWidth: 5, scale: 1, expected: "…"),
        TruncateCase(text: "abc", maxWidth: 4, scale: 1, expected: ""),
        TruncateCase(text: "abc", maxWidth: -3, scale: 1, expected: ""),
    ])
    func truncatesWithAnEllipsis(_ c: TruncateCase) {
        let result = BitmapFont.truncated(c.text, maxWidth: c.maxWidth, scale: c.scale)
        #expect(result == c.expected)
        #expect(BitmapFont.measure(result, scale: c.scale).width <= max(c.maxWidth, 0))
    }

    @Test func drawWithMaxWidthStaysInside() throws {
        var image = try Self.white(100, 10)
        let drawn = BitmapFont.draw(
            "Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot", into: &image, x: 10, y: 1, maxWidth: 50)
        #expect(drawn <= 50)
        #expect(Self.ink(image).allSatisfy { $0[0] >= 10 && $0[0] < 60 })
    }

    @Test func wrapsAtSeparatorsAndEllipsizesTheLastLine() {
        let label = "Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot"
        let lines = BitmapFont.wrapped(label, maxWidth: 131, scale: 1, maxLines: 2)  // 22 glyphs a line
        #expect(lines == ["Corn_(maize)___", "Cercospora_leaf_spot…"])
        #expect(lines.allSatisfy { BitmapFont.measure($0).width <= 131 })
        #expect(BitmapFont.wrapped("Tomato healthy 99.10%", maxWidth: 200, maxLines: 2) == ["Tomato healthy 99.10%"])
        #expect(BitmapFont.wrapped("aaaaaaaaaaaa", maxWidth: 35, maxLines: 3) == ["aaaaaa", "aaaaaa"])
        #expect(BitmapFont.wrapped("", maxWidth: 35, maxLines: 3) == [])
        #expect(BitmapFont.wrapped("abc", maxWidth: 2, maxLines: 3) == [])
        #expect(BitmapFont.wrapped("abc", maxWidth: 50, maxLines: 0) == [])
    }
}
