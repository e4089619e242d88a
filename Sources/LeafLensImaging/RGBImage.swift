/// An 8-bit RGB image, rows top to bottom, pixels interleaved: `pixels[(y·width + x)·3 + c]` (HWC).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var pixels: [UInt8]

    /// Throws if `pixels.count != width·height·3` or a side is negative.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageError) {
        try checkPixelCount(width: width, height: height, channels: 3, count: pixels.count, kind: "RGB")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The largest image resizing or cropping will produce (a guard against absurd sizes, not a
    /// decoding limit): 200 megapixels.
    public static let maxComputedPixels = 200_000_000

    /// For sizes computed by this module itself.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// An 8-bit RGBA image (straight, not premultiplied alpha), HWC like `RGBImage`.
public struct RGBAImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageError) {
        try checkPixelCount(width: width, height: height, channels: 4, count: pixels.count, kind: "RGBA")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Something went wrong reading, writing or processing an image; `source` names the file (or a label
/// such as `"<memory>"`), `problem` says what.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        /// The bytes are not a PNG or JPEG (the magic bytes are described).
        case notAnImage(String)
        /// A recognised but unsupported format or variant (GIF, WebP, an odd JPEG colour space, …).
        case unsupportedFormat(String)
        /// The header announces more pixels than allowed; refused before decoding.
        case tooManyPixels(width: Int, height: Int, limit: Int)
        /// Truncated or damaged data; the decoder's own words.
        case corrupt(String)
        case outOfMemory(String)
        /// The file could not be read or written.
        case io(String)
        /// A caller-side mistake (sizes that do not fit, an impossible option).
        case invalidArgument(String)
    }

    public var source: String
    public var problem: Problem

    public init(source: String, problem: Problem) {
        self.source = source
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .notAnImage(let what): "\(source): not a PNG or JPEG image (\(what))"
        case .unsupportedFormat(let what): "\(source): unsupported image format: \(what)"
        case .tooManyPixels(let w, let h, let limit):
            "\(source): image is \(w)x\(h) = \(w * h) pixels, more than the limit of \(limit) pixels"
        case .corrupt(let what): "\(source): corrupt or truncated image: \(what)"
        case .outOfMemory(let what): "\(source): \(what)"
        case .io(let what): "\(source): \(what)"
        case .invalidArgument(let what): "\(source): \(what)"
        }
    }
}

/// Throws unless `count == width·height·channels` with non-negative sides (and no overflow).
private func checkPixelCount(width: Int, height: Int, channels: Int, count: Int, kind: String) throws(ImageError) {
    let (area, overflow) = width.multipliedReportingOverflow(by: height)
    let (bytes, overflow2) = area.multipliedReportingOverflow(by: channels)
    guard width >= 0, height >= 0, !overflow, !overflow2, count == bytes else {
        throw ImageError(
            source: "<memory>",
            problem: .invalidArgument(
                "an \(kind) image of \(width)x\(height) needs \(overflow || overflow2 ? "too many" : String(bytes)) bytes, got \(count)"
            ))
    }
}
