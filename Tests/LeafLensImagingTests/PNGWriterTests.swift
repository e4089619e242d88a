import Foundation
import LeafLensImaging
import LeafLensTestSupport
import Testing

@Suite struct PNGWriterTests {
    static func pattern(width: Int, height: Int, channels: Int) -> [UInt8] {
        (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ ($0 / 7) &* 11) }
    }

    struct Size: Sendable, CustomTestStringConvertible {
        let width: Int, height: Int
        var testDescription: String { "\(width)x\(height)" }
    }

    @Test(arguments: [Size(width: 1, height: 1), Size(width: 17, height: 5), Size(width: 224, height: 224)])
    func rgbRoundTrip(_ size: Size) throws {
        let image = try RGBImage(
            width: size.width, height: size.height,
            pixels: Self.pattern(width: size.width, height: size.height, channels: 3))
        let folder = try FixturePaths.temporaryDirectory("imaging-png")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.png")
        try PNGWriter.write(image, to: url)
        #expect(try ImageDecoder.decode(contentsOf: url) == image)
        // Overwriting replaces the file; no temporary files are left behind.
        try PNGWriter.write(image, to: url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
    }

    /// RGBA is written with its alpha; reading back (alpha dropped) gives the RGB part.
    @Test func rgbaRoundTrip() throws {
        let rgba = try RGBAImage(width: 9, height: 4, pixels: Self.pattern(width: 9, height: 4, channels: 4))
        let data = try PNGWriter.encode(rgba)
        #expect(data[25] == 6, "IHDR colour type must be RGBA (6)")
        let decoded = try ImageDecoder.decode(data)
        var rgb: [UInt8] = []
        for i in 0..<(9 * 4) { rgb += rgba.pixels[(i * 4)..<(i * 4 + 3)] }
        #expect(decoded.pixels == rgb)
    }

    @Test func writeErrorsNameTheFile() throws {
        let image = try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 7, count: 12))
        let url = URL(fileURLWithPath: "/nonexistent-leaflens-dir/x.png")
        let error = #expect(throws: ImageError.self) { try PNGWriter.write(image, to: url) }
        #expect(error?.description.contains("x.png") == true)
        #expect(throws: ImageError.self) { try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) }
        #expect(throws: ImageError.self) { try PNGWriter.encode(RGBImage(width: 0, height: 0, pixels: [])) }
    }
}
