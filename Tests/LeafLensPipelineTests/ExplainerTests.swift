import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensPipeline
import LeafLensTestSupport
import Testing

/// The one dispatcher, in process: each method's shapes and recorded parameters, the numbers equal to
/// the attribution library's own entry points, and the Grad-CAM resolution policy.
@Suite struct ExplainerTests {
    static let target = 5

    static func explainer(_ configure: (inout ExplainerSettings) -> Void = { _ in }) throws -> Explainer {
        var settings = ExplainerSettings()
        settings.integratedGradients.steps = 4
        settings.occlusion.window = 16
        settings.occlusion.stride = 16
        configure(&settings)
        return try Explainer(
            model: PipelineFixtures.tinyModel(), settings: settings, methods: AttributionMethod.allCases)
    }

    @Test(arguments: AttributionMethod.allCases)
    func shapesAndParameters(_ method: AttributionMethod) throws {
        let input = try PipelineFixtures.input()
        let explanation = try Self.explainer().explain(method, input: input, target: Self.target)
        #expect(explanation.method == method)
        switch method.space {
        case .input:
            #expect(explanation.attributions.shape == [3, 48, 48])
            #expect(explanation.displayed == explanation.attributions)
        case .layer:
            #expect(explanation.attributions.shape == [48, 48])
            #expect(explanation.displayed.shape == [48, 48])
        }
        #expect(explanation.map.count == 48 * 48)
        #expect(explanation.seconds >= 0)
        #expect((explanation.convergenceDelta != nil) == (method == .integratedGradients))
        switch method {
        case .integratedGradients:
            #expect(explanation.parameters.steps == 4 && explanation.parameters.baseline == "zero")
        case .gradCAM:
            #expect(explanation.parameters.layer == "layer4" && explanation.parameters.layerShape == [2, 2])
        case .occlusion:
            #expect(explanation.parameters.window == [3, 16, 16] && explanation.parameters.strides == [3, 16, 16])
        case .saliency: #expect(explanation.parameters.absolute == true)
        case .inputXGradient: #expect(explanation.parameters == MethodParameters())
        case .gradientShap, .guidedBackprop, .deconvolution, .guidedGradCAM: break  // ExplainerGradientTests
        default:  // the CAM family and the segment methods (ExplainerCAMTests)
            #expect((explanation.parameters.layers != nil) == method.isCAMFamily)
            #expect((explanation.parameters.segments != nil) == method.isSegmentMethod)
        }
    }

    /// The dispatcher adds nothing to the numbers: same as calling the library directly.
    @Test func sameNumbersAsTheLibrary() throws {
        let input = try PipelineFixtures.input()
        let explainer = try Self.explainer()
        let classifier = try ResNetClassifier(try PipelineFixtures.tinyModel().network)
        let ig = try IntegratedGradients.attribute(
            model: classifier, input: input.tensor, targets: [Self.target], steps: 4, internalBatchSize: 16)
        let explained = try explainer.explain(.integratedGradients, input: input, target: Self.target)
        expectClose(explained.attributions, try ig.attributions.reshaped([3, 48, 48]), atol: 0, rtol: 0)
        #expect(explained.convergenceDelta == ig.convergenceDelta.first.map(Double.init))
        let occlusion = try Occlusion.attribute(
            model: classifier, input: input.tensor, targets: [Self.target], window: [3, 16, 16], strides: [3, 16, 16],
            perturbationsPerEval: 16)
        expectClose(
            try explainer.explain(.occlusion, input: input, target: Self.target).attributions,
            try occlusion.reshaped([3, 48, 48]), atol: 0, rtol: 0)
    }

    /// Grad-CAM is stored as `upsample` says and always drawn at the input's size: with `.none` the
    /// `.npy` keeps the layer grid and the picture is its bilinear upsampling.
    @Test func gradCAMStoredAtLayerResolutionDrawnUpsampled() throws {
        let input = try PipelineFixtures.input()
        let layerGrid = try Self.explainer {
            $0.gradCAM.upsample = .none; $0.gradCAM.layer = "layer3"
        }
        .explain(.gradCAM, input: input, target: Self.target)
        let upsampled = try Self.explainer { $0.gradCAM.layer = "layer3" }
            .explain(.gradCAM, input: input, target: Self.target)
        #expect(layerGrid.attributions.shape == [3, 3])
        #expect(layerGrid.parameters.upsample == "none" && layerGrid.parameters.layerShape == [3, 3])
        let expected = try Upsample.resize(
            try layerGrid.attributions.reshaped([1, 1, 3, 3]), to: [48, 48], mode: .bilinear)
        expectClose(layerGrid.displayed, try expected.reshaped([48, 48]), atol: 0, rtol: 0)
        expectClose(upsampled.attributions, layerGrid.displayed, atol: 0, rtol: 0)
    }

    @Test func occlusionWindowLargerThanTheInputIsAnError() throws {
        let input = try PipelineFixtures.input(side: 12)
        #expect(throws: PipelineError.self) {
            try Self.explainer().explain(.occlusion, input: input, target: Self.target)
        }
    }

    @Test func missingBaselineFileIsReportedAtSetUp() throws {
        #expect(throws: PipelineError.self) {
            try Self.explainer { $0.integratedGradients.baseline = .file("/nonexistent/baseline.npy") }
        }
    }
}
