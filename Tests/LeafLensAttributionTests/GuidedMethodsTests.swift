import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

// Known answers from Captum's tests and reference A3/A4 (ConvNet_One_Conv, arange16, target 0).

@Suite struct GuidedBackpropTests {
    @Test func convNetKnownAnswer() throws {
        let result = try GuidedBackprop.attribute(model: RuleConvNet<Float>(), input: try arange16(), targets: [0])
        expectClose(
            result, try tensor([1, 1, 4, 4], [0, 1, 1, 1, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 2, 1]), atol: 1e-6, rtol: 0)
    }

    /// l2(relu(l1(x))) with both hidden units positive: plain [1, 2], guided [2, 1] (reference A3).
    @Test func twoLayerNetDiffersFromThePlainGradient() throws {
        let x = try tensor([1, 2], [1, 0.5])
        let plain = try Saliency.attribute(model: TwoLayerNet<Float>(), input: x, targets: [0], absolute: false)
        let guided = try GuidedBackprop.attribute(model: TwoLayerNet<Float>(), input: x, targets: [0])
        expectClose(plain, try tensor([1, 2], [1, 2]), atol: 0, rtol: 0)
        expectClose(guided, try tensor([1, 2], [2, 1]), atol: 0, rtol: 0)
    }

    @Test func ruleAtZeroBlocks() throws {
        var g = try Tensor<Float>(shape: [4], storage: [1, -1, 2, 3])
        let y = try Tensor<Float>(shape: [4], storage: [0, 1, 1, 2])
        ReLU.backwardInPlace(&g, output: y, rule: .guided)
        #expect(g.storage == [0, 0, 2, 3])
        var d = try Tensor<Float>(shape: [4], storage: [1, -1, 2, 3])
        ReLU.backwardInPlace(&d, output: y, rule: .deconvolution)
        #expect(d.storage == [1, 0, 2, 3])
    }
}

@Suite struct DeconvolutionTests {
    @Test func convNetKnownAnswer() throws {
        let result = try Deconvolution.attribute(model: RuleConvNet<Float>(), input: try arange16(), targets: [0])
        expectClose(
            result, try tensor([1, 1, 4, 4], [2, 3, 3, 1, 3, 5, 5, 2, 3, 5, 5, 2, 1, 2, 2, 1]), atol: 1e-6, rtol: 0)
    }

    @Test func twoLayerNet() throws {
        let result = try Deconvolution.attribute(
            model: TwoLayerNet<Float>(), input: try tensor([1, 2], [1, 0.5]), targets: [0])
        expectClose(result, try tensor([1, 2], [2, 1]), atol: 0, rtol: 0)
    }
}

@Suite struct GuidedGradCAMTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let layer: String
        let mode: UpsampleMode
        let expected: [Double]
        var testDescription: String { "\(layer) \(mode)" }
    }

    static let cases = [
        Case(layer: "relu1", mode: .nearest, expected: [0, 0, 4, 4, 0, 0, 12, 8, 28, 84, 97.5, 65, 28, 56, 65, 32.5]),
        Case(
            layer: "relu1", mode: .bilinear,
            expected: [
                0, 1, 3, 4, 7, 24.09375, 30.28125, 22.25, 21, 66.28125, 72.84375, 50.75, 28, 58.25, 62.75, 32.5,
            ]),
        Case(
            layer: "conv1", mode: .nearest,
            expected: [
                0, 11.25, 13.5, 13.5, 11.25, 33.75, 40.5, 27, 20.25, 60.75, 67.5, 45, 20.25, 40.5, 45, 22.5,
            ]),
        Case(
            layer: "conv1", mode: .bilinear,
            expected: [
                0, 11.8125, 12.9375, 13.5, 13.5, 42.1875, 45.5625, 31.5, 18, 55.6875, 59.0625, 40.5, 20.25, 41.625,
                43.875, 22.5,
            ]),
    ]

    @Test(arguments: cases)
    func convNetKnownAnswers(_ c: Case) throws {
        let result = try GuidedGradCAM.attribute(
            model: RuleConvNet<Float>(), input: try arange16(), targets: [0],
            parameters: .init(layer: c.layer, upsample: c.mode))
        expectClose(result, try tensor([1, 1, 4, 4], c.expected), atol: 1e-5, rtol: 0, c.testDescription)
    }

    @Test func rejectsNoUpsampling() throws {
        #expect(throws: AttributionError.self) {
            try GuidedGradCAM.attribute(
                model: RuleConvNet<Float>(), input: try arange16(), targets: [0],
                parameters: .init(layer: "relu1", upsample: .none))
        }
    }

    @Test func unknownLayerIsTyped() throws {
        #expect(throws: AttributionError.unknownLayer("fc9", available: ["conv1", "relu1"])) {
            try GuidedGradCAM.attribute(
                model: RuleConvNet<Float>(), input: try arange16(), targets: [0], parameters: .init(layer: "fc9"))
        }
    }
}
