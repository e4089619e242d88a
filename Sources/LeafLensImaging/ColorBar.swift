import Foundation

/// A horizontal colour bar: the colormap from left (position 0) to right (1), tick labels in
/// attribution units (the values the normalization mapped to the ends, and 0 at the centre for sign
/// `all`), and the normalization written under it ("outliers 2%, per map"):
///
///     ┌────────────────────────────┐  strip (`stripHeight`)
///     |             |              |  ticks
///     0           0.012        0.0241  labels
///         outliers 2%, per map       caption
public struct ColorBar: Sendable, Equatable {
    public enum Stops: Sendable, Equatable {
        /// A matplotlib-style colormap (Captum's look).
        case colormap(Colormap)
        /// OpenCV's COLORMAP_JET (pytorch-grad-cam's look).
        case openCVJet
    }

    public struct Tick: Sendable, Equatable {
        /// 0 = left end, 1 = right end.
        public var position: Double
        public var label: String

        public init(position: Double, label: String) {
            self.position = position
            self.label = label
        }
    }

    public var stops: Stops
    public var ticks: [Tick]
    public var caption: String

    public init(stops: Stops, ticks: [(Double, String)], caption: String) {
        self.stops = stops
        self.ticks = ticks.map { Tick(position: $0.0, label: $0.1) }
        self.caption = caption
    }

    public static let stripHeight = 12

    /// The bar's colour at `position` ∈ [0, 1], as the pictures draw that value.
    public func color(at position: Double) -> RGBColor {
        let t = Float(min(max(position, 0), 1))
        switch stops {
        case .colormap(let map):
            let (r, g, b) = map.color(normalized: t)
            return RGBColor(r: AttributionMap.byte(r), g: AttributionMap.byte(g), b: AttributionMap.byte(b))
        case .openCVJet:
            let i = GradCAMOverlay.index(t) * 3
            return RGBColor(r: GradCAMOverlay.jet[i], g: GradCAMOverlay.jet[i + 1], b: GradCAMOverlay.jet[i + 2])
        }
    }

    /// Pixel height of `render(width:…)` for this typeface and text size.
    public static func height(typeface: Typeface, textSize: Int) -> Int {
        stripHeight + 4 + 2 * typeface.lineHeight(size: textSize) + 4
    }

    /// Draws the bar `width` pixels wide (the strip spans `inset`…`width − inset`).
    public func render(
        width: Int, typeface: Typeface = .standard, textSize: Int = 12, inset: Int = 6,
        background: RGBColor = .white, textColor: RGBColor = RGBColor(r: 60, g: 60, b: 60)
    ) throws(RenderingError) -> RGBImage {
        guard width >= 2 * inset + 2, width <= 100_000, textSize > 0, textSize <= 256 else {
            throw .invalidInput("a colour bar needs a width of at least \(2 * inset + 2) px, got \(width)")
        }
        let height = Self.height(typeface: typeface, textSize: textSize)
        var image: RGBImage
        do {
            image = try RGBImage.filled(width: width, height: height, color: background)
        } catch {
            throw .invalidInput(error.description)
        }
        let stripWidth = width - 2 * inset
        let frame = RGBColor(r: 150, g: 150, b: 150)
        image.editPixels { pixels in
            for x in 0..<stripWidth {
                let c = color(at: stripWidth > 1 ? Double(x) / Double(stripWidth - 1) : 0)
                for y in 1..<(Self.stripHeight - 1) {
                    let i = (y * width + inset + x) * 3
                    pixels[i] = c.r
                    pixels[i + 1] = c.g
                    pixels[i + 2] = c.b
                }
            }
        }
        image.strokeRectangle(x: inset - 1, y: 0, width: stripWidth + 2, height: Self.stripHeight, color: frame)
        let lineHeight = typeface.lineHeight(size: textSize)
        let labelTop = Self.stripHeight + 4
        for tick in ticks {
            let x = inset + Int((tick.position * Double(stripWidth - 1)).rounded())
            image.editPixels { pixels in
                for y in Self.stripHeight..<(Self.stripHeight + 3) {
                    let i = (y * width + x) * 3
                    pixels[i] = frame.r
                    pixels[i + 1] = frame.g
                    pixels[i + 2] = frame.b
                }
            }
            let w = typeface.width(tick.label, size: textSize)
            // End labels align with the bar's ends so they never leave the picture.
            let left = tick.position <= 0 ? max(0, x - 2) : tick.position >= 1 ? min(width - w, x + 2 - w) : x - w / 2
            typeface.draw(tick.label, into: &image, x: left, y: labelTop, size: textSize, color: textColor)
        }
        let caption = typeface.truncated(caption, maxWidth: width, size: textSize)
        let captionWidth = typeface.width(caption, size: textSize)
        typeface.draw(
            caption, into: &image, x: (width - captionWidth) / 2, y: labelTop + lineHeight, size: textSize,
            color: textColor)
        return image
    }

    /// `image` with this bar underneath, on a canvas at least `minimumWidth` wide (image centred).
    public func attached(
        below image: RGBImage, minimumWidth: Int = 180, typeface: Typeface = .standard, textSize: Int = 12,
        gap: Int = 4
    ) throws(RenderingError) -> RGBImage {
        let width = max(image.width, minimumWidth)
        let bar = try render(width: width, typeface: typeface, textSize: textSize)
        var canvas: RGBImage
        do {
            canvas = try RGBImage.filled(width: width, height: image.height + gap + bar.height, color: .white)
        } catch {
            throw .invalidInput(error.description)
        }
        canvas.paste(image, x: (width - image.width) / 2, y: 0)
        canvas.paste(bar, x: 0, y: image.height + gap)
        return canvas
    }

    /// The strip as a CSS `linear-gradient(to right, …)` with `samples` evenly spaced stops.
    public func cssGradient(samples: Int = 17) -> String {
        let n = max(samples, 2)
        let stops = (0..<n).map { k -> String in
            let t = Double(k) / Double(n - 1)
            let c = color(at: t)
            return String(format: "#%02x%02x%02x %.1f%%", c.r, c.g, c.b, t * 100)
        }
        return "linear-gradient(to right, \(stops.joined(separator: ", ")))"
    }

    /// A tick label: 0 as "0", otherwise 3 significant digits ("0.0241", "-1.5", "3.2e-06").
    public static func label(_ value: Float) -> String {
        guard value.isFinite else { return "n/a" }
        if value == 0 { return "0" }
        let magnitude = abs(Double(value))
        if magnitude >= 1e-3, magnitude < 1e5 {
            var text = String(format: "%.3g", Double(value))
            if text.contains("e") { text = String(format: "%.0f", Double(value)) }
            return text
        }
        return String(format: "%.2e", Double(value))
    }
}
