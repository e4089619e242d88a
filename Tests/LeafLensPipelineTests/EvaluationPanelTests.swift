import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import LeafLensTraining
import Testing

@testable import LeafLensPipeline

/// The panels `evaluate --masks … --out` writes (`ExplanationScoring+Panels.swift`): the default model's
/// 128-px held-out leaves, each method's scored map with the mask outlined, at ≥ 224 px.
@Suite(.serialized) struct EvaluationPanelTests {
    static let magenta: [UInt8] = [255, 0, 255]

    /// Mask-coloured pixels in each picture column of a panel (margin 16, gap 20, `columnWidth` wide).
    static func outlinePixels(_ image: RGBImage, columns: Int, columnWidth: Int) -> [Int] {
        (0..<columns).map { index in
            let left = 16 + index * (columnWidth + 20)
            var count = 0
            for y in 0..<image.height {
                for x in left..<min(left + columnWidth, image.width) {
                    let i = (y * image.width + x) * 3
                    if Array(image.pixels[i..<(i + 3)]) == magenta { count += 1 }
                }
            }
            return count
        }
    }

    @Test func lesionPanelsOutlineTheMaskOnEveryPicture() throws {
        let root = try FixturePaths.temporaryDirectory("evaluation-panels")
        defer { try? FileManager.default.removeItem(at: root) }
        let (images, masks) = try DefaultModelTests.heldOut(root, perClass: 1)
        var settings = ScoringSettings()
        settings.methods = [.gradCAM, .saliency]
        let scoring = try DefaultModelTests.evaluation(images).scoring(settings)
        let (scores, panels) = try scoring.score(masks: masks, panels: 2)
        let plain = try scoring.score(masks: masks)
        #expect(scores.map(\.pointingGame) == plain.map(\.pointingGame))
        #expect(panels.count == 2 && Set(panels.map(\.fileName)).count == 2)
        for panel in panels {
            #expect(panel.fileName == "panels/" + (panel.image as NSString).deletingPathExtension + ".panel.png")
            let picture = try ImageDecoder.decode(panel.png, source: panel.fileName)
            // 128-px inputs shown 2× (256 px): input, Grad-CAM, Saliency.
            #expect(picture.width == 2 * 16 + 3 * 256 + 2 * 20)
            let outline = Self.outlinePixels(picture, columns: 3, columnWidth: 256)
            #expect(outline.allSatisfy { $0 >= 40 }, "mask outline pixels per column: \(outline)")
        }
        // Written under the output folder, one file per panel.
        let out = root.appendingPathComponent("out")
        try EvaluationPanel.write(panels, to: out)
        for panel in panels {
            #expect(try Data(contentsOf: out.appendingPathComponent(panel.fileName)) == panel.png)
        }
        #expect(try scoring.score(masks: masks, panels: 0).panels.isEmpty)
    }

    /// Segmented images made from the photos: the left half blacked out, so the "leaf" is the right half.
    @Test func leafPanelsOutlineTheLeaf() throws {
        let root = try FixturePaths.temporaryDirectory("evaluation-leaf-panels")
        defer { try? FileManager.default.removeItem(at: root) }
        let (images, _) = try DefaultModelTests.heldOut(root, perClass: 1)
        let segmented = root.appendingPathComponent("segmented")
        let folder = try ImageFolder(root: images)
        for sample in folder.samples {
            let original = try ImageDecoder.decode(contentsOf: sample.url)
            var pixels = original.pixels
            for y in 0..<original.height {
                for x in 0..<(original.width / 2) { for c in 0..<3 { pixels[(y * original.width + x) * 3 + c] = 0 } }
            }
            let photo = try RGBImage(width: original.width, height: original.height, pixels: pixels)
            let url = segmented.appendingPathComponent(sample.relativePath)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNGWriter.write(photo, to: url)
        }
        var settings = ScoringSettings()
        settings.methods = [.saliency]
        settings.maskKind = .leaf
        settings.limit = 3
        let scoring = try DefaultModelTests.evaluation(images).scoring(settings)
        let (scores, panels) = try scoring.leafBackground(masks: segmented, panels: 1)
        #expect(scores.first?.images == 3 && panels.count == 1)
        let picture = try ImageDecoder.decode(try #require(panels.first).png, source: "leaf panel")
        let outline = Self.outlinePixels(picture, columns: 2, columnWidth: 256)
        #expect(outline.allSatisfy { $0 >= 200 }, "leaf outline pixels per column: \(outline)")
    }

    /// Each image is drawn once, with its methods in order; a limit above the count draws every image.
    @Test func panelMapsKeepEvenlySpreadImages() throws {
        let sample = ImageFolder.Sample(url: URL(fileURLWithPath: "/x/a.png"), relativePath: "a.png", label: 0)
        let input = try PipelineFixtures.input(side: 4)
        func item(_ index: Int, _ count: Int) -> ScoredMap {
            ScoredMap(
                index: index, count: count, sample: sample, input: input, mask: [], method: .saliency, map: [], note: ""
            )
        }
        var kept = PanelMaps(limit: 3)
        for k in 0..<10 { kept.add(item(k, 10)) }
        #expect(kept.images.keys.sorted() == [0, 3, 6])
        var all = PanelMaps(limit: 8)
        for k in 0..<2 { all.add(item(k, 2)) }
        #expect(all.images.keys.sorted() == [0, 1])
    }
}
