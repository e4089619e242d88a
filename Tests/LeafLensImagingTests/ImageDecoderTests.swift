import Foundation
import LeafLensImaging
import LeafLensTestSupport
import Testing

@Suite struct ImageDecoderTests {
    /// Every fixture format decodes to exactly PIL's `convert("RGB")` pixels (16-bit gray: the high byte).
    @Test(arguments: ImagingFixtures.images)
    func decodesLikePIL(_ image: ImagingManifest.Image) throws {
        let decoded = try ImageDecoder.decode(contentsOf: ImagingFixtures.url(image.file))
        try ImagingFixtures.expectPixels(decoded, image.pixels, width: image.width, height: image.height, image.file)
    }

    struct BrokenCase: Sendable, CustomTestStringConvertible {
        let name: String
        let source: String
        /// Makes the damaged bytes from the fixture's bytes.
        let damage: @Sendable (Data) -> Data
        let expectCorrupt: Bool
        var testDescription: String { name }
    }

    static let brokenCases: [BrokenCase] = [
        .init(
            name: "PNG cut in half", source: "images/png_rgb8_300x200.png", damage: { $0.prefix($0.count / 2) },
            expectCorrupt: true),
        .init(
            name: "PNG without IEND", source: "images/png_gray8_120x90.png", damage: { $0.dropLast(12) },
            expectCorrupt: true),
        .init(
            name: "PNG header only", source: "images/png_rgb8_300x200.png", damage: { $0.prefix(33) },
            expectCorrupt: true),
        .init(
            name: "PNG bytes flipped in IDAT", source: "images/png_rgb8_300x200.png",
            damage: { flip($0, at: $0.count / 2, count: 64) }, expectCorrupt: true),
        .init(
            name: "baseline JPEG cut in half", source: "images/jpg_baseline_333x257.jpg",
            damage: { $0.prefix($0.count / 2) }, expectCorrupt: true),
        .init(
            name: "JPEG without EOI", source: "images/jpg_baseline444_50x40.jpg", damage: { $0.dropLast(2) },
            expectCorrupt: true),
        .init(
            name: "progressive JPEG cut at 60%", source: "images/jpg_progressive_257x300.jpg",
            damage: { $0.prefix($0.count * 6 / 10) }, expectCorrupt: true),
        .init(
            name: "JPEG markers only", source: "images/jpg_gray_120x90.jpg", damage: { $0.prefix(20) },
            expectCorrupt: true),
        .init(
            name: "JPEG entropy data overwritten", source: "images/jpg_baseline_333x257.jpg",
            damage: { flip($0, at: $0.count / 2, count: 200) }, expectCorrupt: true),
        .init(name: "empty file", source: "images/png_gray1_37x21.png", damage: { _ in Data() }, expectCorrupt: false),
        .init(
            name: "text file", source: "images/png_gray1_37x21.png",
            damage: { _ in Data("hello, not an image\n".utf8) }, expectCorrupt: false),
        .init(
            name: "GIF", source: "images/png_gray1_37x21.png", damage: { _ in Data("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8) },
            expectCorrupt: false),
    ]

    static func flip(_ data: Data, at offset: Int, count: Int) -> Data {
        var bytes = [UInt8](data)
        for i in offset..<min(offset + count, bytes.count) { bytes[i] ^= 0x5A }
        return Data(bytes)
    }

    /// Damaged or foreign bytes throw (never a half-grey image), quickly.
    @Test(arguments: brokenCases)
    func refusesBrokenInput(_ broken: BrokenCase) throws {
        let bytes = broken.damage(try ImagingFixtures.data(broken.source))
        let start = ContinuousClock.now
        let error = #expect(throws: ImageError.self) {
            try ImageDecoder.decode(bytes, source: broken.name)
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        guard let error else { return }
        #expect(error.description.hasPrefix(broken.name + ":"), "\(error)")
        if broken.expectCorrupt {
            guard case .corrupt = error.problem else {
                Issue.record("expected a corrupt-data error, got \(error)")
                return
            }
        } else {
            switch error.problem {
            case .notAnImage, .unsupportedFormat: break
            default: Issue.record("expected not-an-image, got \(error)")
            }
        }
    }

    /// A PNG whose IHDR claims 200000×200000 is refused from the header, before any allocation.
    @Test func refusesDecompressionBombFromHeader() throws {
        let bomb = Self.pngHeader(width: 200_000, height: 200_000)
        let start = ContinuousClock.now
        let error = #expect(throws: ImageError.self) { try ImageDecoder.decode(bomb, source: "bomb.png") }
        #expect(ContinuousClock.now - start < .milliseconds(500))
        #expect(error?.problem == .tooManyPixels(width: 200_000, height: 200_000, limit: 50_000_000))
        #expect(error?.description.contains("bomb.png") == true)
    }

    /// A JPEG SOF0 claiming 65500×65500 is refused the same way.
    @Test func refusesOversizedJPEGHeader() throws {
        var bytes = [UInt8](try ImagingFixtures.data("images/jpg_baseline444_50x40.jpg"))
        guard let sof = (0..<bytes.count - 9).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 }) else {
            Issue.record("no SOF0 marker in the fixture")
            return
        }
        for offset in [sof + 5, sof + 7] {  // height, width (big-endian)
            bytes[offset] = 0xFF
            bytes[offset + 1] = 0xDC
        }
        let error = #expect(throws: ImageError.self) { try ImageDecoder.decode(Data(bytes), source: "big.jpg") }
        #expect(error?.problem == .tooManyPixels(width: 65500, height: 65500, limit: 50_000_000))
    }

    @Test func pixelLimitIsConfigurable() throws {
        let data = try ImagingFixtures.data("images/png_rgb8_300x200.png")
        #expect(throws: ImageError.self) { try ImageDecoder.decode(data, maxPixels: 59_999) }
        let image = try ImageDecoder.decode(data, maxPixels: 60_000)
        #expect(image.width == 300 && image.height == 200)
        let jpeg = try ImagingFixtures.data("images/jpg_gray_120x90.jpg")
        #expect(throws: ImageError.self) { try ImageDecoder.decode(jpeg, maxPixels: 10_799) }
        let size = try ImageDecoder.headerSize(of: jpeg)
        #expect(size.width == 120 && size.height == 90)
        let pngSize = try ImageDecoder.headerSize(of: data)
        #expect(pngSize.width == 300 && pngSize.height == 200)
        #expect(throws: ImageError.self) { try ImageDecoder.decode(data, maxPixels: 0) }
    }

    /// Formats are found by magic bytes, not by the file name.
    @Test func identifiesFormatByContent() throws {
        let folder = try FixturePaths.temporaryDirectory("imaging-sniff")
        defer { try? FileManager.default.removeItem(at: folder) }
        let misnamed = folder.appendingPathComponent("actually-a-jpeg.png")
        try ImagingFixtures.data("images/jpg_gray_120x90.jpg").write(to: misnamed)
        #expect(ImageFormat.sniff(try Data(contentsOf: misnamed)) == .jpeg)
        let image = try ImageDecoder.decode(contentsOf: misnamed)
        #expect(image.width == 120 && image.height == 90)

        let missing = folder.appendingPathComponent("missing.png")
        let error = #expect(throws: ImageError.self) { try ImageDecoder.decode(contentsOf: missing) }
        #expect(error?.description.contains("missing.png") == true)
    }

    /// A minimal PNG: signature and a valid IHDR (8-bit RGB), nothing else.
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        func be(_ v: UInt32) -> [UInt8] {
            [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        let body = Array("IHDR".utf8) + be(width) + be(height) + [8, 2, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be(13) + body + be(crc32(body)))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
