import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Cases shared by the two plain-gradient methods (spec §7.2 Saliency / InputXGradient).
struct GradientCase: Sendable, CustomTestStringConvertible {
    enum Net: Sendable { case basic, convNet, multiLayer }
    let name: String
    let net: Net
    let shape: [Int]
    let input: [Double]
    let targets: [Int]
    let saliency: [Double]
    let inputXGradient: [Double]
    var testDescription: String { name }

    static let all: [GradientCase] = [
        .init(
            name: "BasicModel, six scalar examples (relu′(0) = 0 at x = 1)", net: .basic, shape: [6],
            input: [1, 2, 3, 0, -1, 7], targets: [0, 0, 0, 0, 0, 0],
            saliency: [0, 0, 0, 1, 1, 0], inputXGradient: [0, 0, 0, 0, -1, 0]),
        .init(
            name: "ConvNet arange16, target 0", net: .convNet, shape: [1, 1, 4, 4], input: (0..<16).map(Double.init),
            targets: [0], saliency: [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0],
            inputXGradient: [0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0]),
        .init(
            name: "MultiLayer, targets [0, 0]", net: .multiLayer, shape: [2, 3], input: [1.5, 2, 1.3, 0.5, 0.1, 2.3],
            targets: [0, 0], saliency: Array(repeating: 3, count: 6),
            inputXGradient: [4.5, 6, 3.9, 1.5, 0.3, 6.9]),
        .init(
            name: "MultiLayer, targets [1, 0]", net: .multiLayer, shape: [2, 3], input: [1.5, 2, 1.3, 0.5, 0.1, 2.3],
            targets: [1, 0], saliency: Array(repeating: 3, count: 6),
            inputXGradient: [4.5, 6, 3.9, 1.5, 0.3, 6.9]),
    ]

    func run(_ method: (any GradientMethod.Type)) throws -> Tensor<Float> {
        let x = try tensor(shape, input)
        switch net {
        case .basic: return try method.attribute(BasicModel<Float>(), x, targets)
        case .convNet: return try method.attribute(ConvNetModel<Float>(), x, targets)
        case .multiLayer: return try method.attribute(MultiLayerModel<Float>(), x, targets)
        }
    }
}

protocol GradientMethod {
    static func attribute<M: AttributionModel>(
        _ model: M, _ x: Tensor<M.Scalar>, _ targets: [Int]
    ) throws
        -> Tensor<M.Scalar>
}
extension Saliency: GradientMethod {
    static func attribute<M: AttributionModel>(
        _ model: M, _ x: Tensor<M.Scalar>, _ targets: [Int]
    ) throws
        -> Tensor<M.Scalar>
    { try attribute(model: model, input: x, targets: targets) }
}
extension InputXGradient: GradientMethod {
    static func attribute<M: AttributionModel>(
        _ model: M, _ x: Tensor<M.Scalar>, _ targets: [Int]
    ) throws
        -> Tensor<M.Scalar>
    { try attribute(model: model, input: x, targets: targets) }
}

@Suite struct SaliencyTests {
    @Test(arguments: GradientCase.all)
    func knownAnswers(_ c: GradientCase) throws {
        expectClose(try c.run(Saliency.self), try tensor(c.shape, c.saliency), atol: 1e-6, rtol: 0)
    }

    /// `absolute: false` keeps the sign; the default is |gradient|.
    @Test func signedGradient() throws {
        let model = LinearModel<Float>(weights: [2, -3, 0.5])
        let x = try tensor([1, 3], [1, 1, 1])
        expectClose(
            try Saliency.attribute(model: model, input: x, targets: [0], absolute: false),
            try tensor([1, 3], [2, -3, 0.5]))
        expectClose(try Saliency.attribute(model: model, input: x, targets: [0]), try tensor([1, 3], [2, 3, 0.5]))
    }

    @Test func invalidTargetsThrow() throws {
        let x = try tensor([2, 3], [1, 2, 3, 4, 5, 6])
        #expect(throws: AttributionError.targetOutOfRange(target: 2, classCount: 2)) {
            try Saliency.attribute(model: MultiLayerModel<Float>(), input: x, targets: [2, 0])
        }
        #expect(throws: AttributionError.self) {
            try Saliency.attribute(model: MultiLayerModel<Float>(), input: x, targets: [0, 0, 0])
        }
    }
}

@Suite struct InputXGradientTests {
    @Test(arguments: GradientCase.all)
    func knownAnswers(_ c: GradientCase) throws {
        expectClose(try c.run(InputXGradient.self), try tensor(c.shape, c.inputXGradient), atol: 1e-6, rtol: 1e-6)
    }

    /// On a model linear along the path from 0, IxG equals IG with a zero baseline.
    @Test func equalsIntegratedGradientsOnLinearModel() throws {
        var random = SeededRandom(seed: 4)
        let weights: [Double] = random.uniformArray(12, -1, 1)
        let x = try Tensor<Double>(shape: [3, 12], storage: random.uniformArray(36, -2, 2))
        let model = LinearModel(weights: weights)
        let ixg = try InputXGradient.attribute(model: model, input: x, targets: [0, 0, 0])
        let ig = try IntegratedGradients.attribute(model: model, input: x, targets: [0, 0, 0])
        expectClose(ig.attributions, ixg, atol: 1e-7, rtol: 1e-6)
    }

    @Test func invalidTargetsThrow() throws {
        #expect(throws: AttributionError.targetOutOfRange(target: 1, classCount: 1)) {
            try InputXGradient.attribute(model: BasicModel<Float>(), input: try tensor([2], [1, 2]), targets: [0, 1])
        }
    }
}
