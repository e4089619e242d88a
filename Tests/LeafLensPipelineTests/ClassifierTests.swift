import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// `Classifier`: which program a run gets, and that both give the same classes.
@Suite struct ClassifierTests {
    /// Short runs skip the Winograd transform where it would be built (no packed kernel); longer runs and
    /// runs of unknown length get the classification program.
    @Test func shortRunsSkipThePreparationsThatDoNotPay() throws {
        let model = try PipelineFixtures.tinyModel()
        let loader = InputLoader(size: InputSize(resize: 64, crop: 56))
        let short = try Classifier(model: model, loader: loader, images: Classifier.preparationMinimumImages - 1)
        #expect(short.purpose == (PackedMatrix.isAvailable ? .classification : .attribution))
        let long = try Classifier(model: model, loader: loader, images: Classifier.preparationMinimumImages)
        #expect(long.purpose == .classification)
        #expect(try Classifier(model: model, loader: loader).purpose == .classification)
    }

    /// Both programs compute the same function: the logits agree to float32 rounding.
    @Test func shortAndLongRunsAgree() throws {
        let model = try PipelineFixtures.tinyModel()
        let loader = InputLoader(size: InputSize(resize: 64, crop: 56))
        let path = PipelineFixtures.pngImage.path
        let one = try Classifier(model: model, loader: loader, images: 1).classify(path, top: 3)
        let many = try Classifier(model: model, loader: loader, images: 100).classify(path, top: 3)
        #expect(one.predictions.map(\.index) == many.predictions.map(\.index))
        expectClose(one.logits, many.logits, atol: 1e-5, rtol: 1e-4, "logits")
    }
}
