import Foundation
import LeafLensMath
import LeafLensTestSupport
import LeafLensTraining
import Testing

@testable import LeafLensPipeline

/// `evaluate --sanity-check`'s curves: the cascading curve is the sanity check's own table, the
/// independent one has a value per block, and the asserted thresholds of the check hold at conv1.
@Suite(.serialized) struct RandomizationCurvesTests {
    @Test func cascadingCurveIsTheSanityChecksTable() throws {
        let root = try FixturePaths.temporaryDirectory("randomization-curves")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images")
        _ = try SyntheticDataset.generate(out: images, masks: nil, perClass: 1, seed: 424_242, size: 64)
        let model = try DefaultModelTests.model()
        let evaluation = try Evaluation(model: model, data: images.path, size: InputSize(resize: 64, crop: 64))
        var settings = ScoringSettings()
        settings.methods = [.gradCAM, .integratedGradients]
        settings.steps = 4
        settings.sanityImages = 2
        let scoring = evaluation.scoring(settings)
        let table = try scoring.sanityCheck(masks: nil)
        let curves = try scoring.randomizationCurves(masks: nil)
        #expect(curves.map(\.method) == ["grad-cam", "integrated-gradients"])
        #expect(curves[0].stages == ["fc", "layer4", "layer3", "layer2", "layer1", "conv1"])
        for (curve, column) in zip(curves, [table.rows.map(\.gradCam), table.rows.map(\.integratedGradients)]) {
            #expect(curve.independent.count == 6)
            for (a, b) in zip(curve.cascading, column) {
                #expect(abs(a - b) <= 1e-9, "\(curve.cascading) vs \(column)")
            }
            // The first stage is the same model either way.
            #expect(abs(curve.cascading[0] - curve.independent[0]) <= 1e-12)
        }
    }
}
