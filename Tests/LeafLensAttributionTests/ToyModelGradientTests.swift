import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Central finite differences in Double, ∂f/∂xⱼ ≈ (f(x + h·eⱼ) − f(x − h·eⱼ))/2h, of
/// Σᵢ outputs[i, targets[i]] — the scalar every `inputGradient` differentiates.
func finiteDifferenceGradient<M: AttributionModel>(
    _ model: M, at x: Tensor<Double>, targets: [Int], step h: Double = 1e-5
) throws -> Tensor<Double> where M.Scalar == Double {
    func objective(_ input: Tensor<Double>) throws -> Double {
        let out = try model.outputs(input)
        return targets.enumerated().reduce(0.0) { $0 + out.storage[$1.offset * model.classCount + $1.element] }
    }
    var gradient = Tensor<Double>(zeros: x.shape)
    for j in 0..<x.count {
        var plus = x, minus = x
        plus.storage[j] += h
        minus.storage[j] -= h
        gradient.storage[j] = (try objective(plus) - objective(minus)) / (2 * h)
    }
    return gradient
}

/// The hand-written backward passes of the toy models agree with finite differences at random
/// points (away from ReLU kinks with probability 1), and the check can fail.
@Suite struct ToyModelGradientTests {
    @Test(arguments: 0..<4)
    func convNetInputGradient(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(100 + seed))
        let x = try Tensor<Double>(shape: [2, 1, 4, 4], storage: random.uniformArray(32, -5, 20))
        let addend = try Tensor<Double>(shape: [1, 1, 4, 4], storage: random.uniformArray(16, 0, 3))
        let model = ConvNetModel<Double>(addend: addend)
        let targets = [seed % 4, (seed + 1) % 4]
        expectClose(
            try model.inputGradient(x, targets: targets).gradient,
            try finiteDifferenceGradient(model, at: x, targets: targets), atol: 1e-6, rtol: 1e-6)
        // width-1 input broadcast along the rows
        let column = try Tensor<Double>(shape: [1, 1, 4, 1], storage: random.uniformArray(4, 5, 10))
        expectClose(
            try model.inputGradient(column, targets: [0]).gradient,
            try finiteDifferenceGradient(model, at: column, targets: [0]), atol: 1e-6, rtol: 1e-6)
    }

    @Test(arguments: 0..<4)
    func multiLayerAndTwoInputGradients(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(200 + seed))
        let x = try Tensor<Double>(shape: [3, 3], storage: random.uniformArray(9, -2, 5))
        let targets = [seed % 2, 1, 0]
        let multi = MultiLayerModel<Double>()
        expectClose(
            try multi.inputGradient(x, targets: targets).gradient,
            try finiteDifferenceGradient(multi, at: x, targets: targets), atol: 1e-6, rtol: 1e-6)
        let pairs = try Tensor<Double>(shape: [4, 2], storage: random.uniformArray(8, -3, 3))
        for kind in [TwoInputModel<Double>.Kind.basicModel2, .basicModel3] {
            let model = TwoInputModel<Double>(kind: kind)
            expectClose(
                try model.inputGradient(pairs, targets: [0, 0, 0, 0]).gradient,
                try finiteDifferenceGradient(model, at: pairs, targets: [0, 0, 0, 0]), atol: 1e-6, rtol: 1e-6)
        }
    }

    /// The checker is not vacuous: a model whose backward is off by a factor is caught.
    @Test func checkerDetectsAWrongGradient() throws {
        struct Wrong: AttributionModel {
            let inner = LinearModel<Double>(weights: [1, -2, 3])
            var classCount: Int { 1 }
            func outputs(_ x: Tensor<Double>) throws -> Tensor<Double> { try inner.outputs(x) }
            func inputGradient(
                _ x: Tensor<Double>, targets: [Int]
            ) throws
                -> (outputs: Tensor<Double>, gradient: Tensor<Double>)
            {
                var (o, g) = try inner.inputGradient(x, targets: targets)
                g.storage[1] *= 1.001
                return (o, g)
            }
            func layerGradient(
                _ x: Tensor<Double>, layer: String, targets: [Int]
            ) throws
                -> (outputs: Tensor<Double>, activation: Tensor<Double>, gradient: Tensor<Double>)
            { try inner.layerGradient(x, layer: layer, targets: targets) }
        }
        let x = try Tensor<Double>(shape: [1, 3], storage: [0.5, 1, 2])
        let analytic = try Wrong().inputGradient(x, targets: [0]).gradient
        let numeric = try finiteDifferenceGradient(Wrong(), at: x, targets: [0])
        let check = closeness(analytic.storage, numeric.storage, shape: x.shape, atol: 1e-6, rtol: 1e-6)
        #expect(!check.passed)
        #expect(check.worstIndex == [0, 1])
    }
}
