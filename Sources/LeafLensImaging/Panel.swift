/// A side-by-side picture: one column per image (the original, then one per attribution method), each
/// with a title (e.g. the method name) and a subtitle (e.g. the predicted label and probability) above
/// it, on a white background:
///
///     ┌──────────────────────────────────────────────┐
///     │ margin                                       │
///     │   title      gap   title      gap   title    │  title band: titles at `titleScale`,
///     │   subtitle         subtitle         subtitle │  subtitles wrapped to ≤ `subtitleLines` lines
///     │   ┌──────┐         ┌──────┐         ┌──────┐ │
///     │   │image │         │image │         │image │ │  cells: max image width × max image height
///     │   └──────┘         └──────┘         └──────┘ │
///     │ margin                                       │
///     └──────────────────────────────────────────────┘
///
/// Every column is as wide as the widest image (at least `minimumColumnWidth`); images smaller than the
/// cell are centred in it. Titles take the largest scale (≤ `titleScale`) at which all of them fit,
/// where columns may widen by a quarter for scales above 1, or up to `widestColumnForTitles` at
/// scale 1; a title longer than that is truncated with "…". Subtitles wrap to `subtitleLines` lines,
/// then are truncated. Text is centred over its column and never wider than it.
public enum Panel {
    public struct Column: Sendable, Equatable {
        public var title: String
        public var subtitle: String
        public var image: RGBImage

        public init(title: String, subtitle: String = "", image: RGBImage) {
            self.title = title
            self.subtitle = subtitle
            self.image = image
        }
    }

    public struct Style: Sendable, Equatable {
        /// Blank border around the whole panel, in pixels.
        public var margin = 16
        /// Blank space between columns.
        public var gap = 16
        /// Largest font scale for titles (shrunk so all titles fit; see `Panel`).
        public var titleScale = 2
        public var subtitleScale = 1
        public var subtitleLines = 2
        public var minimumColumnWidth = 96
        /// Columns narrower than a title at scale 1 widen to fit it, up to this width (see `Panel`).
        public var widestColumnForTitles = 320
        public var background = RGBColor.white
        public var titleColor = RGBColor.black
        public var subtitleColor = RGBColor(r: 70, g: 70, b: 70)
        /// A 1-pixel frame just outside each image (so white heat maps stay visible), or nil.
        public var frame: RGBColor? = RGBColor(r: 200, g: 200, b: 200)

        public init() {}
        public static let standard = Style()
    }

    /// Where everything goes; `render` draws exactly this.
    public struct Layout: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let columnWidth: Int
        public let cellHeight: Int
        public let titleScale: Int
        /// Top rows of the title line, the first subtitle line and the image cells.
        public let titleTop: Int
        public let subtitleTop: Int
        public let imageTop: Int
        /// Height of one subtitle line (glyphs plus 2 blank rows, times the scale).
        public let subtitleLineHeight: Int
        /// Each column's lines of subtitle, as drawn.
        public let subtitleLines: [[String]]
        public let margin: Int
        public let gap: Int

        /// Left edge of column `index`.
        public func columnLeft(_ index: Int) -> Int { margin + index * (columnWidth + gap) }

        /// Top-left corner of an image of `width`×`height` centred in column `index`'s cell.
        public func imageOrigin(column index: Int, width: Int, height: Int) -> (x: Int, y: Int) {
            (columnLeft(index) + (columnWidth - width) / 2, imageTop + (cellHeight - height) / 2)
        }
    }

    /// Computes the geometry. Throws for no columns, negative style sizes or an absurdly large panel.
    public static func layout(columns: [Column], style: Style = .standard) throws(ImageError) -> Layout {
        guard !columns.isEmpty else { throw invalid("a panel needs at least one column") }
        guard style.margin >= 0, style.gap >= 0, style.minimumColumnWidth >= 0, style.subtitleLines >= 0,
            style.margin <= 10_000, style.gap <= 10_000, style.minimumColumnWidth <= 100_000,
            style.widestColumnForTitles >= 0, style.widestColumnForTitles <= 100_000
        else {
            throw invalid("panel margin, gap, column width and subtitle lines must be non-negative and sensible")
        }
        let limit = RGBImage.maxComputedPixels
        let base = max(columns.map(\.image.width).max() ?? 0, style.minimumColumnWidth)
        let cellHeight = columns.map(\.image.height).max() ?? 0
        guard base <= limit, cellHeight <= limit, columns.count <= limit else {
            throw invalid("panel images are too large (\(base)x\(cellHeight))")
        }
        // Titles take the largest scale at which all fit, letting columns widen a little (a quarter)
        // for large scales and up to `widestColumnForTitles` for scale 1; longer titles are truncated.
        func widestTitle(_ scale: Int) -> Int {
            columns.map { BitmapFont.measure($0.title, scale: scale).width }.max() ?? 0
        }
        func allowance(_ scale: Int) -> Int { scale == 1 ? max(base, style.widestColumnForTitles) : base + base / 4 }
        let maxTitleScale = BitmapFont.clampedScale(style.titleScale)
        let titleScale = (1...maxTitleScale).reversed().first { widestTitle($0) <= allowance($0) } ?? 1
        let columnWidth = max(base, min(widestTitle(titleScale), allowance(titleScale)))
        let hasTitles = columns.contains { !$0.title.isEmpty }
        let titleHeight = hasTitles ? BitmapFont.glyphHeight * titleScale : 0

        let subtitleScale = BitmapFont.clampedScale(style.subtitleScale)
        let subtitleLines = columns.map {
            BitmapFont.wrapped($0.subtitle, maxWidth: columnWidth, scale: subtitleScale, maxLines: style.subtitleLines)
        }
        let subtitleLineHeight = (BitmapFont.glyphHeight + 2) * subtitleScale
        let subtitleRows = (subtitleLines.map(\.count).max() ?? 0) * subtitleLineHeight

        let titleTop = style.margin
        let subtitleTop = titleTop + titleHeight + (hasTitles ? 4 * titleScale : 0)
        let imageTop = subtitleTop + subtitleRows + (hasTitles || subtitleRows > 0 ? 8 : 0)
        let height = imageTop + cellHeight + style.margin
        let (columnsWidth, o1) = columns.count.multipliedReportingOverflow(by: columnWidth + style.gap)
        let width = columnsWidth - style.gap + 2 * style.margin
        let (pixels, o2) = width.multipliedReportingOverflow(by: height)
        guard !o1, !o2, pixels <= limit else {
            throw invalid("a panel of \(columns.count) columns of \(columnWidth)x\(cellHeight) is too large")
        }
        return Layout(
            width: width, height: height, columnWidth: columnWidth, cellHeight: cellHeight, titleScale: titleScale,
            titleTop: titleTop, subtitleTop: subtitleTop, imageTop: imageTop, subtitleLineHeight: subtitleLineHeight,
            subtitleLines: subtitleLines, margin: style.margin, gap: style.gap)
    }

    /// Draws the panel (see `Panel` for the layout).
    public static func render(columns: [Column], style: Style = .standard) throws(ImageError) -> RGBImage {
        let layout = try layout(columns: columns, style: style)
        var canvas = try RGBImage.filled(width: layout.width, height: layout.height, color: style.background)
        let subtitleScale = BitmapFont.clampedScale(style.subtitleScale)
        for (index, column) in columns.enumerated() {
            let left = layout.columnLeft(index)
            let title = BitmapFont.truncated(column.title, maxWidth: layout.columnWidth, scale: layout.titleScale)
            let titleWidth = BitmapFont.measure(title, scale: layout.titleScale).width
            BitmapFont.draw(
                title, into: &canvas, x: left + (layout.columnWidth - titleWidth) / 2, y: layout.titleTop,
                color: style.titleColor, scale: layout.titleScale)
            for (line, text) in layout.subtitleLines[index].enumerated() {
                let textWidth = BitmapFont.measure(text, scale: subtitleScale).width
                BitmapFont.draw(
                    text, into: &canvas, x: left + (layout.columnWidth - textWidth) / 2,
                    y: layout.subtitleTop + line * layout.subtitleLineHeight, color: style.subtitleColor,
                    scale: subtitleScale)
            }
            let image = column.image
            let origin = layout.imageOrigin(column: index, width: image.width, height: image.height)
            if let frame = style.frame, image.width > 0, image.height > 0 {
                canvas.strokeRectangle(
                    x: origin.x - 1, y: origin.y - 1, width: image.width + 2, height: image.height + 2, color: frame)
            }
            canvas.paste(image, x: origin.x, y: origin.y)
        }
        return canvas
    }

    private static func invalid(_ text: String) -> ImageError {
        ImageError(source: "<panel>", problem: .invalidArgument(text))
    }
}

extension RGBImage {
    /// Copies `image` with its top-left corner at (`x`, `y`), clipped to this image.
    mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        let x0 = max(x, 0), x1 = min(x + image.width, width)
        let y0 = max(y, 0), y1 = min(y + image.height, height)
        guard x0 < x1, y0 < y1 else { return }
        let canvasWidth = width
        let source = image.pixels
        editPixels { pixels in
            for row in y0..<y1 {
                let from = ((row - y) * image.width + (x0 - x)) * 3
                let to = (row * canvasWidth + x0) * 3
                let count = (x1 - x0) * 3
                pixels.replaceSubrange(to..<(to + count), with: source[from..<(from + count)])
            }
        }
    }

    /// Draws the 1-pixel outline of a rectangle, clipped to this image.
    mutating func strokeRectangle(x: Int, y: Int, width rectWidth: Int, height rectHeight: Int, color: RGBColor) {
        guard rectWidth > 0, rectHeight > 0 else { return }
        let canvasWidth = width, canvasHeight = height
        editPixels { pixels in
            func set(_ px: Int, _ py: Int) {
                guard px >= 0, px < canvasWidth, py >= 0, py < canvasHeight else { return }
                let i = (py * canvasWidth + px) * 3
                pixels[i] = color.r
                pixels[i + 1] = color.g
                pixels[i + 2] = color.b
            }
            for px in x..<(x + rectWidth) {
                set(px, y)
                set(px, y + rectHeight - 1)
            }
            for py in y..<(y + rectHeight) {
                set(x, py)
                set(x + rectWidth - 1, py)
            }
        }
    }
}
