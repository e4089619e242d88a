import CLeafLensCodecs
import Foundation

/// Image container formats, recognised by their leading bytes (never by file extension).
public enum ImageFormat: String, Sendable, CaseIterable {
    case png, jpeg

    /// The format of `data` from its magic bytes, or nil.
    public static func sniff(_ data: Data) -> ImageFormat? {
        let head = [UInt8](data.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        return nil
    }
}

/// Decodes PNG and JPEG files to 8-bit RGB, with the pixels PIL's `Image.open(f).convert("RGB")` gives:
///
/// - PNG: 8/16-bit gray, gray+alpha, RGB, RGBA, palette (with tRNS), 1/2/4-bit gray, interlaced.
///   16-bit samples keep the high byte (`v >> 8`, as PIL does for 16-bit RGB/RGBA/LA). Alpha and
///   tRNS are dropped, not composited. No gamma/ICC handling (PIL ignores them too).
///   Difference from PIL: a 16-bit *gray* PNG opens in PIL as mode "I;16", whose conversion to RGB
///   clips every value above 255 to white; LeafLens takes the high byte like the other 16-bit types.
/// - JPEG: baseline, progressive, grayscale, CMYK and YCCK (converted like PIL's `convert("RGB")`).
///
/// Truncated or corrupt data is an error, including what libjpeg only warns about. The pixel limit is
/// checked from the header, before the pixel buffer is allocated.
public enum ImageDecoder {
    /// Default pixel limit: 50 megapixels.
    public static let defaultMaxPixels = 50_000_000

    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws(ImageError) -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageError(source: url.path, problem: .io("cannot read the file (\(error.localizedDescription))"))
        }
        return try decode(data, source: url.path, maxPixels: maxPixels)
    }

    /// Decodes bytes already in memory; `source` names them in errors.
    public static func decode(
        _ data: Data, source: String = "<memory>", maxPixels: Int = defaultMaxPixels
    ) throws(ImageError) -> RGBImage {
        guard maxPixels > 0 else {
            throw ImageError(source: source, problem: .invalidArgument("maxPixels must be positive, got \(maxPixels)"))
        }
        guard let format = ImageFormat.sniff(data) else {
            throw ImageError(source: source, problem: unrecognised(data))
        }
        return try decode(data, format: format, source: source, maxPixels: maxPixels)
    }

    /// Width and height as the header announces them, without decoding pixels.
    public static func headerSize(
        of data: Data, source: String = "<memory>"
    ) throws(ImageError) -> (width: Int, height: Int) {
        guard let format = ImageFormat.sniff(data) else {
            throw ImageError(source: source, problem: unrecognised(data))
        }
        do {
            // A limit of one pixel stops every decoder right after the header (a 1×1 image just decodes).
            let image = try decode(data, format: format, source: source, maxPixels: 1)
            return (image.width, image.height)
        } catch let error {
            if case .tooManyPixels(let w, let h, _) = error.problem { return (w, h) }
            throw error
        }
    }

    private static func decode(
        _ data: Data, format: ImageFormat, source: String, maxPixels: Int
    ) throws(ImageError) -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0, headerWidth: UInt32 = 0, headerHeight: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let limit = UInt64(maxPixels)
        let status: Int32 = data.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            return message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .png:
                    leaflens_png_decode_rgb8(
                        base, raw.count, limit, &pixels, &width, &height, &headerWidth, &headerHeight,
                        text.baseAddress, text.count)
                case .jpeg:
                    leaflens_jpeg_decode_rgb8(
                        base, raw.count, limit, &pixels, &width, &height, &headerWidth, &headerHeight,
                        text.baseAddress, text.count)
                }
            }
        }
        defer { leaflens_codec_free(pixels) }
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch Int(status) {
        case LEAFLENS_CODEC_OK:
            guard let pixels else { throw ImageError(source: source, problem: .corrupt("decoder returned no pixels")) }
            let w = Int(width), h = Int(height)
            return RGBImage(
                uncheckedWidth: w, height: h, pixels: Array(UnsafeBufferPointer(start: pixels, count: w * h * 3)))
        case LEAFLENS_CODEC_TOO_LARGE:
            throw ImageError(
                source: source,
                problem: .tooManyPixels(width: Int(headerWidth), height: Int(headerHeight), limit: maxPixels))
        case LEAFLENS_CODEC_OUT_OF_MEMORY:
            throw ImageError(source: source, problem: .outOfMemory(text))
        case LEAFLENS_CODEC_UNSUPPORTED:
            throw ImageError(source: source, problem: .unsupportedFormat(text))
        default:
            let what = format == .png ? "PNG" : "JPEG"
            throw ImageError(source: source, problem: .corrupt("\(what): \(text.isEmpty ? "decoding failed" : text)"))
        }
    }

    /// Names common non-PNG/JPEG formats, else shows the first bytes.
    private static func unrecognised(_ data: Data) -> ImageError.Problem {
        let head = [UInt8](data.prefix(12))
        func starts(_ prefix: [UInt8]) -> Bool { head.starts(with: prefix) }
        if head.isEmpty { return .notAnImage("the file is empty") }
        if starts(Array("GIF8".utf8)) { return .unsupportedFormat("GIF") }
        if starts(Array("BM".utf8)) { return .unsupportedFormat("BMP") }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .unsupportedFormat("TIFF") }
        if starts(Array("RIFF".utf8)), head.count >= 12, Array(head[8..<12]) == Array("WEBP".utf8) {
            return .unsupportedFormat("WebP")
        }
        if head.count >= 12,
            Array(head[4..<12]) == Array("ftypavif".utf8) || Array(head[4..<12]) == Array("ftypheic".utf8)
        {
            return .unsupportedFormat("HEIF/AVIF")
        }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return .corrupt("PNG signature is damaged") }
        let hex = head.prefix(8).map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }
        return .notAnImage("unrecognised leading bytes \(hex.joined(separator: " "))")
    }
}
