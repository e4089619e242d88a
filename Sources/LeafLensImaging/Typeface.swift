import CFreeType
import Foundation

/// Text for panels and colour bars: DejaVu Sans rendered by FreeType (anti-aliased, hinted), or the
/// built-in 5×8 `BitmapFont` when the font file cannot be loaded. `name` says which one draws, so the
/// pipeline can report it.
///
/// Sizes are pixel sizes (FreeType's em size; for the bitmap font the glyph height ×
/// ⌊size / 8⌋, at least 1). `draw` takes the top of the line box; text clips at the image borders.
public struct Typeface: Sendable {
    enum Engine: Sendable {
        case freeType(FreeTypeFace)
        case bitmap
    }

    let engine: Engine
    /// "DejaVu Sans (FreeType 2.12.1)" or "built-in 5x8 bitmap font".
    public let name: String

    /// Debian's `fonts-dejavu-core` location.
    public static let dejaVuSansPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    /// DejaVu Sans if it loads, else the bitmap font; loaded once per process.
    public static let standard: Typeface = (try? Typeface(fontFile: dejaVuSansPath)) ?? .bitmap

    /// The built-in bitmap font.
    public static let bitmap = Typeface(engine: .bitmap, name: "built-in 5x8 bitmap font")

    public var isFreeType: Bool {
        if case .freeType = engine { return true }
        return false
    }

    init(engine: Engine, name: String) {
        self.engine = engine
        self.name = name
    }

    /// Loads a TrueType/OpenType file with FreeType.
    public init(fontFile path: String) throws(RenderingError) {
        let face = try FreeTypeFace(path: path)
        let family = face.familyName ?? (path as NSString).lastPathComponent
        self.init(engine: .freeType(face), name: "\(family) (FreeType \(face.version))")
    }

    /// Height of one line of text at `size` (ascent + descent, plus FreeType's line gap).
    public func lineHeight(size: Int) -> Int {
        switch engine {
        case .freeType(let face): face.metrics(size: size).lineHeight
        case .bitmap: (BitmapFont.glyphHeight + 2) * bitmapScale(size)
        }
    }

    /// Width of `text` at `size`, in pixels.
    public func width(_ text: String, size: Int) -> Int {
        switch engine {
        case .freeType(let face): face.width(text, size: size)
        case .bitmap: BitmapFont.measure(Self.asciiFallback(text), scale: bitmapScale(size)).width
        }
    }

    /// The bitmap font has ASCII only (and "…"): common typographic characters become their ASCII
    /// look-alikes instead of "?".
    static func asciiFallback(_ text: String) -> String {
        String(
            text.map { (c: Character) -> Character in
                switch c {
                case "\u{00D7}": "x"
                case "\u{00B7}": "."
                case "\u{2013}", "\u{2014}", "\u{2212}": "-"
                case "\u{00A0}": " "
                default: c
                }
            })
    }

    /// Draws `text` with the top of its line box at `y`.
    public func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int, size: Int, color: RGBColor) {
        switch engine {
        case .freeType(let face): face.draw(text, into: &image, x: x, y: y, size: size, color: color)
        case .bitmap:
            BitmapFont.draw(
                Self.asciiFallback(text), into: &image, x: x, y: y + bitmapScale(size), color: color,
                scale: bitmapScale(size))
        }
    }

    /// `text` shortened with "…" until it fits in `maxWidth`.
    public func truncated(_ text: String, maxWidth: Int, size: Int) -> String {
        if width(text, size: size) <= maxWidth { return text }
        var characters = Array(text)
        while !characters.isEmpty {
            characters.removeLast()
            let candidate = String(characters) + "\u{2026}"
            if width(candidate, size: size) <= maxWidth { return candidate }
        }
        return ""
    }

    /// Greedy word wrap to `maxWidth`, at most `maxLines` lines (the last truncated with "…").
    public func wrapped(_ text: String, maxWidth: Int, size: Int, maxLines: Int) -> [String] {
        guard maxLines > 0, !text.isEmpty else { return [] }
        var lines: [String] = []
        var current = ""
        let words = text.split(separator: " ").map(String.init)
        for (index, word) in words.enumerated() {
            let candidate = current.isEmpty ? word : current + " " + word
            if width(candidate, size: size) <= maxWidth || current.isEmpty {
                current = candidate
                continue
            }
            lines.append(current)
            current = word
            if lines.count == maxLines - 1 {
                current = words[index...].joined(separator: " ")
                break
            }
        }
        if !current.isEmpty { lines.append(current) }
        return Array(lines.prefix(maxLines)).map { truncated($0, maxWidth: maxWidth, size: size) }
    }

    func bitmapScale(_ size: Int) -> Int { BitmapFont.clampedScale(max(1, size / 8)) }
}

/// One FreeType face with its library and a glyph cache. FreeType objects are not thread-safe, so
/// every use holds `lock`.
final class FreeTypeFace: @unchecked Sendable {
    struct Glyph {
        var width: Int
        var rows: Int
        var left: Int
        var top: Int
        var advance: Int
        var coverage: [UInt8]
    }

    struct Metrics {
        var ascender: Int
        var lineHeight: Int
    }

    private var library: FT_Library?
    private var face: FT_Face?
    private let lock = NSLock()
    private var glyphs: [Int: [UInt32: Glyph]] = [:]
    let familyName: String?
    let version: String

    init(path: String) throws(RenderingError) {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else {
            throw .invalidInput("FreeType could not be initialised")
        }
        var face: FT_Face?
        guard FileManager.default.isReadableFile(atPath: path), FT_New_Face(library, path, 0, &face) == 0, let face
        else {
            FT_Done_FreeType(library)
            throw .invalidInput("\(path): FreeType cannot load this font")
        }
        self.library = library
        self.face = face
        familyName = face.pointee.family_name.map { String(cString: $0) }
        var major: FT_Int = 0, minor: FT_Int = 0, patch: FT_Int = 0
        FT_Library_Version(library, &major, &minor, &patch)
        version = "\(major).\(minor).\(patch)"
    }

    deinit {
        if let face { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    func metrics(size: Int) -> Metrics {
        lock.lock()
        defer { lock.unlock() }
        guard let face, setSize(size) else { return Metrics(ascender: size, lineHeight: size + size / 4) }
        let m = face.pointee.size.pointee.metrics
        return Metrics(ascender: Int(m.ascender >> 6), lineHeight: Int(m.height >> 6))
    }

    func width(_ text: String, size: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        var total = 0, overhang = 0
        for scalar in text.unicodeScalars {
            guard let glyph = glyph(scalar, size: size) else { continue }
            overhang = max(0, glyph.left + glyph.width - glyph.advance)
            total += glyph.advance
        }
        return total + overhang
    }

    func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int, size: Int, color: RGBColor) {
        lock.lock()
        defer { lock.unlock() }
        guard let face, setSize(size) else { return }
        let ascender = Int(face.pointee.size.pointee.metrics.ascender >> 6)
        var penX = x
        let baseline = y + ascender
        let (w, h) = (image.width, image.height)
        let ink = [Int(color.r), Int(color.g), Int(color.b)]
        for scalar in text.unicodeScalars {
            guard let glyph = glyph(scalar, size: size) else { continue }
            let left = penX + glyph.left, top = baseline - glyph.top
            image.editPixels { pixels in
                for row in 0..<glyph.rows {
                    let py = top + row
                    guard py >= 0, py < h else { continue }
                    for column in 0..<glyph.width {
                        let px = left + column
                        guard px >= 0, px < w else { continue }
                        let a = Int(glyph.coverage[row * glyph.width + column])
                        guard a > 0 else { continue }
                        let i = (py * w + px) * 3
                        for c in 0..<3 {
                            let blended = (ink[c] * a + Int(pixels[i + c]) * (255 - a) + 127) / 255
                            pixels[i + c] = UInt8(blended)  // safe: a convex combination of bytes
                        }
                    }
                }
            }
            penX += glyph.advance
        }
    }

    /// Call with `lock` held.
    private func setSize(_ size: Int) -> Bool {
        guard let face else { return false }
        return FT_Set_Pixel_Sizes(face, 0, FT_UInt(min(max(size, 4), 256))) == 0
    }

    /// Rendered glyph (8-bit coverage), cached; `lock` held. Missing characters draw as FreeType's
    /// .notdef box.
    private func glyph(_ scalar: Unicode.Scalar, size: Int) -> Glyph? {
        if let cached = glyphs[size]?[scalar.value] { return cached }
        guard let face, setSize(size) else { return nil }
        guard FT_Load_Char(face, FT_ULong(scalar.value), FT_Int32(FT_LOAD_RENDER)) == 0, let slot = face.pointee.glyph
        else { return nil }
        let bitmap = slot.pointee.bitmap
        let width = Int(bitmap.width), rows = Int(bitmap.rows), pitch = Int(bitmap.pitch)
        var coverage = [UInt8](repeating: 0, count: width * rows)
        if let buffer = bitmap.buffer, width > 0, rows > 0 {
            for row in 0..<rows {
                // A negative pitch means the rows are stored bottom-up.
                let source = pitch >= 0 ? row * pitch : (rows - 1 - row) * -pitch
                for column in 0..<width { coverage[row * width + column] = buffer[source + column] }
            }
        }
        let glyph = Glyph(
            width: width, rows: rows, left: Int(slot.pointee.bitmap_left), top: Int(slot.pointee.bitmap_top),
            advance: Int((slot.pointee.advance.x + 32) >> 6), coverage: coverage)
        glyphs[size, default: [:]][scalar.value] = glyph
        return glyph
    }
}
