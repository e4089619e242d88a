import CLeafLensCodecs
import Foundation
import LeafLensMath

/// 8-bit RGB / RGBA PNG encoding (libpng's simplified writer) and atomic file writes.
public enum PNGWriter {
    public static func encode(_ image: RGBImage) throws(ImageError) -> Data {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 3)
    }

    public static func encode(_ image: RGBAImage) throws(ImageError) -> Data {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 4)
    }

    /// Writes `image` as PNG: temporary file in the same directory, then rename, so a reader never sees
    /// a partial file and a failed write leaves any previous file intact.
    public static func write(_ image: RGBImage, to url: URL) throws(ImageError) {
        try writeAtomically(encode(image), to: url)
    }

    public static func write(_ image: RGBAImage, to url: URL) throws(ImageError) {
        try writeAtomically(encode(image), to: url)
    }

    private static func writeAtomically(_ data: Data, to url: URL) throws(ImageError) {
        do {
            try AtomicWrite.write(data, to: url)
        } catch {
            throw ImageError(source: error.file, problem: .io(error.problem))
        }
    }

    private static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int32) throws(ImageError) -> Data {
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw ImageError(source: "<memory>", problem: .invalidArgument("cannot encode a \(width)x\(height) image"))
        }
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { buffer in
            message.withUnsafeMutableBufferPointer { text in
                leaflens_png_encode_rgb8(
                    buffer.baseAddress, UInt32(width), UInt32(height), channels, &output, &size,
                    text.baseAddress, text.count)
            }
        }
        defer { leaflens_codec_free(output) }
        guard Int(status) == LEAFLENS_CODEC_OK, let output else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError(source: "<memory>", problem: .invalidArgument("PNG encoding failed: \(text)"))
        }
        return Data(bytes: output, count: size)
    }
}
