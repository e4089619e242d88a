import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// The CAM family and the segment methods through `Explainer` and `ExplanationJob`, in process, on the
/// tiny seeded model: each writes its four files, with its parameters (and seed) in the JSON.
@Suite struct ExplainerCAMTests {
    static let stem = "png_rgb8_300x200"
    static let size = InputSize(resize: 64, crop: 56)

    static func job(
        _ methods: [AttributionMethod], configure: (inout ExplainerSettings) -> Void = { _ in }
    ) throws
        -> ExplanationJob
    {
        let model = try PipelineFixtures.tinyModel()
        var settings = ExplainerSettings()
        settings.segments.spec = .grid(4)
        settings.segments.samples = 3
        configure(&settings)
        return ExplanationJob(
            explainer: try Explainer(model: model, settings: settings, methods: methods),
            loader: InputLoader(size: size), visualization: VisualizationSettings(), weights: model.description)
    }

    static func file(_ result: ExplanationFileSet, _ name: String) throws -> Data {
        try #require(result.files.entries.first { $0.name == "\(stem).\(name)" }?.data, "\(name) missing")
    }

    static func parameters(_ result: ExplanationFileSet, _ method: AttributionMethod) throws -> [String: Any] {
        let json = try file(result, "\(method.rawValue).json")
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        return try #require(record["parameters"] as? [String: Any])
    }

    static func attributions(_ result: ExplanationFileSet, _ method: AttributionMethod) throws -> Tensor<Float> {
        try NPY.decode(try file(result, "\(method.rawValue).npy"), as: Float.self)
    }

    @Test(arguments: AttributionMethod.camFamily)
    func camMethodWritesItsFinishedMap(_ method: AttributionMethod) throws {
        let result = try Self.job([method]) { $0.cam.batchSize = 8 }.run(
            PipelineFixtures.pngImage.path, methods: [method], target: 5)
        #expect(
            result.files.entries.map(\.name)
                == ["npy", "json", "png", "overlay.png"].map { "\(Self.stem).\(method.rawValue).\($0)" })
        let map = try Self.attributions(result, method)
        #expect(map.shape == [56, 56])
        #expect(map.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        let parameters = try Self.parameters(result, method)
        #expect(parameters["layers"] as? [String] == ["layer4"])
        #expect(parameters["postprocess"] as? String == "grad-cam")
        #expect(parameters["eigen_smooth"] as? Bool == false && parameters["aug_smooth"] as? Bool == false)
        let batched = method == .scoreCAM || method == .ablationCAM
        #expect((parameters["cam_batch_size"] as? Int) == (batched ? 8 : nil))
        let projects = method == .eigenCAM || method == .eigenGradCAM
        #expect((parameters["projection_sign"] as? String) == (projects ? "alignedWithChannelSum" : nil))
    }

    /// The pipeline's map is the library's, unchanged (several layers, both smoothings).
    @Test func camOptionsReachTheLibrary() throws {
        let job = try Self.job([.layerCAM]) {
            $0.cam.layers = ["layer3", "layer4"]
            $0.cam.eigenSmooth = true
        }
        let input = try job.loader.load(PipelineFixtures.pngImage.path)
        let explanation = try job.explainer.explain(.layerCAM, input: input, target: 2)
        let direct = try LeafLensAttribution.LayerCAM.attribute(
            model: job.explainer.classifier, input: input.tensor, targets: [2],
            parameters: .init(layers: ["layer3", "layer4"], eigenSmooth: true))
        expectClose(explanation.attributions, try direct.reshaped([56, 56]), atol: 0, rtol: 0)
        #expect(explanation.parameters.layers == ["layer3", "layer4"])
        #expect(explanation.parameters.projectionSign != nil)
    }

    @Test func gradCAMWithPyTorchGradCAMPostprocessing() throws {
        let job = try Self.job([.gradCAM]) { $0.cam.postprocessing = .gradCAM }
        let result = try job.run(PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 1)
        let map = try Self.attributions(result, .gradCAM)
        #expect(map.shape == [56, 56])
        #expect(map.storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        let parameters = try Self.parameters(result, .gradCAM)
        #expect(parameters["postprocess"] as? String == "grad-cam")
        #expect(parameters["relu"] == nil && parameters["layer_shape"] == nil)
        // Captum's numbers stay the default.
        let captum = try Self.job([.gradCAM]).run(PipelineFixtures.pngImage.path, methods: [.gradCAM], target: 1)
        #expect(try Self.parameters(captum, .gradCAM)["postprocess"] == nil)
    }

    @Test(arguments: AttributionMethod.segmentMethods)
    func segmentMethodPaintsEachSegment(_ method: AttributionMethod) throws {
        let result = try Self.job([method]) { $0.segments.seed = 7 }.run(
            PipelineFixtures.pngImage.path, methods: [method], target: 4)
        #expect(result.files.entries.count == 4)
        let a = try Self.attributions(result, method)
        #expect(a.shape == [3, 56, 56])
        // grid:4 on 56×56: 14×14 blocks, one value per block, the same on every channel.
        for c in 0..<3 {
            for y in 0..<56 {
                for x in 0..<56 {
                    let corner = a.storage[(y / 14 * 14) * 56 + x / 14 * 14]
                    #expect(a.storage[(c * 56 + y) * 56 + x] == corner)
                }
            }
        }
        let parameters = try Self.parameters(result, method)
        #expect(parameters["segments"] as? String == "grid:4")
        #expect(parameters["segment_count"] as? Int == 16)
        #expect(parameters["baseline"] as? String == "zero")
        let sampled = method != .featureAblation
        #expect((parameters["samples"] as? Int) == (sampled ? 3 : nil))
        #expect((parameters["seed"] as? Int) == (sampled ? 7 : nil))
        #expect((parameters["lime_model"] as? String) == (method == .lime ? "lasso" : nil))
        // The overlay shows the segment outlines (white) on the grid lines.
        let overlay = try ImageDecoder.decode(try Self.file(result, "\(method.rawValue).overlay.png"))
        let p = 3 * (20 * 56 + 13)
        #expect(Array(overlay.pixels[p..<p + 3]) == [255, 255, 255])
    }

    @Test func seedsReproduceAndDiffer() throws {
        func lime(_ seed: UInt64) throws -> [Float] {
            let job = try Self.job([.lime]) {
                $0.segments.seed = seed; $0.segments.samples = 12
            }
            let input = try job.loader.load(PipelineFixtures.pngImage.path)
            return try job.explainer.explain(.lime, input: input, target: 3).attributions.storage
        }
        #expect(try lime(1) == lime(1))
        #expect(try lime(1) != lime(2))
    }

    @Test func grid1FeatureAblationIsTheWholeDifference() throws {
        let job = try Self.job([.featureAblation]) { $0.segments.spec = .grid(1) }
        let input = try job.loader.load(PipelineFixtures.pngImage.path)
        let a = try job.explainer.explain(.featureAblation, input: input, target: 3)
        let logits = try job.explainer.classifier.outputs(input.tensor).storage
        let black = try job.explainer.classifier.outputs(Tensor(zeros: input.tensor.shape)).storage
        expectClose([a.attributions.storage[0]], [logits[3] - black[3]], atol: 1e-5, rtol: 1e-5)
        #expect(Set(a.attributions.storage).count == 1)
    }

    @Test func slicSegmentsComeFromThePicture() throws {
        let job = try Self.job([.featureAblation]) { $0.segments.spec = .slic(segments: 9, compactness: 10) }
        let input = try job.loader.load(PipelineFixtures.pngImage.path)
        let explanation = try job.explainer.explain(.featureAblation, input: input, target: 0)
        let segments = try #require(explanation.segments)
        let rgb = try Tensor<Float>(shape: [3, 56, 56], storage: Explainer.planes(input.displayImage))
        let expected = try LeafLensAttribution.SLIC.segments(rgb: rgb, parameters: .init(segments: 9, compactness: 10))
        #expect(segments == expected)
        #expect(explanation.parameters.segmentCount == segments.count)
    }

    @Test func labelImageSegmentsAndTheirSize() throws {
        let directory = try FixturePaths.temporaryDirectory("pipeline-segments")
        defer { try? FileManager.default.removeItem(at: directory) }
        func labels(side: Int) throws -> String {
            // Left half 10, right half 200 (gray): two segments.
            let pixels = (0..<side * side).flatMap { p -> [UInt8] in
                let v: UInt8 = p % side < side / 2 ? 10 : 200
                return [v, v, v]
            }
            let url = directory.appendingPathComponent("labels\(side).png")
            try PNGWriter.encode(try RGBImage(width: side, height: side, pixels: pixels)).write(to: url)
            return url.path
        }
        let good = try labels(side: 56)
        let job = try Self.job([.featureAblation]) { $0.segments.spec = .labelImage(path: good) }
        let input = try job.loader.load(PipelineFixtures.pngImage.path)
        let explanation = try job.explainer.explain(.featureAblation, input: input, target: 0)
        #expect(explanation.parameters.segmentCount == 2)

        let bad = try labels(side: 40)
        let wrong = try Self.job([.featureAblation]) { $0.segments.spec = .labelImage(path: bad) }
        let error = try #require(throws: OptionError.self) {
            try wrong.explainer.explain(.featureAblation, input: input, target: 0)
        }
        #expect(
            error.message.contains("--segments") && error.message.contains("56×56") && error.message.contains("40×40"))
    }

    @Test func badOptionsFoundPerInputAreOptionErrors() throws {
        let input = try Self.job([]).loader.load(PipelineFixtures.pngImage.path)
        let fine = try Self.job([.featureAblation]) { $0.segments.spec = .grid(57) }
        #expect(throws: OptionError.self) { try fine.explainer.explain(.featureAblation, input: input, target: 0) }
        let single = try Self.job([.kernelShap]) { $0.segments.spec = .grid(1) }
        #expect(throws: OptionError.self) { try single.explainer.explain(.kernelShap, input: input, target: 0) }
    }

    @Test func layerProblemNamesTheOption() throws {
        let job = try Self.job([.scoreCAM]) { $0.cam.layers = ["layer3", "layer9"] }
        let problem = try #require(job.explainer.layerProblem(for: [.scoreCAM]))
        #expect(problem.hasPrefix("--layer layer9 is not a layer"))
        #expect(job.explainer.layerProblem(for: [.saliency]) == nil)
        #expect(try Self.job([.gradCAM]).explainer.layerProblem(for: [.gradCAM]) == nil)
    }

    /// Several new methods at once: the panel and the report carry a column and a section for each.
    @Test func panelAndReportIncludeTheNewMethods() throws {
        let methods: [AttributionMethod] = [.gradCAMPlusPlus, .featureAblation]
        let result = try Self.job(methods).run(PipelineFixtures.pngImage.path, methods: methods, target: nil)
        let report = String(decoding: try Self.file(result, "report.html"), as: UTF8.self)
        #expect(report.contains("grad-cam-plus-plus") && report.contains("feature-ablation"))
        #expect(report.contains("segment count"))
        let panel = try ImageDecoder.decode(try Self.file(result, "panel.png"))
        #expect(panel.width > 3 * 56)
    }
}
