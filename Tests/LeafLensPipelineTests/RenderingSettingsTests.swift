import Foundation
import LeafLensImaging
import LeafLensMath
@testable import LeafLensPipeline
import LeafLensTestSupport
import Testing

/// `explain`'s rendering settings (issue 14) in process: which files the views write, colour bars on
/// single pictures, styles per method, scales per image and across a run, and blank maps.
@Suite struct RenderingSettingsTests {
    static func job(_ configure: (inout RenderingSettings) -> Void = { _ in }) throws -> ExplanationJob {
        var job = try ExplanationJobTests.job()
        configure(&job.visualization.rendering)
        return job
    }

    static let path = PipelineFixtures.pngImage.path
    static let stem = "png_rgb8_300x200"

    static func record(_ result: ExplanationFileSet, _ name: String) throws -> [String: Any] {
        let json = try #require(result.files.entries.first { $0.name == name }?.data)
        return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }

    static func png(_ result: ExplanationFileSet, _ name: String) throws -> RGBImage {
        try ImageDecoder.decode(try #require(result.files.entries.first { $0.name == name }?.data), source: name)
    }

    @Test func viewsWriteExactlyTheRequestedFiles() throws {
        let job = try Self.job { $0.views = [.masked, .alpha, .original] }
        let result = try job.run(Self.path, methods: [.integratedGradients, .gradCAM], target: nil)
        let expected =
            ["integrated-gradients", "grad-cam"].flatMap { method in
                ["npy", "json", "masked.png", "alpha.png"].map { "\(Self.stem).\(method).\($0)" }
            } + ["\(Self.stem).original.png", "\(Self.stem).panel.png", "\(Self.stem).report.html"]
        #expect(result.files.entries.map(\.name) == expected)
        let files = try #require(try Self.record(result, "\(Self.stem).grad-cam.json")["files"] as? [String: Any])
        #expect(files["heat_map"] == nil && files["overlay"] == nil)
        #expect(files["masked"] as? String == "\(Self.stem).grad-cam.masked.png")
        #expect(files["original"] as? String == "\(Self.stem).original.png")
        #expect(try Self.png(result, "\(Self.stem).original.png") == (try job.loader.load(Self.path)).displayImage)
    }

    @Test func maskedWithSignAllIsRefused() throws {
        var job = try Self.job { $0.views = [.masked] }
        job.visualization.sign = .all
        #expect(throws: PipelineError.self) { try job.run(Self.path, methods: [.saliency], target: nil) }
    }

    @Test func colorBarOnSinglePicturesOnlyWhenAsked() throws {
        let plain = try Self.job().run(Self.path, methods: [.saliency], target: nil)
        #expect(try Self.png(plain, "\(Self.stem).saliency.png").height == 56)
        let barred = try Self.job { $0.colorBar = true }.run(Self.path, methods: [.saliency], target: nil)
        let picture = try Self.png(barred, "\(Self.stem).saliency.png")
        #expect(picture.height > 56 + 20 && picture.width >= 56)
    }

    @Test func stylePerMethodDrawsCAMMethodsInGradCAMsLook() throws {
        let job = try Self.job { $0.defaultStyle = .perMethod }
        let result = try job.run(Self.path, methods: [.integratedGradients, .gradCAM], target: nil)
        let cam = try #require(try Self.record(result, "\(Self.stem).grad-cam.json")["rendering"] as? [String: Any])
        let ig = try #require(try Self.record(result, "\(Self.stem).integrated-gradients.json")["rendering"] as? [String: Any])
        #expect(cam["style"] as? String == "grad-cam" && cam["overlay_base"] as? String == "color")
        #expect(ig["style"] as? String == "captum" && ig["overlay_base"] as? String == "gray")
        #expect((ig["typeface"] as? String)?.isEmpty == false)
        #expect(ig["warnings"] as? [String] == [])
        let visualization = try #require(try Self.record(result, "\(Self.stem).grad-cam.json")["visualization"] as? [String: Any])
        #expect(visualization["colormap"] as? String == "opencv-jet")
    }

    /// Two maps, one twice the other, on one min-max scale: the larger reaches twice as far up the bar.
    @Test func oneScaleKeepsTheRatioOfTwoMaps() throws {
        let job = try Self.job {
            $0.scale = .perImage
            $0.normalization = .minMax
        }
        let side = 8
        let input = try PipelineFixtures.input(side: side)
        let values = (0..<(side * side)).map { Float($0 % 7) * 0.01 }  // includes 0, so min-max keeps ratios
        func computed(_ method: AttributionMethod, _ scale: Float) throws -> ComputedMethod {
            let tensor = try Tensor<Float>(shape: [side, side], storage: values.map { $0 * scale })
            let explanation = Explanation(
                method: method, attributions: tensor, displayed: tensor, parameters: MethodParameters(),
                convergenceDelta: nil, seconds: 0)
            return try job.computed(explanation, path: "x.npy")
        }
        let items = [try computed(.saliency, 1), try computed(.inputXGradient, 2)]
        let scales = try job.scales(for: items, path: "x.npy")
        #expect(scales[0] == scales[1] && scales[0].mapCount == 2)
        let drawn = try zip(items, scales).map { try job.draw($0, scale: $1, input: input, base: "x", path: "x.npy") }
        expectClose(drawn[1].map.values, drawn[0].map.values.map { $0 * 2 }, atol: 1e-6, rtol: 1e-5, "2× map on one scale")
        #expect(abs((drawn[1].map.values.max() ?? 0) - 1) < 1e-5)
        // Per map, each fills the bar on its own: the ratio is lost.
        var perMap = job
        perMap.visualization.rendering.scale = .perMap
        let own = try perMap.scales(for: items, path: "x.npy")
        #expect(own[0].mapCount == 1 && own[0].high * 2 == own[1].high)
    }

    @Test func sharedScaleIsFittedOverEveryInput() throws {
        let directory = try FixturePaths.temporaryDirectory("pipeline-shared-scale")
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for seed in [UInt64(1), 2] {
            let url = directory.appendingPathComponent("in\(seed).npy")
            try NPY.encode(ResNet18Input.seeded(seed: seed)).write(to: url)
            paths.append(url.path)
        }
        var job = try Self.job {
            $0.scale = .shared
            $0.normalization = .minMax
        }
        let scales = try job.fitSharedScales(paths, methods: [.saliency], target: nil)
        let scale = try #require(scales[.saliency])
        #expect(scale.mapCount == 2)
        job.visualization.rendering.sharedScales = scales
        var highs: [Double] = []
        for path in paths {
            let result = try job.run(path, methods: [.saliency], target: nil)
            let stem = InputLoader.stem(path)
            let rendering = try #require(try Self.record(result, "\(stem).saliency.json")["rendering"] as? [String: Any])
            #expect(rendering["scale_maps"] as? Int == 2 && rendering["scale"] as? String == "shared")
            highs.append(try #require(rendering["scale_high"] as? Double))
        }
        #expect(highs[0] == highs[1] && Float(highs[0]) == scale.high)  // JSON carries the Float as a Double
    }

    @Test func blankMapWarnsAndDrawsNoNaN() throws {
        let job = try Self.job()
        let input = try PipelineFixtures.input(side: 8)
        let zeros = try Tensor<Float>(shape: [3, 8, 8], storage: .init(repeating: 0, count: 192))
        let explanation = Explanation(
            method: .saliency, attributions: zeros, displayed: zeros, parameters: MethodParameters(),
            convergenceDelta: nil, seconds: 0)
        let item = try job.computed(explanation, path: "zero.npy")
        let scale = try #require(try job.scales(for: [item], path: "zero.npy").first)
        let drawing = try job.draw(item, scale: scale, input: input, base: "zero", path: "zero.npy")
        #expect(drawing.blank && drawing.warnings == [.allZero])
        #expect(drawing.map.values.allSatisfy { $0 == 0 })
        let lines = ExplanationJob.warningLines(drawing, method: .saliency, sign: item.sign, path: "zero.npy")
        #expect(lines.count == 1 && lines[0].contains("zero.npy") && lines[0].contains("blank"))
    }
}

/// A seeded preprocessed input `[1, 3, 48, 48]` as a `.npy` file holds it.
enum ResNet18Input {
    static func seeded(seed: UInt64) throws -> Tensor<Float> { try PipelineFixtures.input(side: 48, seed: seed).tensor }
}
