import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// The gradient family through the one dispatcher, in process on the tiny seeded model: GradientShap,
/// the guided methods, NoiseTunnel over every gradient method, target control and Occlusion windows —
/// each with the library's own numbers and its parameters and seed in the record.
@Suite struct ExplainerGradientTests {
    static let target = 5
    static let newMethods: [AttributionMethod] = [.gradientShap, .guidedBackprop, .deconvolution, .guidedGradCAM]
    static let tunnelled = AttributionMethod.allCases.filter(\.acceptsNoiseTunnel)

    static func explainer(
        methods: [AttributionMethod] = AttributionMethod.allCases,
        _ configure: (inout ExplainerSettings) -> Void = { _ in }
    ) throws -> Explainer {
        var settings = ExplainerSettings()
        settings.integratedGradients.steps = 4
        settings.gradients.gradientShap.samples = 3
        configure(&settings)
        return try Explainer(model: PipelineFixtures.tinyModel(), settings: settings, methods: methods)
    }

    static func classifier() throws -> ResNetClassifier<Float> {
        try ResNetClassifier(try PipelineFixtures.tinyModel().network)
    }

    /// Each new method: input-space shape, and the library's numbers exactly (the dispatcher adds nothing).
    @Test(arguments: newMethods)
    func newMethodsMatchTheLibrary(_ method: AttributionMethod) throws {
        let input = try PipelineFixtures.input()
        let explanation = try Self.explainer().explain(method, input: input, target: Self.target)
        #expect(explanation.method == method && method.space == .input)
        #expect(explanation.attributions.shape == [3, 48, 48])
        let model = try Self.classifier()
        let t = [Self.target]
        let expected: Tensor<Float>
        switch method {
        case .guidedBackprop: expected = try GuidedBackprop.attribute(model: model, input: input.tensor, targets: t)
        case .deconvolution: expected = try Deconvolution.attribute(model: model, input: input.tensor, targets: t)
        case .guidedGradCAM:
            expected = try GuidedGradCAM.attribute(model: model, input: input.tensor, targets: t)
            #expect(explanation.parameters.layer == "layer4" && explanation.parameters.upsample == "nearest")
        default:
            expected = try GradientShap.attribute(
                model: model, input: input.tensor, targets: t,
                parameters: .init(baselines: .perExample([.zero]), samples: 3, stdev: 0, seed: 0)
            ).attributions
            #expect(
                explanation.parameters.gradientShap
                    == GradientShapRecord(baselines: ["zero"], samples: 3, stdev: 0, seed: 0, internalBatchSize: nil))
        }
        expectClose(explanation.attributions, try expected.reshaped([3, 48, 48]), atol: 0, rtol: 0)
    }

    /// GradientShap's named baselines: black is the normalised black image, input the input itself;
    /// the seed changes the draws and is recorded.
    @Test func gradientShapBaselinesAndSeed() throws {
        let input = try PipelineFixtures.input()
        let explainer = try Self.explainer {
            $0.gradients.gradientShap.baselines = GradientShapBaselines(text: "black,input")!  // safe: literal
            $0.gradients.gradientShap.stdev = 0.1
            $0.gradients.seed = 7
        }
        let explanation = try explainer.explain(.gradientShap, input: input, target: Self.target)
        #expect(explanation.parameters.gradientShap?.baselines == ["black", "input"])
        #expect(explanation.parameters.gradientShap?.seed == 7 && explanation.parameters.gradientShap?.stdev == 0.1)
        var black = Tensor<Float>(zeros: [1, 3, 48, 48])
        for c in 0..<3 {
            let v = Float((0 - ImagePreprocessor.imageNetMean[c]) / ImagePreprocessor.imageNetStd[c])
            for i in 0..<(48 * 48) { black.storage[c * 48 * 48 + i] = v }
        }
        let expected = try GradientShap.attribute(
            model: Self.classifier(), input: input.tensor, targets: [Self.target],
            parameters: .init(
                baselines: .perExample([.tensor(black), .tensor(input.tensor)]), samples: 3, stdev: 0.1, seed: 7))
        expectClose(explanation.attributions, try expected.attributions.reshaped([3, 48, 48]), atol: 0, rtol: 0)
        let other = try Self.explainer {
            $0.gradients.gradientShap.baselines = GradientShapBaselines(text: "black,input")!  // safe: literal
            $0.gradients.gradientShap.stdev = 0.1
            $0.gradients.seed = 8
        }.explain(.gradientShap, input: input, target: Self.target)
        #expect(other.attributions != explanation.attributions)
    }

    /// A `.npy` of baseline rows must be [K, 3, H, W]; the option is named.
    @Test func baselineRowsOfTheWrongShapeAreRejected() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("rows.npy").path
        try NPY.encode(Tensor<Float>(zeros: [3, 48, 48])).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Self.explainer(methods: [.gradientShap]) { $0.gradients.gradientShap.baselines = .file(path) }
            Issue.record("a [3, H, W] baseline file was accepted")
        } catch let error as ExplainerOptionError {
            #expect(error.option == "--shap-baselines" && error.message.contains("[K, 3, H, W]"))
        }
        let good = directory.appendingPathComponent("good.npy").path
        try NPY.encode(Tensor<Float>(zeros: [2, 3, 48, 48])).write(to: URL(fileURLWithPath: good))
        let explainer = try Self.explainer(methods: [.gradientShap]) {
            $0.gradients.gradientShap.baselines = .file(good)
        }
        let explanation = try explainer.explain(.gradientShap, input: try PipelineFixtures.input(), target: Self.target)
        #expect(explanation.parameters.gradientShap?.baselines == ["\(good) (2 rows)"])
        #expect(throws: PipelineError.self) {
            _ = try explainer.explain(.gradientShap, input: try PipelineFixtures.input(side: 40), target: Self.target)
        }
    }

    /// NoiseTunnel over every gradient method: the library's numbers, and kind, samples, stdev and seed recorded.
    @Test(arguments: tunnelled)
    func noiseTunnelOverEachGradientMethod(_ method: AttributionMethod) throws {
        let input = try PipelineFixtures.input()
        let explainer = try Self.explainer {
            var tunnel = NoiseTunnelSettings()
            tunnel.kind = .smoothGradSquared
            tunnel.samples = 2
            tunnel.stdev = 0.5
            $0.gradients.noiseTunnel = tunnel
            $0.gradients.seed = 11
        }
        let explanation = try explainer.explain(method, input: input, target: Self.target)
        #expect(explanation.attributions.shape == [3, 48, 48])
        #expect(
            explanation.parameters.noiseTunnel
                == NoiseTunnelRecord(kind: "smoothgrad-sq", samples: 2, stdev: 0.5, batchSize: nil, seed: 11))
        let inner: NoiseTunnel.Method<Float>
        switch method {
        case .saliency: inner = .saliency(absolute: true)
        case .inputXGradient: inner = .inputXGradient
        case .guidedBackprop: inner = .guidedBackprop
        case .deconvolution: inner = .deconvolution
        case .integratedGradients: inner = .integratedGradients(steps: 4, internalBatchSize: 16)
        default: inner = .gradientShap(.init(baselines: .perExample([.zero]), samples: 3, seed: 11))
        }
        let expected = try NoiseTunnel.attribute(
            model: Self.classifier(), input: input.tensor, targets: [Self.target], method: inner,
            parameters: .init(kind: .smoothGradSquared, samples: 2, stdev: 0.5, seed: 11))
        expectClose(explanation.attributions, try expected.reshaped([3, 48, 48]), atol: 0, rtol: 0)
    }

    /// `--output probability` and `--versus` wrap the model; the record says so.
    @Test func targetControlWrapsTheModel() throws {
        let input = try PipelineFixtures.input()
        let probability = try Self.explainer { $0.gradients.target.output = .probability }
            .explain(.saliency, input: input, target: Self.target)
        let expected = try Saliency.attribute(
            model: ProbabilityOutput(Self.classifier()), input: input.tensor, targets: [Self.target])
        expectClose(probability.attributions, try expected.reshaped([3, 48, 48]), atol: 0, rtol: 0)
        #expect(probability.parameters.targetOutput == TargetOutputRecord(output: "probability", versus: nil))

        let versus = try Self.explainer { $0.gradients.target.versus = 2 }
            .explain(.inputXGradient, input: input, target: Self.target)
        let contrast = try InputXGradient.attribute(
            model: ContrastiveOutput(Self.classifier(), versus: 2), input: input.tensor, targets: [Self.target])
        expectClose(versus.attributions, try contrast.reshaped([3, 48, 48]), atol: 0, rtol: 0)
        #expect(versus.parameters.targetOutput == TargetOutputRecord(output: "logit", versus: 2))

        let cam = try Self.explainer { $0.gradients.target.output = .probability }
            .explain(.gradCAM, input: input, target: Self.target)
        #expect(cam.parameters.targetOutput?.output == "probability" && cam.attributions.shape == [48, 48])
    }

    /// Rectangular windows and channel windows reach the library as Captum's window shapes.
    @Test func occlusionWindows() throws {
        let input = try PipelineFixtures.input()
        let explanation = try Self.explainer {
            $0.occlusion.window = 16
            $0.occlusion.windowWidth = 24
            $0.occlusion.stride = 16
            $0.occlusion.strideWidth = 24
            $0.occlusion.channels = .each
        }.explain(.occlusion, input: input, target: Self.target)
        #expect(explanation.parameters.window == [1, 16, 24] && explanation.parameters.strides == [1, 16, 24])
        let expected = try Occlusion.attribute(
            model: Self.classifier(), input: input.tensor, targets: [Self.target],
            parameters: .init(height: 16, width: 24, channels: .each, baseline: .zero, perturbationsPerEval: 16))
        expectClose(explanation.attributions, try expected.reshaped([3, 48, 48]), atol: 0, rtol: 0)
        #expect(OcclusionSettings.parseSize("15x25").map { [$0.height, $0.width] } == [15, 25])
        #expect(OcclusionSettings.parseSize("0x3") == nil)
        #expect(OcclusionSettings.parseChannels("2:1") == .groups(size: 2, stride: 1))
        #expect(OcclusionSettings.parseChannels("2:x") == nil)
    }

    /// `top:K` writes each class's files under its own name; the JSON records the noise tunnel's seed.
    @Test func topKFilesAndRecordedSeed() throws {
        let model = try PipelineFixtures.tinyModel()
        var settings = ExplainerSettings()
        var tunnel = NoiseTunnelSettings()
        tunnel.samples = 2
        settings.gradients.noiseTunnel = tunnel
        settings.gradients.seed = 9
        let methods: [AttributionMethod] = [.saliency, .guidedBackprop]
        let job = ExplanationJob(
            explainer: try Explainer(model: model, settings: settings, methods: methods),
            loader: InputLoader(size: InputSize(resize: 64, crop: 56)), visualization: VisualizationSettings(),
            weights: model.description)
        let result = try job.run(PipelineFixtures.pngImage.path, methods: methods, target: nil, topK: 2)
        let stem = "png_rgb8_300x200"
        let expected = (1...2).flatMap { k in
            ["saliency", "guided-backprop"].flatMap { method in
                ["npy", "json", "png", "overlay.png"].map { "\(stem).\(method).top\(k).\($0)" }
            } + ["\(stem).top\(k).panel.png", "\(stem).top\(k).report.html"]
        }
        #expect(result.files.entries.map(\.name) == expected)
        let json = try #require(result.files.entries.first { $0.name == "\(stem).guided-backprop.top2.json" }?.data)
        let record = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let parameters = try #require(record["parameters"] as? [String: Any])
        let recorded = try #require(parameters["noise_tunnel"] as? [String: Any])
        #expect(
            recorded["seed"] as? Int == 9 && recorded["samples"] as? Int == 2
                && recorded["kind"] as? String == "smoothgrad")
        let files = try #require(record["files"] as? [String: Any])
        #expect(files["heat_map"] as? String == "\(stem).guided-backprop.top2.png")
        let target = try #require(record["target"] as? [String: Any])
        let ranking = try job.explainer.predictions(try job.loader.load(PipelineFixtures.pngImage.path))
        #expect(target["index"] as? Int == ranking[1].index)
    }
}
