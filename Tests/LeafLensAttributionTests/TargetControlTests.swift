import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Two outputs: l2 rows [−1, 1] and [0.5, 2] over relu(l1(x)).
private func twoOutputNet() -> TwoLayerNet<Double> {
    var net = TwoLayerNet<Double>()
    net.l2 = Dense(weights: [-1, 1, 0.5, 2], bias: [0.1, -0.3], inputs: 2)
    return net
}

/// Central differences of F(x)[t] in Double.
private func finiteDifference<M: AttributionModel>(_ model: M, _ x: Tensor<Double>, target: Int) throws -> [Double]
where M.Scalar == Double {
    let h = 1e-6
    return try x.storage.indices.map { i in
        var plus = x, minus = x
        plus.storage[i] += h
        minus.storage[i] -= h
        let k = model.classCount
        let up = try model.outputs(plus).storage[(i / (x.count / x.shape[0])) * k + target]
        let down = try model.outputs(minus).storage[(i / (x.count / x.shape[0])) * k + target]
        return (up - down) / (2 * h)
    }
}

@Suite struct ProbabilityOutputTests {
    @Test func outputsAreSoftmaxAndGradientsMatchFiniteDifferences() throws {
        let model = ProbabilityOutput(twoOutputNet())
        let x = try Tensor<Double>(shape: [2, 2], storage: [1, 0.5, 0.3, -0.2])
        let p = try model.outputs(x)
        for row in 0..<2 { #expect(abs(p.storage[2 * row] + p.storage[2 * row + 1] - 1) < 1e-15) }
        for target in 0..<2 {
            let g = try model.inputGradient(x, targets: [target, target]).gradient
            expectClose(
                g.storage, try finiteDifference(model, x, target: target), atol: 1e-8, rtol: 1e-6, "target \(target)")
        }
    }

    /// The TinyCAM softmax of reference §0.1, from its logits.
    @Test func softmaxOfKnownLogits() throws {
        let p = try ProbabilityOutput<RuleConvNet<Float>>.softmax(try tensor([1, 3], [0.049479, 0.351302, -0.149479]))
        expectClose(p, try tensor([1, 3], [0.315268, 0.426344, 0.258389]), atol: 2e-6, rtol: 0)
    }

    /// Saliency of pₜ = pₜ·(∇zₜ − Σₖ pₖ∇zₖ) on a ResNet, from the plain logit gradients.
    @Test func resNetSaliencyIsTheSoftmaxChainRule() throws {
        let base = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 41, shape: [1, 3, 32, 32])
        let target = 4
        let p = try ProbabilityOutput<ResNetClassifier<Float>>.softmax(try base.outputs(x)).storage.map(Double.init)
        var expected = [Double](repeating: 0, count: x.count)
        for k in 0..<base.classCount {
            let g = try base.inputGradient(x, targets: [k]).gradient.storage
            let weight = p[target] * ((k == target ? 1 : 0) - p[k])
            for i in expected.indices { expected[i] += weight * Double(g[i]) }
        }
        let result = try Saliency.attribute(
            model: ProbabilityOutput(base), input: x, targets: [target], absolute: false)
        let scale = expected.map(abs).max() ?? 1
        expectClose(result.storage.map(Double.init), expected, atol: 1e-4 * scale, rtol: 1e-3)
    }
}

@Suite struct ContrastiveOutputTests {
    @Test func gradientIsTheDifferenceOfGradients() throws {
        let net = twoOutputNet()
        let model = try ContrastiveOutput(net, versus: 1)
        let x = try Tensor<Double>(shape: [1, 2], storage: [1, 0.5])
        let both = try (net.inputGradient(x, targets: [0]).gradient, net.inputGradient(x, targets: [1]).gradient)
        let result = try model.inputGradient(x, targets: [0])
        expectClose(result.gradient.storage, zip(both.0.storage, both.1.storage).map { $0 - $1 }, atol: 1e-15, rtol: 0)
        let logits = try net.outputs(x).storage
        expectClose(result.outputs.storage, [logits[0] - logits[1], 0], atol: 1e-15, rtol: 0)
        expectClose(try model.inputGradient(x, targets: [1]).gradient.storage, [0.0, 0], atol: 0, rtol: 0)
        expectClose(
            try model.inputGradient(x, targets: [0]).gradient.storage, try finiteDifference(model, x, target: 0),
            atol: 1e-8, rtol: 1e-6)
    }

    /// Occlusion through the wrapper keeps the ResNet's fast path and equals the difference of the
    /// two classes' occlusion maps (occlusion is linear in the output).
    @Test func resNetOcclusionAndGradCAM() throws {
        let base = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 43, shape: [1, 3, 32, 32])
        let model = try ContrastiveOutput(base, versus: 7)
        #expect(try model.occlusionEvaluator(example: x, fill: Tensor(zeros: x.shape), target: 2) != nil)
        let window = Occlusion.Parameters<Float>(height: 8, width: 12, strideHeight: 8, strideWidth: 6)
        let versus = try Occlusion.attribute(model: model, input: x, targets: [2], parameters: window)
        let t = try Occlusion.attribute(model: base, input: x, targets: [2], parameters: window)
        let b = try Occlusion.attribute(model: base, input: x, targets: [7], parameters: window)
        let scale = Double(t.storage.map(abs).max() ?? 1)
        expectClose(
            versus, try Tensor(shape: t.shape, storage: zip(t.storage, b.storage).map { $0 - $1 }), atol: 1e-5 * scale,
            rtol: 1e-4)

        let cam = try GradCAM.attribute(model: model, input: x, layer: "layer4", targets: [2], relu: false)
        let camT = try GradCAM.attribute(model: base, input: x, layer: "layer4", targets: [2], relu: false)
        let camB = try GradCAM.attribute(model: base, input: x, layer: "layer4", targets: [7], relu: false)
        expectClose(
            cam, try Tensor(shape: camT.shape, storage: zip(camT.storage, camB.storage).map { $0 - $1 }), atol: 1e-5,
            rtol: 1e-4)
    }

    @Test func versusOutOfRangeIsTyped() {
        #expect(throws: AttributionError.targetOutOfRange(target: 9, classCount: 4)) {
            try ContrastiveOutput(RuleConvNet<Float>(), versus: 9)
        }
    }
}

@Suite struct TargetSelectionTests {
    static let labels = ["Apple___Apple_scab", "Apple___Black_rot", "Tomato___Early_blight", "Tomato___Late_blight"]

    @Test func resolvesIndicesAndNames() throws {
        #expect(try ClassLabels.resolve("2", labels: Self.labels) == 2)
        #expect(try ClassLabels.resolve("Apple___Black_rot", labels: Self.labels) == 1)
        #expect(try ClassLabels.resolve("tomato___late_blight", labels: Self.labels) == 3)
        #expect(try TargetRequest.parse("top:2", labels: Self.labels) == .top(2))
        #expect(try TargetRequest.parse("Tomato___Early_blight", labels: Self.labels) == .index(2))
    }

    @Test func badSpecsAreTypedErrors() {
        #expect(
            throws: TargetError.unknownLabel("blight", suggestions: ["Tomato___Early_blight", "Tomato___Late_blight"])
        ) {
            try ClassLabels.resolve("blight", labels: Self.labels)
        }
        #expect(throws: TargetError.indexOutOfRange(4, classCount: 4)) {
            try ClassLabels.resolve("4", labels: Self.labels)
        }
        #expect(throws: TargetError.indexOutOfRange(-1, classCount: 4)) {
            try ClassLabels.resolve("-1", labels: Self.labels)
        }
        #expect(throws: TargetError.emptyTarget) { try ClassLabels.resolve(" ", labels: Self.labels) }
        #expect(throws: TargetError.invalidTopK("0", classCount: 4)) {
            try TargetRequest.parse("top:0", labels: Self.labels)
        }
        #expect(throws: TargetError.invalidTopK("5", classCount: 4)) {
            try TargetRequest.parse("top:5", labels: Self.labels)
        }
        #expect(throws: TargetError.invalidTopK("x", classCount: 4)) {
            try TargetRequest.parse("top:x", labels: Self.labels)
        }
        #expect("\(TargetError.unknownLabel("rust", suggestions: []))".contains("target 'rust'"))
    }

    @Test func topClassesPerExampleWithTies() throws {
        let outputs = try tensor([2, 4], [0.1, 0.7, 0.7, -1, 3, 2, 1, 0])
        #expect(try TargetRequest.top(3).classes(outputs: outputs) == [[1, 2, 0], [0, 1, 2]])
        #expect(try TargetRequest.index(3).classes(outputs: outputs) == [[3], [3]])
        #expect(throws: TargetError.self) { try TargetRequest.top(5).classes(outputs: outputs) }
    }
}
