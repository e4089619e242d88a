import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

@Suite struct ResNet18Tests {
    static let tiny = ResNet18Configuration(classCount: 5, width: 4)

    func tinyModel(seed: UInt64 = 5) throws -> ResNet18<Double> {
        try ResNet18<Double>.seeded(seed: seed, configuration: Self.tiny)
    }

    /// torchvision resnet18 has 11,689,512 parameters with 1000 classes (running stats excluded).
    @Test func parameterCountMatchesTorchvision() {
        let config = ResNet18Configuration(classCount: 1000, width: 64)
        let learnable = config.parameterShapes
            .filter { !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var") }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(learnable == 11_689_512)
        #expect(config.parameterShapes.count == 122 - 20)  // 122 state_dict entries minus 20 num_batches_tracked
        // 1.81 GMAC per 224×224 image.
        #expect(abs(Double(config.multiplyAccumulates(height: 224, width: 224)) / 1e9 - 1.814) < 0.001)
    }

    @Test func layerNamesFollowTorchvision() throws {
        let unfolded = try tinyModel().program(foldingBatchNorm: false)
        for name in [
            "conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer2.0.downsample",
            "layer2.0.downsample.0", "layer3.0.conv2", "layer4", "layer4.1", "layer4.1.conv2", "avgpool", "fc",
        ] {
            #expect(unfolded.layers[name] != nil, "\(name)")
        }
        let folded = try tinyModel().program(foldingBatchNorm: true)
        #expect(folded.layers["layer4.1.conv2"] == nil)
        #expect(folded.layers["layer4.1.bn2"] != nil)
    }

    @Test(arguments: [[1, 3, 32, 32], [2, 3, 45, 37], [1, 3, 64, 48]])
    func shapesForAnyInputSize(_ shape: [Int]) throws {
        let program = try tinyModel().program()
        let record = try program.forward(
            ResNet18<Double>.seededInput(seed: 1, shape: shape), taps: ["layer4", "layer3", "avgpool"])
        #expect(record.outputs.shape == [shape[0], 5])
        func down(_ x: Int, _ times: Int) -> Int { (0..<times).reduce(x) { v, _ in (v + 2 - 3) / 2 + 1 } }
        #expect(record.layerActivations["layer4"]?.shape == [shape[0], 32, down(shape[2], 5), down(shape[3], 5)])
        #expect(record.layerActivations["avgpool"]?.shape == [shape[0], 32, 1, 1])
    }

    @Test func rejectsBadInputs() throws {
        let program = try tinyModel().program()
        #expect(throws: ModelError.self) { try program.forward(Tensor(zeros: [1, 3, 31, 64])) }
        #expect(throws: ModelError.self) { try program.forward(Tensor(zeros: [1, 4, 64, 64])) }
        #expect(throws: ModelError.self) { try program.forward(Tensor(zeros: [3, 64, 64])) }
        #expect(throws: ModelError.self) { try program.forward(Tensor(zeros: [1, 3, 64, 64]), taps: ["layer5"]) }
    }

    @Test func validationNamesKeyAndShapes() throws {
        var params = try tinyModel().parameters
        params["layer2.0.conv1.weight"] = Tensor(zeros: [8, 4, 3, 1])
        #expect(
            throws: ModelError.wrongShape(key: "layer2.0.conv1.weight", expected: [8, 4, 3, 3], found: [8, 4, 3, 1])
        ) {
            try ResNet18<Double>(configuration: Self.tiny, parameters: params)
        }
        params["layer2.0.conv1.weight"] = nil
        #expect(throws: ModelError.missingKeys(["layer2.0.conv1.weight"])) {
            try ResNet18<Double>(configuration: Self.tiny, parameters: params)
        }
    }

    /// Folding BN into the convolutions changes nothing but rounding.
    @Test func foldedMatchesUnfolded() throws {
        let model = try tinyModel()
        let x = ResNet18<Double>.seededInput(seed: 2, shape: [2, 3, 40, 36])
        let a = try model.program(foldingBatchNorm: true).forward(x).outputs
        let b = try model.program(foldingBatchNorm: false).forward(x).outputs
        expectClose(a, b, atol: 1e-10, rtol: 1e-10)
    }

    @Test func floatAgreesWithDouble() throws {
        let model = try tinyModel()
        let x = ResNet18<Double>.seededInput(seed: 3, shape: [2, 3, 48, 40])
        let d = try model.program().forward(x).outputs
        let f = try model.converted(to: Float.self).program().forward(x.converted(to: Float.self)).outputs
        expectClose(f, d, atol: 1e-4, rtol: 1e-4)
    }

    /// ∂(Σ r⊙logits)/∂input by finite differences, folded and unfolded programs alike.
    @Test(arguments: [true, false]) func inputGradient(folded: Bool) throws {
        let program = try tinyModel().program(foldingBatchNorm: folded)
        let x = ResNet18<Double>.seededInput(seed: 4, shape: [2, 3, 32, 36])
        let r = randomTensor([2, 5], seed: 5)
        let record = try program.forward(x, backward: .inputOnly)
        let grad = try program.backward(record, gradOutput: r).input!
        let check = try GradientChecker(maxSamples: 40).check(x, analytic: grad) {
            try projection(program.forward($0).outputs, r)
        }
        #expect(check.passed, "\(check)")
    }

    /// Gradients at named layers equal finite differences of the sub-network above them; here checked
    /// through the chain rule at the input: the gradient at `layer4` contracted with layer4's Jacobian.
    @Test func layerGradientIsConsistentWithInputGradient() throws {
        let program = try tinyModel().program()
        let x = ResNet18<Double>.seededInput(seed: 6, shape: [1, 3, 32, 32])
        let targets = try ResNetProgram<Double>.oneHot(targets: [2], classCount: 5)
        let record = try program.forward(x, taps: ["avgpool"], backward: .inputOnly)
        let result = try program.backward(record, gradOutput: targets, input: false, layers: ["avgpool"])
        // logits = fc(avgpool) ⇒ ∂logit₂/∂avgpool = fc.weight[2, :]
        let fc = try tinyModel().parameters["fc.weight"]!
        let row = try Tensor(shape: [1, 32, 1, 1], storage: Array(fc.storage[64..<96]))
        expectClose(result.layers["avgpool"]!, row, atol: 1e-12)
        #expect(result.input == nil)
    }

    /// A forward that keeps state only above the tapped layer gives the same layer gradient, and asking
    /// it for more than it kept is an error, not a crash.
    @Test(arguments: ["layer4", "layer3", "layer2.0.relu", "maxpool"])
    func layerOnlyPlanGivesTheSameLayerGradient(_ layer: String) throws {
        let program = try tinyModel().program()
        let x = ResNet18<Double>.seededInput(seed: 11, shape: [2, 3, 40, 36])
        let seed = try ResNetProgram<Double>.oneHot(targets: [1, 4], classCount: 5)
        let full = try program.forward(x, taps: [layer], backward: .inputOnly)
        let lean = try program.forward(x, taps: [layer], backward: .layerOnly(layer))
        expectClose(lean.outputs, full.outputs, atol: 0, rtol: 0)
        let a = try program.backward(full, gradOutput: seed, input: false, layers: [layer]).layers[layer]
        let b = try program.backward(lean, gradOutput: seed, input: false, layers: [layer]).layers[layer]
        expectClose(try #require(b), try #require(a), atol: 0, rtol: 0)
        #expect(throws: ModelError.self) { try program.backward(lean, gradOutput: seed, input: true) }
    }

    struct ParameterCase: CustomTestStringConvertible, Sendable {
        let name: String
        let training: Bool
        var testDescription: String { "\(name)\(training ? " (training BN)" : "")" }
    }

    static let parameterCases: [ParameterCase] = [
        "conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv2.weight", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.weight", "layer3.1.bn2.bias", "layer4.1.conv1.weight", "fc.weight", "fc.bias",
    ].flatMap { [ParameterCase(name: $0, training: false), ParameterCase(name: $0, training: true)] }

    /// Whole-network parameter gradients by finite differences, with eval-mode and training-mode BN.
    @Test(arguments: parameterCases) func parameterGradient(_ c: ParameterCase) throws {
        let model = try tinyModel()
        let x = ResNet18<Double>.seededInput(seed: 7, shape: [2, 3, 64, 64])
        let r = randomTensor([2, 5], seed: 8)
        let plan = BackwardPlan(parameterGradients: true, training: c.training)
        let program = try model.program(foldingBatchNorm: false)
        let record = try program.forward(x, backward: plan)
        let grads = try program.backward(record, gradOutput: r).parameters
        let analytic = try #require(grads[c.name])
        let check = try GradientChecker(maxSamples: 25).check(model.parameters[c.name]!, analytic: analytic) { value in
            var changed = model
            try changed.setParameter(c.name, value)
            return try projection(changed.program(foldingBatchNorm: false).forward(x, backward: plan).outputs, r)
        }
        #expect(check.passed, "\(check)")
    }

    @Test func everyTrainableParameterGetsAGradient() throws {
        let model = try tinyModel()
        let program = try model.program(foldingBatchNorm: false)
        let record = try program.forward(
            ResNet18<Double>.seededInput(seed: 9, shape: [2, 3, 32, 32]),
            backward: BackwardPlan(parameterGradients: true))
        let grads = try program.backward(record, gradOutput: randomTensor([2, 5], seed: 10)).parameters
        #expect(Set(grads.keys) == Set(model.trainableParameterNames))
        for (name, g) in grads { #expect(g.shape == model.parameters[name]!.shape, "\(name)") }
    }
}
