import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Fixtures/visualisation/manifest.json, written by scripts/fixtures/visualisation.py.
struct VisualisationManifest: Decodable {
    struct GradCAMCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let width: Int
        let height: Int
        let image_weight: Double
        let image: String
        let map: String
        let scaled: String
        let overlay: String
        var testDescription: String { name }
    }

    struct CaptumCase: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let width: Int
        let height: Int
        let sign: String
        let outlier_perc: Double
        let image: String
        let map: String
        let masked: String
        let alpha: String
        var testDescription: String { name }
    }

    let grad_cam: [GradCAMCase]
    let captum: [CaptumCase]
    let jet_lut: String

    static let folder = FixturePaths.fixture("visualisation")
    static let loaded: Result<VisualisationManifest, any Error> = Result {
        try JSONDecoder().decode(
            VisualisationManifest.self, from: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
    }
    static var gradCAMCases: [GradCAMCase] { (try? loaded.get())?.grad_cam ?? [] }
    static var captumCases: [CaptumCase] { (try? loaded.get())?.captum ?? [] }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    }
    static func floats(_ name: String) throws -> Tensor<Float> { try NPY.read(folder.appendingPathComponent(name)) }
    static func image(_ name: String, width: Int, height: Int) throws -> RGBImage {
        try RGBImage(width: width, height: height, pixels: bytes(name))
    }
}

/// Compares bytes as numbers through the project's closeness rule (worst pixel and channel named).
@discardableResult
func expectBytes(
    _ actual: [UInt8], _ expected: [UInt8], shape: [Int], levels: Double, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> Double {
    let a = try Tensor<Double>(shape: shape, storage: actual.map(Double.init))
    let e = try Tensor<Double>(shape: shape, storage: expected.map(Double.init))
    expectClose(a, e, atol: levels, rtol: 0, label, sourceLocation: sourceLocation)
    return zip(actual, expected).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

@Suite("GradCAMOverlay")
struct GradCAMOverlayTests {
    @Test func manifestLoads() throws {
        let manifest = try VisualisationManifest.loaded.get()
        #expect(manifest.grad_cam.count >= 5)
        #expect(manifest.captum.count >= 3)
    }

    /// The JET table is OpenCV's COLORMAP_JET (cv2.applyColorMap on 0...255, then BGR → RGB).
    @Test func jetTableIsOpenCVs() throws {
        let manifest = try VisualisationManifest.loaded.get()
        try expectBytes(
            GradCAMOverlay.jet, try VisualisationManifest.bytes(manifest.jet_lut), shape: [256, 3], levels: 0, "JET")
        // Spot values from the reference spec (BGR there): 0 → (128,0,0), 128 → (126,255,130), 255 → (0,0,128).
        #expect(Array(GradCAMOverlay.jet[0..<3]) == [0, 0, 128])
        #expect(Array(GradCAMOverlay.jet[384..<387]) == [130, 255, 126])
        #expect(Array(GradCAMOverlay.jet[765..<768]) == [128, 0, 0])
    }

    /// Min-max normalization is `scale_cam_image`, bit for bit; the overlay of that map is
    /// `show_cam_on_image(..., use_rgb=True, image_weight=W)`, byte for byte.
    @Test(arguments: VisualisationManifest.gradCAMCases)
    func overlayEqualsShowCamOnImage(_ c: VisualisationManifest.GradCAMCase) throws {
        let image = try VisualisationManifest.image(c.image, width: c.width, height: c.height)
        let raw = try ReducedAttribution(try VisualisationManifest.floats(c.map))
        let scale = try AttributionScale.fit([raw], sign: .positive, normalization: .minMax)
        let (map, warnings) = scale.apply(raw)
        #expect(warnings.isEmpty)
        let scaled = try VisualisationManifest.floats(c.scaled)
        // The signed case has negatives that sign positive clips before the min-max; compare the
        // normalization only where pytorch-grad-cam's input was the same (all non-negative maps).
        if raw.values.allSatisfy({ $0 >= 0 }) {
            expectClose(map.values, scaled.storage, atol: 0, rtol: 0, "\(c.name): scale_cam_image")
        }
        // The overlay itself from pytorch-grad-cam's own normalized map: exact bytes.
        let options = RenderingOptions(overlayBase: .color, imageWeight: c.image_weight, style: .gradCAM)
        let direct = try GradCAMOverlay.overlay(
            base: GradCAMOverlay.unitRGB(image), mask: scaled.storage, width: c.width, height: c.height,
            imageWeight: c.image_weight)
        let expected = try VisualisationManifest.bytes(c.overlay)
        let worst = try expectBytes(
            direct.pixels, expected, shape: [c.height, c.width, 3], levels: 0, "\(c.name): overlay")
        #expect(worst == 0)
        // And through the renderer, from the raw map (non-negative cases: same normalized values).
        if raw.values.allSatisfy({ $0 >= 0 }) {
            let picture = try AttributionRenderer.render(.overlay, map: map, original: image, options: options)
            #expect(picture == .rgb(direct), "\(c.name): renderer")
        }
    }

    @Test func imageWeightOutsideZeroOneIsATypedError() throws {
        let image = try RGBImage(width: 1, height: 1, pixels: [10, 20, 30])
        for weight in [-0.01, 1.01, .nan, .infinity] {
            let error = #expect(throws: RenderingError.self) {
                _ = try GradCAMOverlay.overlay(
                    base: GradCAMOverlay.unitRGB(image), mask: [0.5], width: 1, height: 1, imageWeight: weight)
            }
            guard case .imageWeightOutOfRange = error else {
                Issue.record("weight \(weight): expected imageWeightOutOfRange, got \(String(describing: error))")
                continue
            }
        }
    }

    /// Weight 1 on a black image: max(cam) = 0; pytorch-grad-cam would divide by zero, LeafLens
    /// returns black.
    @Test func blackImageWithWeightOneIsBlackNotNaN() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 0, 0, 0])
        let out = try GradCAMOverlay.overlay(
            base: GradCAMOverlay.unitRGB(image), mask: [0.2, 0.9], width: 2, height: 1, imageWeight: 1)
        #expect(out.pixels == [0, 0, 0, 0, 0, 0])
    }

    /// UInt8(255·mask) truncates: 0.9999999 → 254, 1 → 255, and values outside [0, 1] are clamped.
    @Test func maskIndexTruncates() {
        #expect(GradCAMOverlay.index(0.9999999) == 254)
        #expect(GradCAMOverlay.index(1) == 255)
        #expect(GradCAMOverlay.index(-3) == 0)
        #expect(GradCAMOverlay.index(7) == 255)
        #expect(GradCAMOverlay.index(.nan) == 0)
    }
}
