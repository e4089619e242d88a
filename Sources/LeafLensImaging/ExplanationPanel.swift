import Foundation

/// A panel people can read: the input and one column per method, every picture shown at least
/// `minimumDisplaySize` pixels on its short side (integer nearest-neighbour upscaling, said in the
/// input's caption), titles with the methods' full names, the top-3 predictions under the input, a
/// colour bar under each method, and segment / mask outlines when given.
///
///     ┌──────────────────────────────────────────────────────────┐
///     │  Input               Integrated Gradients  Grad-CAM      │  titles (wrapped to 2 lines)
///     │  ┌────────┐          ┌────────┐            ┌────────┐    │
///     │  │ ≥224px │          │        │            │        │    │  pictures, k× nearest neighbour
///     │  └────────┘          └────────┘            └────────┘    │
///     │  shown 2× (nearest…)  ▇▇▇▇▇▇▇▇ colour bar   ▇▇▇▇▇▇▇▇      │  caption / colour bars
///     │  1. Tomato… 92.1%     0 … 0.024             0 … 1         │  predictions / notes
///     └──────────────────────────────────────────────────────────┘
///
/// Text is drawn with `typeface` (DejaVu Sans through FreeType, or the bitmap font when the font is
/// missing); `Rendered.typefaceName` says which.
public struct ExplanationPanel: Sendable {
    public struct Prediction: Sendable, Equatable {
        public var label: String
        public var probability: Double
        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }

    public struct Column: Sendable {
        /// The method's full name, e.g. "Integrated Gradients".
        public var title: String
        public var image: RGBImage
        public var colorBar: ColorBar?
        /// Lines under the colour bar (warnings such as "all zero: blank").
        public var notes: [String]
        /// One segment label per pixel of `image` (before upscaling), drawn as outlines.
        public var segments: [Int]?

        public init(
            title: String, image: RGBImage, colorBar: ColorBar? = nil, notes: [String] = [], segments: [Int]? = nil
        ) {
            self.title = title
            self.image = image
            self.colorBar = colorBar
            self.notes = notes
            self.segments = segments
        }
    }

    public struct Rendered: Sendable {
        public var image: RGBImage
        /// The nearest-neighbour factor the pictures were enlarged by (1 = not enlarged).
        public var upscale: Int
        /// Which text engine drew the text (see `Typeface.name`).
        public var typefaceName: String
    }

    public var inputTitle = "Input"
    public var input: RGBImage
    /// All classes or the top few; the panel lists the 3 most probable.
    public var predictions: [Prediction]
    public var columns: [Column]
    /// A mask (e.g. the lesion of an evaluation set) at the input's size, outlined on every picture.
    public var mask: [Bool]?
    public var minimumDisplaySize = 224
    public var typeface: Typeface
    public var titleSize = 16
    public var textSize = 12
    public var margin = 16
    public var gap = 20
    public var segmentColor = RGBColor(r: 255, g: 230, b: 0)
    public var maskColor = RGBColor(r: 255, g: 0, b: 255)

    public init(
        input: RGBImage, predictions: [Prediction], columns: [Column], mask: [Bool]? = nil,
        typeface: Typeface = .standard
    ) {
        self.input = input
        self.predictions = predictions
        self.columns = columns
        self.mask = mask
        self.typeface = typeface
    }

    /// The three most probable predictions, highest first (NaN last).
    public var topPredictions: [Prediction] {
        let ordered = predictions.enumerated().sorted { a, b in
            let pa = a.element.probability.isNaN ? -Double.infinity : a.element.probability
            let pb = b.element.probability.isNaN ? -Double.infinity : b.element.probability
            return pa != pb ? pa > pb : a.offset < b.offset
        }
        return ordered.prefix(3).map(\.element)
    }

    /// The smallest integer k with k·min(width, height) ≥ `minimum` (at least 1).
    public static func upscaleFactor(width: Int, height: Int, minimum: Int) -> Int {
        let side = max(min(width, height), 1)
        return max(1, (minimum + side - 1) / side)
    }

    public func render() throws(RenderingError) -> Rendered {
        guard input.width > 0, input.height > 0 else { throw .invalidInput("the panel's input image is empty") }
        guard minimumDisplaySize >= 0, minimumDisplaySize <= 4096 else {
            throw .invalidInput("minimum display size must be in 0...4096, got \(minimumDisplaySize)")
        }
        if let mask, mask.count != input.width * input.height {
            throw .sizeMismatch("the mask has \(mask.count) values for a \(input.width)x\(input.height) input")
        }
        for column in columns {
            if let segments = column.segments, segments.count != column.image.width * column.image.height {
                throw .sizeMismatch(
                    "\(column.title): \(segments.count) segment labels for a \(column.image.width)x\(column.image.height) picture"
                )
            }
        }
        let k = Self.upscaleFactor(width: input.width, height: input.height, minimum: minimumDisplaySize)
        guard k * max(input.width, input.height) <= 8192 else { throw .invalidInput("the panel would be too large") }

        var pictures: [RGBImage] = []
        var inputPicture = input.upscaledNearest(k)
        if let mask {
            inputPicture.outline(labels: mask.map { $0 ? 1 : 0 }, sourceWidth: input.width, factor: k, color: maskColor)
        }
        pictures.append(inputPicture)
        for column in columns {
            let factor = Self.upscaleFactor(
                width: column.image.width, height: column.image.height, minimum: minimumDisplaySize)
            var picture = column.image.upscaledNearest(factor)
            if let segments = column.segments {
                picture.outline(labels: segments, sourceWidth: column.image.width, factor: factor, color: segmentColor)
            }
            if let mask, column.image.width == input.width, column.image.height == input.height {
                picture.outline(
                    labels: mask.map { $0 ? 1 : 0 }, sourceWidth: input.width, factor: factor, color: maskColor)
            }
            pictures.append(picture)
        }

        let columnWidth = max(pictures.map(\.width).max() ?? 0, minimumDisplaySize)
        let pictureHeight = pictures.map(\.height).max() ?? 0
        let titleLine = typeface.lineHeight(size: titleSize), textLine = typeface.lineHeight(size: textSize)
        let titles = [inputTitle] + columns.map(\.title)
        let wrappedTitles = titles.map { typeface.wrapped($0, maxWidth: columnWidth, size: titleSize, maxLines: 2) }
        let titleRows = wrappedTitles.map(\.count).max() ?? 1

        // Under the input: the upscaling caption and the predictions; under a method: bar and notes.
        let upscaleCaption =
            k > 1
            ? "shown \(k)\u{00D7} (nearest neighbour), model input \(input.width)\u{00D7}\(input.height) px"
            : "model input \(input.width)\u{00D7}\(input.height) px"
        var underInput = typeface.wrapped(upscaleCaption, maxWidth: columnWidth, size: textSize, maxLines: 3)
        for p in topPredictions {
            // The probability first, so the numbers line up and a long label only loses its tail.
            let percent = p.probability.isFinite ? String(format: "%.1f%%", p.probability * 100) : "n/a"
            underInput.append(
                typeface.truncated("\(percent)  \(p.label.replacingUnderscores)", maxWidth: columnWidth, size: textSize)
            )
        }
        let barHeight = ColorBar.height(typeface: typeface, textSize: textSize)
        let underMethods = columns.map { column in
            column.notes.flatMap { typeface.wrapped($0, maxWidth: columnWidth, size: textSize, maxLines: 3) }
        }
        let methodBelow = zip(columns, underMethods).map {
            ($0.colorBar == nil ? 0 : barHeight + 4) + $1.count * textLine
        }
        let below = max(underInput.count * textLine, methodBelow.max() ?? 0)

        let titleTop = margin
        let pictureTop = titleTop + titleRows * titleLine + 6
        let belowTop = pictureTop + pictureHeight + 8
        let height = belowTop + below + margin
        let count = pictures.count
        let width = 2 * margin + count * columnWidth + (count - 1) * gap
        guard width <= 60_000, width * height <= RGBImage.maxComputedPixels else {
            throw .invalidInput("a panel of \(count) columns of \(columnWidth) px is too large")
        }
        var canvas: RGBImage
        do {
            canvas = try RGBImage.filled(width: width, height: height, color: .white)
        } catch {
            throw .invalidInput(error.description)
        }
        let ink = RGBColor(r: 20, g: 20, b: 20), grey = RGBColor(r: 70, g: 70, b: 70)
        let frame = RGBColor(r: 200, g: 200, b: 200)
        for index in 0..<count {
            let left = margin + index * (columnWidth + gap)
            for (line, text) in wrappedTitles[index].enumerated() {
                let w = typeface.width(text, size: titleSize)
                typeface.draw(
                    text, into: &canvas, x: left + (columnWidth - w) / 2, y: titleTop + line * titleLine,
                    size: titleSize,
                    color: ink)
            }
            let picture = pictures[index]
            let x = left + (columnWidth - picture.width) / 2
            canvas.strokeRectangle(
                x: x - 1, y: pictureTop - 1, width: picture.width + 2, height: picture.height + 2, color: frame)
            canvas.paste(picture, x: x, y: pictureTop)
            var y = belowTop
            if index == 0 {
                for text in underInput {
                    typeface.draw(text, into: &canvas, x: left, y: y, size: textSize, color: grey)
                    y += textLine
                }
                continue
            }
            let column = columns[index - 1]
            if let bar = column.colorBar {
                let strip = try bar.render(width: columnWidth, typeface: typeface, textSize: textSize)
                canvas.paste(strip, x: left, y: y)
                y += barHeight + 4
            }
            for text in underMethods[index - 1] {
                typeface.draw(text, into: &canvas, x: left, y: y, size: textSize, color: RGBColor(r: 161, g: 92, b: 0))
                y += textLine
            }
        }
        return Rendered(image: canvas, upscale: k, typefaceName: typeface.name)
    }
}

extension String {
    /// PlantVillage labels use "___" and "_" for spaces ("Tomato___Early_blight" → "Tomato: Early blight").
    fileprivate var replacingUnderscores: String {
        var text = self
        while let range = text.range(of: "___") { text.replaceSubrange(range, with: ": ") }
        return text.map { $0 == "_" ? " " : String($0) }.joined()
    }
}

extension RGBImage {
    /// Each pixel repeated `factor`×`factor` times (nearest neighbour at an integer scale).
    public func upscaledNearest(_ factor: Int) -> RGBImage {
        guard factor > 1 else { return self }
        let w = width * factor, h = height * factor
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let sy = y / factor
            for x in 0..<w {
                let s = (sy * width + x / factor) * 3, d = (y * w + x) * 3
                out[d] = pixels[s]
                out[d + 1] = pixels[s + 1]
                out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(uncheckedWidth: w, height: h, pixels: out)
    }

    /// This image with the boundaries between different labels drawn in `color`, the image being
    /// `factor` times a `sourceWidth`-wide label map (one label per source pixel: segment ids, or 0/1
    /// for a mask): the last enlarged row/column of a source pixel whose right or lower neighbour has
    /// another label. A label map of the wrong size draws nothing.
    public func outlined(labels: [Int], sourceWidth: Int, factor: Int, color: RGBColor) -> RGBImage {
        var copy = self
        copy.outline(labels: labels, sourceWidth: sourceWidth, factor: factor, color: color)
        return copy
    }

    mutating func outline(labels: [Int], sourceWidth: Int, factor: Int, color: RGBColor) {
        guard sourceWidth > 0, factor > 0, labels.count % sourceWidth == 0, sourceWidth * factor == width,
            labels.count / sourceWidth * factor == height
        else { return }
        let sourceHeight = labels.count / sourceWidth
        let w = width, h = height
        editPixels { pixels in
            func set(_ x: Int, _ y: Int) {
                guard x >= 0, x < w, y >= 0, y < h else { return }
                let i = (y * w + x) * 3
                pixels[i] = color.r
                pixels[i + 1] = color.g
                pixels[i + 2] = color.b
            }
            for sy in 0..<sourceHeight {
                for sx in 0..<sourceWidth {
                    let label = labels[sy * sourceWidth + sx]
                    if sx + 1 < sourceWidth, labels[sy * sourceWidth + sx + 1] != label {
                        for dy in 0..<factor { set((sx + 1) * factor - 1, sy * factor + dy) }
                    }
                    if sy + 1 < sourceHeight, labels[(sy + 1) * sourceWidth + sx] != label {
                        for dx in 0..<factor { set(sx * factor + dx, (sy + 1) * factor - 1) }
                    }
                }
            }
        }
    }
}
