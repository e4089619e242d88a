import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("ExplanationPanel")
struct ExplanationPanelTests {
    static func picture(_ w: Int, _ h: Int, seed: Int) throws -> RGBImage {
        try RGBImage(
            width: w, height: h,
            pixels: (0..<(w * h * 3)).map { UInt8(truncatingIfNeeded: ($0 * 31 + seed * 17) % 251) })
    }

    static func panel(size: Int = 112, typeface: Typeface = .standard) throws -> ExplanationPanel {
        let bar = ColorBar(stops: .colormap(.blues), ticks: [(0, "0"), (1, "0.0241")], caption: "outliers 2%, per map")
        return ExplanationPanel(
            input: try picture(size, size, seed: 1),
            predictions: [
                .init(label: "Tomato___healthy", probability: 0.05),
                .init(label: "Tomato___Early_blight", probability: 0.9),
                .init(label: "Potato___Late_blight", probability: 0.03),
                .init(label: "Apple___scab", probability: 0.02),
            ],
            columns: [
                .init(title: "Integrated Gradients", image: try picture(size, size, seed: 2), colorBar: bar),
                .init(
                    title: "Grad-CAM", image: try picture(size, size, seed: 3), colorBar: bar,
                    notes: ["all zero: blank"]),
            ], typeface: typeface)
    }

    @Test func upscaleFactorReachesTheMinimum() {
        #expect(ExplanationPanel.upscaleFactor(width: 112, height: 112, minimum: 224) == 2)
        #expect(ExplanationPanel.upscaleFactor(width: 128, height: 128, minimum: 224) == 2)
        #expect(ExplanationPanel.upscaleFactor(width: 224, height: 224, minimum: 224) == 1)
        #expect(ExplanationPanel.upscaleFactor(width: 300, height: 60, minimum: 224) == 4)
        #expect(ExplanationPanel.upscaleFactor(width: 32, height: 32, minimum: 224) == 7)
    }

    @Test(arguments: [Typeface.standard, Typeface.bitmap])
    func picturesAreShownLargeAndNearestNeighbour(_ typeface: Typeface) throws {
        let panel = try Self.panel(typeface: typeface)
        let rendered = try panel.render()
        #expect(rendered.upscale == 2)
        #expect(rendered.typefaceName == typeface.name)
        #expect(rendered.image.width >= 3 * 224)
        // Find the input picture: its first pixel's 2×2 block is replicated.
        let input = panel.input
        let big = input.upscaledNearest(2)
        #expect(big.width == 224)
        for (x, y) in [(0, 0), (1, 1), (223, 223), (100, 37)] {
            #expect(big[x, y] == input[x / 2, y / 2])
        }
        #expect(
            panel.topPredictions.map(\.label) == ["Tomato___Early_blight", "Tomato___healthy", "Potato___Late_blight"])
    }

    @Test func segmentAndMaskOutlinesAreDrawn() throws {
        var image = try RGBImage.filled(width: 4, height: 2, color: .white)
        image = image.upscaledNearest(3)
        let outlined = image.outlined(
            labels: [0, 0, 1, 1, 0, 0, 1, 1], sourceWidth: 4, factor: 3, color: RGBColor(r: 255, g: 0, b: 255))
        // The boundary between columns 1 and 2 of the source is the last enlarged column of source column 1.
        for y in 0..<6 { #expect(outlined[5, y] == (255, 0, 255)) }
        #expect(outlined[4, 0] == (255, 255, 255) && outlined[6, 0] == (255, 255, 255))

        var panel = try Self.panel(size: 16)
        panel.mask = (0..<256).map { ($0 % 16) >= 8 }
        panel.columns[0].segments = (0..<256).map { $0 / 128 }
        let rendered = try panel.render()
        let magenta = (0..<rendered.image.height).contains { y in
            (0..<rendered.image.width).contains { rendered.image[$0, y] == (255, 0, 255) }
        }
        let yellow = (0..<rendered.image.height).contains { y in
            (0..<rendered.image.width).contains { rendered.image[$0, y] == (255, 230, 0) }
        }
        #expect(magenta && yellow)
        panel.mask = [true]
        #expect(throws: RenderingError.self) { _ = try panel.render() }
    }
}
