import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Fixtures/imaging/manifest.json, written by scripts/fixtures/imaging.py.
struct ImagingManifest: Decodable {
    struct PixelReference: Decodable, Sendable {
        /// FNV-1a 64 of the raw HWC RGB bytes, as 16 hex digits.
        let fnv1a64: String
        /// Path of the raw bytes under Fixtures/imaging, when stored in full.
        let bytes: String?
    }

    struct Image: Decodable, Sendable, CustomTestStringConvertible {
        let file: String
        let pixels: PixelReference
        let width: Int
        let height: Int
        let pil_mode: String
        let description: String
        var testDescription: String { "\(file) (\(pil_mode))" }
    }

    struct Preprocess: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let source: String
        let resize: Int?
        let crop: [Int]?
        let width: Int
        let height: Int
        let display: PixelReference
        let tensor: String?
        var testDescription: String { name }
    }

    struct Visualization: Decodable, Sendable {
        struct Case: Decodable, Sendable, CustomTestStringConvertible {
            let sign: String
            let outlier_perc: Double
            let threshold: Double
            let index: Int
            var testDescription: String { "\(sign), outlier \(outlier_perc)%" }
        }
        let attr: String
        let channel_sum: String
        let normalized: String
        let cases: [Case]
        let colormaps: [String]
        let colormap_luts: String
        let heat_map_all_colours: String
    }

    let images: [Image]
    let preprocess: [Preprocess]
    let mean: [Double]
    let std: [Double]
    let visualization: Visualization
}

enum ImagingFixtures {
    static let folder = FixturePaths.fixture("imaging")

    static func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    static let manifestResult: Result<ImagingManifest, any Error> = Result {
        try JSONDecoder().decode(ImagingManifest.self, from: Data(contentsOf: url("manifest.json")))
    }
    static var manifest: ImagingManifest? { try? manifestResult.get() }

    static var images: [ImagingManifest.Image] { manifest?.images ?? [] }
    static var preprocessCases: [ImagingManifest.Preprocess] { manifest?.preprocess ?? [] }
    static var visualizationCases: [ImagingManifest.Visualization.Case] { manifest?.visualization.cases ?? [] }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    /// 64-bit FNV-1a, the hash the fixture script records for large pixel references.
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Expects `actual` to be exactly the referenced pixels: element-wise with the worst pixel named when
    /// the bytes are stored, else by hash.
    static func expectPixels(
        _ actual: RGBImage, _ reference: ImagingManifest.PixelReference, width: Int, height: Int, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(actual.width == width && actual.height == height, "\(label): size", sourceLocation: sourceLocation)
        guard actual.width == width, actual.height == height else { return }
        if let path = reference.bytes {
            let expected = [UInt8](try data(path))
            let a = try Tensor<Double>(shape: [height, width, 3], storage: actual.pixels.map(Double.init))
            let e = try Tensor<Double>(shape: [height, width, 3], storage: expected.map(Double.init))
            expectClose(a, e, atol: 0, rtol: 0, label, sourceLocation: sourceLocation)
        }
        #expect(fnv1a64(actual.pixels) == reference.fnv1a64, "\(label): pixel hash", sourceLocation: sourceLocation)
    }
}

@Suite struct ImagingFixtureTests {
    @Test func manifestLoadsAndCoversEveryFormat() throws {
        let manifest = try ImagingFixtures.manifestResult.get()
        #expect(manifest.images.count >= 20)
        let modes = Set(manifest.images.map(\.pil_mode))
        for mode in ["RGB", "RGBA", "L", "LA", "P", "1", "I;16", "CMYK"] {
            #expect(modes.contains(mode), "no fixture image in PIL mode \(mode)")
        }
        #expect(manifest.preprocess.count >= 8)
        #expect(ImagingFixtures.fnv1a64(Array("a".utf8)) == "af63dc4c8601ec8c")
    }
}
