import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensModel
import LeafLensTestSupport
import LeafLensTraining
import Testing

@testable import LeafLensPipeline

/// `evaluate --masks DIR --mask-suffix _final_masked --mask-kind leaf` on a synthetic set in
/// PlantVillage's `raw/color` + `raw/segmented` layout (Fixtures/segmented, scripts/fixtures/
/// segmented_leaves.py): 64×64 leaves whose segmented JPEGs have ringing and chroma bleeding in the
/// black background, near-black lesions inside the leaf and a bright speck outside it.
@Suite(.serialized) struct SegmentedLeafMaskTests {
    static let root = FixturePaths.fixture("segmented")
    static var color: URL { root.appendingPathComponent("color") }
    static var segmented: URL { root.appendingPathComponent("segmented") }
    static let size = InputSize(resize: 64, crop: 64)

    /// A seeded ResNet18 (width 4) whose 38 labels are PlantVillage's, so the class folders match by name.
    static func evaluation() throws -> Evaluation {
        let network = try ResNet18<Float>.seeded(
            seed: 42, configuration: ResNet18Configuration(classCount: 38, width: 4), labels: PlantVillage.labels)
        return try Evaluation(model: LoadedModel(network, description: "tiny"), data: color.path, size: size)
    }

    static func settings(suffix: String) -> ScoringSettings {
        var settings = ScoringSettings()
        settings.methods = [.saliency, .gradCAM]
        settings.maskSuffix = suffix
        settings.maskKind = .leaf
        return settings
    }

    /// The truth mask of a segmented file and its decoded pixels' largest channel.
    static func truth(_ segmentedFile: URL) throws -> [Bool] {
        let relative = segmentedFile.path.replacingOccurrences(of: segmented.path + "/", with: "")
            .replacingOccurrences(of: "_final_masked.jpg", with: ".png")
        let image = try ImageDecoder.decode(contentsOf: root.appendingPathComponent("truth/" + relative))
        return (0..<(image.width * image.height)).map { image.pixels[3 * $0] > 127 }
    }

    /// Chebyshev distance of every pixel to the other side of the mask's edge (1 = touching it).
    static func distanceToEdge(_ mask: [Bool], side: Int) -> [Int] {
        (0..<mask.count).map { p in
            let (y, x) = (p / side, p % side)
            var d = 1
            while d < side {
                for dy in -d...d {
                    for dx in -d...d where max(abs(dy), abs(dx)) == d {
                        let (ny, nx) = (y + dy, x + dx)
                        if ny >= 0, nx >= 0, ny < side, nx < side, mask[ny * side + nx] != mask[p] { return d }
                    }
                }
                d += 1
            }
            return d
        }
    }

    @Test func theRuleRecoversTheLeafFromJPEGCompressedBlack() throws {
        let evaluation = try Self.evaluation()
        let urls = try evaluation.scoring(Self.settings(suffix: "_final_masked")).maskURLs(Self.segmented)
        #expect(urls.count == 4)
        #expect(urls.allSatisfy { $0.lastPathComponent.hasSuffix("_final_masked.jpg") })
        for url in urls {
            let decoded = try ImageDecoder.decode(contentsOf: url)
            let truth = try Self.truth(url)
            let brightest = (0..<truth.count).map { p in (0..<3).map { decoded.pixels[3 * p + $0] }.max()! }  // safe: 3 channels
            // The background really is not black: a "> 0" rule would take hundreds of its pixels.
            let lifted = zip(brightest, truth).filter { $0.0 > 0 && !$0.1 }.count
            #expect(lifted > 500, "\(url.lastPathComponent): \(lifted) background pixels above 0")
            let display = try ImagePreprocessor(resizeShorterSide: 64, cropSize: 64)(decoded).displayImage
            let leaf = try LeafMask.fromSegmented(rgb: display.pixels, width: 64, height: 64)
            // JPEG's 4:2:0 chroma (2×2 blocks) bleeds colour up to two pixels across the edge, so only
            // the two rings either side of the drawn edge may go either way; everything else is exact.
            let distance = Self.distanceToEdge(truth, side: 64)
            let wrong = (0..<truth.count).filter { leaf[$0] != truth[$0] }
            #expect(
                wrong.allSatisfy { distance[$0] <= 2 },
                "\(url.lastPathComponent): wrong pixels at distances \(Set(wrong.map { distance[$0] }).sorted())")
            #expect(wrong.count < truth.filter { $0 }.count / 10)
        }
        // The near-black lesions are inside the leaf (holes filled) and the dust speck is background.
        let lesioned = try #require(urls.first { $0.lastPathComponent.contains("7002") })
        let display = try ImagePreprocessor(resizeShorterSide: 64, cropSize: 64)(
            ImageDecoder.decode(contentsOf: lesioned)
        ).displayImage
        let leaf = try LeafMask.fromSegmented(rgb: display.pixels, width: 64, height: 64)
        let raw = (0..<4096).map { p in max(display.pixels[3 * p], display.pixels[3 * p + 1], display.pixels[3 * p + 2])
        }
        let truth = try Self.truth(lesioned)
        let distance = Self.distanceToEdge(truth, side: 64)
        let darkInside = (0..<4096).filter { truth[$0] && raw[$0] <= LeafMask.defaultThreshold && distance[$0] > 2 }
        #expect(darkInside.count > 20)
        #expect(darkInside.allSatisfy { leaf[$0] })
        #expect(!leaf[4 * 64 + 58] && !leaf[5 * 64 + 58])
        #expect(raw[4 * 64 + 58] > LeafMask.defaultThreshold)
    }

    @Test func leafBackgroundEndToEndWithThePlantVillageSuffix() throws {
        let evaluation = try Self.evaluation()
        let scoring = evaluation.scoring(Self.settings(suffix: "_final_masked"))
        try scoring.checkMasks(Self.segmented)
        let scores = try scoring.leafBackground(masks: Self.segmented)
        #expect(scores.map(\.method) == ["saliency", "grad-cam"])
        // The full suffix names the same files and gives the same numbers.
        let full = try evaluation.scoring(Self.settings(suffix: LeafMask.plantVillageSuffix)).leafBackground(
            masks: Self.segmented)
        #expect(full == scores)
        // Recomputed by hand: each image's map against the mask derived from its segmented file.
        let explainer = try Explainer(
            classifier: evaluation.model.classifier(), settings: scoring.settings.explainerSettings(size: 64))
        let urls = try scoring.maskURLs(Self.segmented)
        for score in scores {
            let method = try #require(AttributionMethod(rawValue: score.method))
            var (positive, absolute, background, truthPositive) = (0.0, 0.0, 0, 0.0)
            for (sample, url) in zip(evaluation.dataset.samples, urls) {
                let map = try scoring.scoringMap(
                    explainer, method, input: try scoring.load(sample), target: evaluation.classMap[sample.label])
                let display = try ImagePreprocessor(resizeShorterSide: 64, cropSize: 64)(
                    ImageDecoder.decode(contentsOf: url)
                ).displayImage
                let share = try LeafBackgroundShare.compute(
                    map: map, leaf: try LeafMask.fromSegmented(rgb: display.pixels, width: 64, height: 64))
                positive += share.leafPositiveShare / 4
                absolute += share.leafAbsoluteShare / 4
                if share.maximumOnBackground { background += 1 }
                truthPositive +=
                    try LeafBackgroundShare.compute(map: map, leaf: try Self.truth(url)).leafPositiveShare / 4
            }
            #expect(score.images == 4)
            expectClose(
                [score.leafPositiveShare, score.leafAbsoluteShare, score.maximumOnBackground],
                [positive, absolute, Double(background) / 4], atol: 1e-12, rtol: 0)
            // The derived masks differ from the drawn ones only along the edge.
            #expect(
                abs(score.leafPositiveShare - truthPositive) < 0.1,
                "\(score.method): \(score.leafPositiveShare) vs \(truthPositive)")
        }
    }

    @Test func aMissingSegmentedFileIsNamedWithTheCount() throws {
        let copy = try FixturePaths.temporaryDirectory("segmented-missing")
        defer { try? FileManager.default.removeItem(at: copy) }
        let masks = copy.appendingPathComponent("segmented")
        try FileManager.default.copyItem(at: Self.segmented, to: masks)
        try FileManager.default.removeItem(
            at: masks.appendingPathComponent("Tomato___healthy/0a1b2c3d-0003___GH_HL Leaf 301_final_masked.jpg"))
        let scoring = try Self.evaluation().scoring(Self.settings(suffix: "_final_masked"))
        let error = try #require(throws: PipelineError.self) { try scoring.checkMasks(masks) }
        #expect("\(error)".contains("1 of 4 images have no mask"), "\(error)")
        #expect("\(error)".contains("Tomato___healthy/0a1b2c3d-0003___GH_HL Leaf 301_final_masked.*"), "\(error)")
        let nowhere = try #require(throws: PipelineError.self) {
            try scoring.checkMasks(copy.appendingPathComponent("nope"))
        }
        #expect("\(nowhere)".contains("does not exist or is not a folder"), "\(nowhere)")
    }

    @Test func aSegmentedFileOfAnotherSizeIsNamed() throws {
        let copy = try FixturePaths.temporaryDirectory("segmented-size")
        defer { try? FileManager.default.removeItem(at: copy) }
        let masks = copy.appendingPathComponent("segmented")
        try FileManager.default.copyItem(at: Self.segmented, to: masks)
        let victim = masks.appendingPathComponent(
            "Tomato___Early_blight/0a1b2c3d-0001___RS_Erly.B 7001_final_masked.jpg")
        try FileManager.default.removeItem(at: victim)
        try PNGWriter.write(
            try RGBImage(width: 32, height: 48, pixels: [UInt8](repeating: 0, count: 32 * 48 * 3)),
            to: masks.appendingPathComponent("Tomato___Early_blight/0a1b2c3d-0001___RS_Erly.B 7001_final_masked.png"))
        let scoring = try Self.evaluation().scoring(Self.settings(suffix: "_final_masked"))
        let error = try #require(throws: PipelineError.self) { try scoring.checkMasks(masks) }
        #expect("\(error)".contains("7001_final_masked.png' is 32×48 but its image is 64×64"), "\(error)")
    }

    @Test func theSanityCheckWithLeafMasksUsesTheFirstImages() throws {
        var settings = Self.settings(suffix: "_final_masked")
        settings.sanityImages = 1
        settings.steps = 2
        let scoring = try Self.evaluation().scoring(settings)
        let report = try scoring.sanityCheck(masks: Self.segmented)
        #expect(report.images == 1 && report.rows.count == 6)
    }
}
