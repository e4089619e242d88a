/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(r: UInt8, g: UInt8, b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGBColor(r: 0, g: 0, b: 0)
    public static let white = RGBColor(r: 255, g: 255, b: 255)
}

/// The project's own bitmap font: one 5×8 glyph per printable ASCII character (32–126), drawn in a
/// 6-pixel advance (one blank column between letters). Capitals and digits use rows 0–6; row 7 holds
/// the descenders of g j p q y , and the underscore. Text is a single line.
///
/// Every other character (non-ASCII, tab, newline) is drawn as `?`, except "…" (U+2026), which has a
/// one-cell glyph so truncated text stays short. `scale` multiplies every font pixel into a
/// `scale`×`scale` block; it is clamped to `1...maxScale`.
///
/// Drawing clips at the image borders (text may start at negative coordinates or run off the edge) and
/// never traps.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 8
    /// Horizontal distance from one glyph's left edge to the next (glyph plus one blank column).
    public static let advance = 6
    public static let maxScale = 64
    /// What `truncated(_:maxWidth:scale:)` appends.
    public static let ellipsis: Character = "\u{2026}"

    /// Glyph bits for ASCII 32...126. Each value holds 8 rows of 5 bits, row 0 in the highest bits
    /// (bits 39–35); within a row the highest bit (0x10) is the leftmost column.
    static let asciiGlyphs: [UInt64] = [
        0x0000000000, 0x2108420080, 0x5294000000, 0x52BEAFA940,  //   ! " #
        0x23E8E2F880, 0xC644444C60, 0x64A88AC9A0, 0x2110000000,  // $ % & '
        0x1110841040, 0x4104211100, 0x012AEA9000, 0x0109F21000,  // ( ) * +
        0x0000003088, 0x0001F00000, 0x0000003180, 0x0044444000,  // , - . /
        0x74675CC5C0, 0x23084211C0, 0x74422223E0, 0xF88820C5C0,  // 0 1 2 3
        0x11952F8840, 0xFC3C10C5C0, 0x3221E8C5C0, 0xF844442100,  // 4 5 6 7
        0x7462E8C5C0, 0x7462F08980, 0x0318063000, 0x0318061100,  // 8 9 : ;
        0x1111041040, 0x003E0F8000, 0x4104111100, 0x7442220080,  // < = > ?
        0x7442DAD5C0, 0x7463F8C620, 0xF463E8C7C0, 0x74610845C0,  // @ A B C
        0xE4A318CB80, 0xFC21E843E0, 0xFC21E84200, 0x746178C5E0,  // D E F G
        0x8C63F8C620, 0x71084211C0, 0x3884214980, 0x8CA98A4A20,  // H I J K
        0x84210843E0, 0x8EEB58C620, 0x8C7359C620, 0x746318C5C0,  // L M N O
        0xF463E84200, 0x74631AC9A0, 0xF463EA4A20, 0x7C20E087C0,  // P Q R S
        0xF908421080, 0x8C6318C5C0, 0x8C6318A880, 0x8C635AD540,  // T U V W
        0x8C54454620, 0x8C54421080, 0xF8444443E0, 0x72108421C0,  // X Y Z [
        0x0410410400, 0x70842109C0, 0x22A2000000, 0x000000001F,  // \ ] ^ _
        0x4104000000, 0x001C17C5E0, 0x842D98C7C0, 0x001D0845C0,  // ` a b c
        0x085B38C5E0, 0x001D1FC1C0, 0x3251C42100, 0x001F18BC2E,  // d e f g
        0x842D98C620, 0x20184211C0, 0x100C210A4C, 0x84254C5240,  // h i j k
        0x61084211C0, 0x00355AC620, 0x002D98C620, 0x001D18C5C0,  // l m n o
        0x003D18FA10, 0x001F18BC21, 0x002D984200, 0x001F0707C0,  // p q r s
        0x42388424C0, 0x002318CDA0, 0x002318A880, 0x00231AD540,  // t u v w
        0x0022A22A20, 0x002318BC2E, 0x003E2223E0, 0x1108821040,  // x y z {
        0x2108421080, 0x4108221100, 0x0011510000,  // | } ~
    ]
    /// "…": three dots on the baseline row.
    static let ellipsisGlyph: UInt64 = 0b10101 << 5

    /// The 8 rows (5 bits each, 0x10 = leftmost column) drawn for `character`.
    public static func rows(of character: Character) -> [UInt8] {
        let bits = glyphBits(character)
        return (0..<glyphHeight).map { UInt8(truncatingIfNeeded: (bits >> UInt64(5 * (glyphHeight - 1 - $0))) & 0x1F) }
    }

    /// Whether font pixel (`column`, `row`) of `character` is ink.
    public static func isInk(_ character: Character, column: Int, row: Int) -> Bool {
        guard (0..<glyphWidth).contains(column), (0..<glyphHeight).contains(row) else { return false }
        let bits = glyphBits(character)
        return (bits >> UInt64(5 * (glyphHeight - 1 - row) + (glyphWidth - 1 - column))) & 1 == 1
    }

    static func glyphBits(_ character: Character) -> UInt64 {
        if character == ellipsis { return ellipsisGlyph }
        if let ascii = character.asciiValue, ascii >= 32, ascii <= 126 { return asciiGlyphs[Int(ascii) - 32] }
        return asciiGlyphs[Int(Character("?").asciiValue ?? 63) - 32]
    }

    static func clampedScale(_ scale: Int) -> Int { min(max(scale, 1), maxScale) }

    /// The size of `text` drawn at `scale`: n glyphs take n·advance − 1 columns (no trailing blank
    /// column) times `scale`; the height is always `glyphHeight·scale`, descender row included.
    /// Empty text is 0 wide.
    public static func measure(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let s = clampedScale(scale)
        let count = text.count
        return (count == 0 ? 0 : (count * advance - 1) * s, glyphHeight * s)
    }

    /// `text` if it fits in `maxWidth` at `scale`; otherwise its longest prefix that fits with "…"
    /// appended (trailing spaces dropped before the ellipsis); "" if not even "…" fits.
    public static func truncated(_ text: String, maxWidth: Int, scale: Int = 1) -> String {
        if measure(text, scale: scale).width <= maxWidth { return text }
        let s = clampedScale(scale)
        // n glyphs fit when (n·advance − 1)·s ≤ maxWidth; one of them is the ellipsis.
        let fitting = (maxWidth / s + 1) / advance
        guard fitting >= 1 else { return "" }
        return String(text.prefix(fitting - 1)).trimmingTrailingSpaces() + String(ellipsis)
    }

    /// Splits `text` into at most `maxLines` lines no wider than `maxWidth`, breaking after a space,
    /// underscore, hyphen or comma where possible (else anywhere); the last line is truncated with "…"
    /// if text remains.
    public static func wrapped(_ text: String, maxWidth: Int, scale: Int = 1, maxLines: Int) -> [String] {
        let s = clampedScale(scale)
        let perLine = max((maxWidth / s + 1) / advance, 0)
        guard maxLines >= 1, perLine >= 1 else { return [] }
        var lines: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if lines.count == maxLines - 1 || rest.count <= perLine {
                lines.append(truncated(String(rest), maxWidth: maxWidth, scale: s))
                break
            }
            let window = rest.prefix(perLine)
            // Break after the last separator in the window, unless that leaves only spaces.
            var line = String(window)
            var cut = window.endIndex
            if let separator = window.lastIndex(where: { " _-,".contains($0) }) {
                let candidate = String(window[...separator]).trimmingTrailingSpaces()
                if !candidate.isEmpty {
                    line = candidate
                    cut = window.index(after: separator)
                }
            }
            lines.append(line.trimmingTrailingSpaces())
            rest = rest[cut...].drop { $0 == " " }
        }
        return lines
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), every ink pixel set to `color`. With
    /// `maxWidth`, text that does not fit is truncated with "…" first. Pixels outside the image are
    /// skipped. Returns the width drawn (as `measure` of the text actually drawn).
    @discardableResult
    public static func draw(
        _ text: String, into image: inout RGBImage, x: Int, y: Int, color: RGBColor = .black, scale: Int = 1,
        maxWidth: Int? = nil
    ) -> Int {
        let s = clampedScale(scale)
        let shown = maxWidth.map { truncated(text, maxWidth: $0, scale: s) } ?? text
        let width = image.width, height = image.height
        guard width > 0, height > 0, !shown.isEmpty else { return measure(shown, scale: s).width }
        image.editPixels { pixels in
            var left = x
            for character in shown {
                defer { left = left.addingReportingOverflow(advance * s).partialValue }
                // Skip glyphs wholly outside the image (also keeps the arithmetic below in range).
                guard left < width, left > -glyphWidth * s, y < height, y > -glyphHeight * s else { continue }
                let rows = self.rows(of: character)
                for (row, bits) in rows.enumerated() where bits != 0 {
                    for column in 0..<glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                        fillClipped(
                            &pixels, width: width, height: height, x: left + column * s, y: y + row * s, size: s,
                            color: color)
                    }
                }
            }
        }
        return measure(shown, scale: s).width
    }

    /// Fills the `size`×`size` square at (`x`, `y`), clipped to the image.
    private static func fillClipped(
        _ pixels: inout [UInt8], width: Int, height: Int, x: Int, y: Int, size: Int, color: RGBColor
    ) {
        let x0 = max(x, 0), x1 = min(x + size, width)
        let y0 = max(y, 0), y1 = min(y + size, height)
        guard x0 < x1, y0 < y1 else { return }
        for py in y0..<y1 {
            for px in x0..<x1 {
                let i = (py * width + px) * 3
                pixels[i] = color.r
                pixels[i + 1] = color.g
                pixels[i + 2] = color.b
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

extension RGBImage {
    /// Runs `body` on this image's pixels in place: the buffer is moved out first, so no copy is made
    /// when the image holds the only reference. `body` must keep the count unchanged.
    mutating func editPixels(_ body: (inout [UInt8]) -> Void) {
        let (w, h) = (width, height)
        var buffer = pixels
        self = RGBImage(uncheckedWidth: 0, height: 0, pixels: [])
        body(&buffer)
        self = RGBImage(uncheckedWidth: w, height: h, pixels: buffer)
    }

    /// A `width`×`height` image filled with `color`.
    public static func filled(width: Int, height: Int, color: RGBColor) throws(ImageError) -> RGBImage {
        guard width >= 0, height >= 0, !width.multipliedReportingOverflow(by: height).overflow,
            width * height <= maxComputedPixels
        else {
            throw ImageError(source: "<memory>", problem: .invalidArgument("cannot make a \(width)x\(height) image"))
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = color.r
            pixels[i + 1] = color.g
            pixels[i + 2] = color.b
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }
}
