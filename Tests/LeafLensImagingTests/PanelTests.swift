import LeafLensImaging
import Testing

@Suite struct PanelTests {
    /// An image whose every pixel is distinct from white and from its neighbours.
    static func gradient(_ width: Int, _ height: Int, seed: UInt8 = 0) throws -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(truncatingIfNeeded: x * 3 + Int(seed)), UInt8(truncatingIfNeeded: y * 5), 100 &+ seed]
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    static var plain: Panel.Style {
        var style = Panel.Style()
        style.frame = nil
        return style
    }

    static func isWhite(_ image: RGBImage, _ x: Int, _ y: Int) -> Bool { image[x, y] == (255, 255, 255) }

    @Test func emptyColumnListIsAnError() {
        #expect(throws: ImageError.self) { try Panel.render(columns: []) }
    }

    @Test func negativeStyleSizesAreErrors() throws {
        var style = Panel.Style()
        style.margin = -1
        let column = Panel.Column(title: "a", image: try Self.gradient(4, 4))
        #expect(throws: ImageError.self) { try Panel.render(columns: [column], style: style) }
        style = Panel.Style()
        style.gap = -5
        #expect(throws: ImageError.self) { try Panel.render(columns: [column], style: style) }
    }

    /// Three 224×224 columns: width = 2·16 + 3·224 + 2·16; the title band holds a scale-2 title,
    /// 4·2 rows of space, one subtitle line of 10 rows and 8 rows before the images.
    @Test func geometryOfThreeEqualColumns() throws {
        let image = try Self.gradient(224, 224)
        let columns = ["original", "grad-cam", "occlusion"].map {
            Panel.Column(title: $0, subtitle: "Tomato_healthy 91.20%", image: image)
        }
        let layout = try Panel.layout(columns: columns)
        #expect(layout.width == 16 + 3 * 224 + 2 * 16 + 16)
        #expect(layout.columnWidth == 224)
        #expect(layout.titleScale == 2)
        #expect(layout.titleTop == 16)
        #expect(layout.subtitleTop == 16 + 16 + 8)
        #expect(layout.imageTop == 40 + 10 + 8)
        #expect(layout.height == 58 + 224 + 16)
        #expect((0..<3).map(layout.columnLeft) == [16, 256, 496])

        let panel = try Panel.render(columns: columns)
        #expect(panel.width == layout.width && panel.height == layout.height)
        for index in 0..<3 {
            let left = layout.columnLeft(index)
            #expect(panel[left, layout.imageTop] == image[0, 0])
            #expect(panel[left + 223, layout.imageTop + 223] == image[223, 223])
            #expect(panel[left + 100, layout.imageTop + 37] == image[100, 37])
            // The frame sits one pixel outside the image.
            #expect(panel[left - 1, layout.imageTop - 1] == (200, 200, 200))
        }
        #expect(Self.isWhite(panel, 0, 0))
        #expect(Self.isWhite(panel, panel.width - 1, panel.height - 1))
    }

    /// Smaller images are centred in a cell as large as the largest image.
    @Test func differentSizesAreCentred() throws {
        let big = try Self.gradient(120, 80), small = try Self.gradient(40, 30, seed: 7)
        let columns = [Panel.Column(title: "", image: big), Panel.Column(title: "", image: small)]
        let layout = try Panel.layout(columns: columns, style: Self.plain)
        #expect(layout.columnWidth == 120 && layout.cellHeight == 80)
        #expect(layout.imageTop == 16, "no text: images start at the margin")
        let origin = layout.imageOrigin(column: 1, width: 40, height: 30)
        #expect(origin.x == layout.columnLeft(1) + 40 && origin.y == 16 + 25)

        let panel = try Panel.render(columns: columns, style: Self.plain)
        #expect(panel[origin.x, origin.y] == small[0, 0])
        #expect(panel[origin.x + 39, origin.y + 29] == small[39, 29])
        // Just outside the small image, still inside its cell: background.
        #expect(Self.isWhite(panel, origin.x - 1, origin.y))
        #expect(Self.isWhite(panel, origin.x + 40, origin.y + 29))
        #expect(Self.isWhite(panel, origin.x, origin.y - 1))
        #expect(Self.isWhite(panel, origin.x, origin.y + 30))
    }

    /// Titles are centred over their column ("HM" has ink in its first and last font columns), and a column without text leaves its band white.
    @Test func titlesAreDrawnCentredInTheirBand() throws {
        let image = try Self.gradient(100, 50)
        let columns = [
            Panel.Column(title: "HM", subtitle: "leaf 50.00%", image: image), Panel.Column(title: "", image: image),
        ]
        let layout = try Panel.layout(columns: columns, style: Self.plain)
        let panel = try Panel.render(columns: columns, style: Self.plain)
        func inkColumns(_ column: Int, rows: Range<Int>) -> [Int] {
            let left = layout.columnLeft(column)
            return (left..<(left + layout.columnWidth)).filter { x in rows.contains { !Self.isWhite(panel, x, $0) } }
        }
        let titleRows = layout.titleTop..<(layout.titleTop + 8 * layout.titleScale)
        let ink = inkColumns(0, rows: titleRows)
        let titleWidth = BitmapFont.measure("HM", scale: layout.titleScale).width
        #expect(ink.first == layout.columnLeft(0) + (100 - titleWidth) / 2)
        #expect(ink.last == layout.columnLeft(0) + (100 - titleWidth) / 2 + titleWidth - 1)
        #expect(!inkColumns(0, rows: layout.subtitleTop..<layout.imageTop).isEmpty)
        #expect(inkColumns(1, rows: 0..<layout.imageTop).isEmpty)
    }

    /// Long titles shrink to scale 1 and are truncated; nothing is drawn in the gaps or margins.
    @Test func longTextStaysInsideItsColumn() throws {
        let image = try Self.gradient(120, 60)
        let long = "Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot 12.34%"
        let columns = (0..<3).map { Panel.Column(title: "integrated-gradients (\($0))", subtitle: long, image: image) }
        let layout = try Panel.layout(columns: columns, style: Self.plain)
        #expect(layout.titleScale == 1)
        #expect(layout.subtitleLines.allSatisfy { $0.count == 2 && $0[1].last == BitmapFont.ellipsis })
        let panel = try Panel.render(columns: columns, style: Self.plain)
        for x in 0..<panel.width {
            let inColumn = (0..<3).contains {
                x >= layout.columnLeft($0) && x < layout.columnLeft($0) + layout.columnWidth
            }
            guard !inColumn else { continue }
            #expect(
                (0..<panel.height).allSatisfy { Self.isWhite(panel, x, $0) }, "ink in column \(x), outside every column"
            )
        }
    }

    /// "Integrated Gradients" is 238 pixels at scale 2: 224-pixel columns widen to keep scale 2
    /// (within a quarter), 112-pixel ones fall back to scale 1 (119 pixels).
    @Test func columnsWidenForTitles() throws {
        let wide = try Panel.layout(columns: [
            Panel.Column(title: "Integrated Gradients", image: try Self.gradient(224, 8))
        ])
        #expect(wide.columnWidth == 238 && wide.titleScale == 2)
        let image = try Self.gradient(112, 112)
        let title = "Integrated Gradients"  // 20 glyphs: 119 pixels at scale 1
        let layout = try Panel.layout(columns: [Panel.Column(title: title, image: image)])
        #expect(layout.columnWidth == 119 && layout.titleScale == 1)
        var style = Panel.Style()
        style.widestColumnForTitles = 100
        let capped = try Panel.layout(columns: [Panel.Column(title: title, image: image)], style: style)
        #expect(capped.columnWidth == 112)
        let panel = try Panel.render(columns: [Panel.Column(title: title, image: image)])
        #expect(panel[layout.imageOrigin(column: 0, width: 112, height: 112).x, layout.imageTop] == image[0, 0])
    }

    /// Tiny images still get a readable column (`minimumColumnWidth`).
    @Test func tinyImagesGetTheMinimumColumnWidth() throws {
        let columns = [Panel.Column(title: "tiny", subtitle: "x", image: try Self.gradient(3, 2))]
        let layout = try Panel.layout(columns: columns)
        #expect(layout.columnWidth == Panel.Style.standard.minimumColumnWidth)
        let panel = try Panel.render(columns: columns)
        #expect(panel.width == 2 * 16 + layout.columnWidth)
        let origin = layout.imageOrigin(column: 0, width: 3, height: 2)
        #expect(panel[origin.x + 2, origin.y + 1] == columns[0].image[2, 1])
    }

    @Test func zeroSizedImagesDoNotTrap() throws {
        let empty = try RGBImage(width: 0, height: 0, pixels: [])
        let panel = try Panel.render(columns: [Panel.Column(title: "none", image: empty)])
        #expect(panel.width > 0 && panel.height > 0)
    }
}
