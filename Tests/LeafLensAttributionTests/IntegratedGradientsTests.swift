import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct IntegratedGradientsTests {
    // MARK: Known answers (spec §1.5, §7.2)

    struct MultiLayerCase: Sendable, CustomTestStringConvertible {
        let rule: IntegrationRule
        let expected: [Double]
        let delta: [Double]
        var testDescription: String { rule.rawValue }
    }

    static let multiLayerX: [Double] = [1.5, 2.0, 1.3, 0.5, 0.1, 2.3]

    /// MultiLayer, target 0, zero baseline, 50 steps: 3·x for every rule but trapezoid (0.98·3·x).
    static let multiLayerCases: [MultiLayerCase] =
        [IntegrationRule.gaussLegendre, .riemannLeft, .riemannRight, .riemannMiddle].map {
            MultiLayerCase(rule: $0, expected: multiLayerX.map { 3 * $0 }, delta: [-2.86e-6, 0])
        } + [
            MultiLayerCase(
                rule: .riemannTrapezoid, expected: [4.41, 5.88, 3.822, 1.47, 0.294, 6.762], delta: [-0.288, -0.174])
        ]

    @Test(arguments: multiLayerCases)
    func multiLayer(_ c: MultiLayerCase) throws {
        let x = try tensor([2, 3], Self.multiLayerX)
        let result = try IntegratedGradients.attribute(
            model: MultiLayerModel<Float>(), input: x, targets: [0, 0], rule: c.rule)
        expectClose(result.attributions, try tensor([2, 3], c.expected), atol: 1e-5, rtol: 1e-5)
        // Captum's deltas are quoted to 3 significant digits; float32 summation adds ~1e-5.
        expectClose(result.convergenceDelta, c.delta, atol: 3e-5, rtol: 1e-4)
        // F(x) = [16.4, 10.7], F(0) = 2
        expectClose(try MultiLayerModel<Float>().outputs(x), try tensor([2, 2], [16.4, 18.4, 10.7, 12.7]))
    }

    struct BasicCase: Sendable, CustomTestStringConvertible {
        let rule: IntegrationRule
        let expected: [Double]
        var testDescription: String { rule.rawValue }
    }

    /// BasicModel f = 1 − relu(1 − x), x = [2, 0.5, −1] (three scalar examples), 4 steps.
    @Test(arguments: [
        BasicCase(rule: .riemannLeft, expected: [1.0, 0.5, -1.0]),
        BasicCase(rule: .riemannRight, expected: [0.5, 0.5, -1.0]),
        BasicCase(rule: .riemannMiddle, expected: [1.0, 0.5, -1.0]),
        BasicCase(rule: .riemannTrapezoid, expected: [0.75, 0.375, -0.75]),
        BasicCase(rule: .gaussLegendre, expected: [1.0, 0.5, -1.0]),
    ])
    func basicModel(_ c: BasicCase) throws {
        let x = try tensor([3], [2.0, 0.5, -1.0])
        let result = try IntegratedGradients.attribute(
            model: BasicModel<Float>(), input: x, targets: [0, 0, 0], steps: 4, rule: c.rule)
        expectClose(result.attributions, try tensor([3], c.expected), atol: 1e-6, rtol: 1e-6)
    }

    struct ConvNetCase: Sendable, CustomTestStringConvertible {
        let rule: IntegrationRule
        let steps: Int
        let sum: Double
        let rows: [[Double]]  // all four rows, or only row 1 when `rowOneOnly`
        var rowOneOnly = false
        var testDescription: String { "\(rule.rawValue)/\(steps)" }
    }

    static let convNetCases: [ConvNetCase] = [
        .init(
            rule: .gaussLegendre, steps: 50, sum: 53.32896,
            rows: [
                [0, 0.080477, 0.160953, 0.241430], [1.185481, 3.271858, 3.926230, 2.506010],
                [2.370962, 5.889345, 6.543716, 3.938015], [3.556442, 7.460637, 8.034533, 4.162873],
            ]),
        .init(
            rule: .riemannLeft, steps: 50, sum: 54.36,
            rows: [[0, 0.06, 0.12, 0.18], [1.28, 3.3, 3.96, 2.38], [2.56, 5.94, 6.6, 3.74], [3.84, 7.8, 8.4, 4.2]]),
        .init(
            rule: .riemannRight, steps: 50, sum: 55.44,
            rows: [[0, 0.08, 0.16, 0.24], [1.28, 3.4, 4.08, 2.52], [2.56, 6.12, 6.8, 3.96], [3.84, 7.8, 8.4, 4.2]]),
        .init(
            rule: .riemannMiddle, steps: 50, sum: 53.82,
            rows: [[0, 0.08, 0.16, 0.24], [1.2, 3.3, 3.96, 2.52], [2.4, 5.94, 6.6, 3.96], [3.6, 7.54, 8.12, 4.2]]),
        .init(
            rule: .riemannTrapezoid, steps: 50, sum: 51.48,
            rows: [[0, 0.07, 0.14, 0.21], [1.2, 3.15, 3.78, 2.31], [2.4, 5.67, 6.3, 3.63], [3.6, 7.28, 7.84, 3.9]]),
        .init(
            rule: .riemannRight, steps: 4, sum: 56.25,
            rows: [[0, 0.25, 0.5, 0.75], [1, 3.75, 4.5, 3.5], [2, 6.75, 7.5, 5.5], [3, 6.5, 7, 3.75]]),
        .init(
            rule: .gaussLegendre, steps: 4, sum: 65.15049, rows: [[1.304290, 4.130363, 4.956435, 3.5]],
            rowOneOnly: true),
    ]

    /// ConvNet_One_Conv, x = arange(16) as 1×1×4×4, target 0, F(x) = 54, F(0) = 0.
    @Test(arguments: convNetCases)
    func convNet(_ c: ConvNetCase) throws {
        let result = try IntegratedGradients.attribute(
            model: ConvNetModel<Float>(), input: try arange16(), targets: [0], steps: c.steps, rule: c.rule)
        let a = result.attributions
        if c.rowOneOnly {
            expectClose(Array(a.storage[4..<8]), c.rows[0], atol: 1e-5, rtol: 1e-5)
        } else {
            expectClose(a, try tensor([1, 1, 4, 4], c.rows.flatMap { $0 }), atol: 1e-5, rtol: 1e-5)
        }
        let sum = a.storage.reduce(0.0) { $0 + Double($1) }
        expectClose([sum], [c.sum], atol: 1e-4, rtol: 1e-6, "attribution sum")
        expectClose(result.convergenceDelta, [c.sum - 54], atol: 1e-4, rtol: 1e-6, "delta")
    }

    struct TwoInputCase: Sendable, CustomTestStringConvertible {
        let kind: TwoInputModel<Float>.Kind
        let rule: IntegrationRule
        let steps: Int
        let multiplyByInputs: Bool
        let expected: [Double]
        let atol: Double
        var testDescription: String { "\(kind) \(rule.rawValue)/\(steps) multiply \(multiplyByInputs)" }
    }

    /// BasicModel2/3 at ([3], [1]) with inputs concatenated: Captum's ([1.5], [−0.5]).
    @Test(
        arguments: [TwoInputModel<Float>.Kind.basicModel2, .basicModel3].flatMap { kind in
            [
                TwoInputCase(
                    kind: kind, rule: .riemannRight, steps: 500, multiplyByInputs: true, expected: [1.5, -0.5],
                    atol: 0.05),
                TwoInputCase(
                    kind: kind, rule: .riemannRight, steps: 500, multiplyByInputs: false, expected: [0.5, -0.5],
                    atol: 0.05),
                TwoInputCase(
                    kind: kind, rule: .gaussLegendre, steps: 50, multiplyByInputs: true, expected: [1.5, -0.5],
                    atol: 1e-6),
            ]
        })
    func twoInputModels(_ c: TwoInputCase) throws {
        let result = try IntegratedGradients.attribute(
            model: TwoInputModel<Float>(kind: c.kind), input: try tensor([1, 2], [3, 1]), targets: [0],
            steps: c.steps, rule: c.rule, multiplyByInputs: c.multiplyByInputs)
        expectClose(result.attributions, try tensor([1, 2], c.expected), atol: c.atol, rtol: 0)
        if c.multiplyByInputs && c.rule == .riemannRight {
            #expect(result.convergenceDelta.allSatisfy { abs($0) < 0.07 })
        }
    }

    /// Float32 weights apply to float64 models too: riemann_left/3 on f(x) = x gives 3·Float(1/3).
    @Test func doubleModelUsesFloat32Weights() throws {
        let x = try Tensor<Double>(shape: [1, 1], storage: [1])
        let result = try IntegratedGradients.attribute(
            model: LinearModel<Double>(weights: [1]), input: x, targets: [0], steps: 3, rule: .riemannLeft)
        #expect(result.attributions.storage == [3 * Double(Float(1.0 / 3))])
        expectClose(result.attributions.storage, [1.0000000298], atol: 1e-10, rtol: 0)
    }

    // MARK: Axioms

    /// Completeness: the returned delta equals Σ attributions − (F(x) − F(b)) recomputed here from
    /// the model's own forward passes; on a model linear along the path it is ~0.
    @Test(arguments: IntegrationRule.allCases)
    func completenessDeltaMatchesIndependentRecomputation(_ rule: IntegrationRule) throws {
        var random = SeededRandom(seed: 11)
        let x = try Tensor<Float>(shape: [3, 1, 4, 4], storage: random.uniformArray(48, 0, 15))
        let baseline = try Tensor<Float>(shape: [1, 1, 4, 4], storage: random.uniformArray(16, 0, 2))
        let model = ConvNetModel<Float>()
        let targets = [0, 2, 3]
        let result = try IntegratedGradients.attribute(
            model: model, input: x, baseline: .tensor(baseline), targets: targets, steps: 20, rule: rule)
        let fx = try model.outputs(x), fb = try model.outputs(baseline)
        let recomputed = (0..<3).map { i in
            result.attributions.item(i).storage.reduce(0.0) { $0 + Double($1) }
                - (Double(fx.storage[i * 4 + targets[i]]) - Double(fb.storage[targets[i]]))
        }
        expectClose(result.convergenceDelta, recomputed, atol: 1e-5, rtol: 1e-6)

        let linear = try IntegratedGradients.attribute(
            model: MultiLayerModel<Float>(), input: try tensor([2, 3], Self.multiLayerX), targets: [1, 0],
            rule: rule)
        // ~0 up to float32 accumulation over 50 steps (trapezoid: the (n−1)/n scaling, 0.02·3·Σx)
        let expected = rule == .riemannTrapezoid ? [-0.02 * 3 * 4.8, -0.02 * 3 * 2.9] : [0, 0]
        expectClose(linear.convergenceDelta, expected, atol: 3e-5, rtol: 0)
    }

    @Test(arguments: IntegrationRule.allCases)
    func baselineEqualToInputGivesZero(_ rule: IntegrationRule) throws {
        var random = SeededRandom(seed: 3)
        let x = try Tensor<Float>(shape: [2, 1, 4, 4], storage: random.uniformArray(32, -5, 15))
        let result = try IntegratedGradients.attribute(
            model: ConvNetModel<Float>(), input: x, baseline: .tensor(x), targets: [0, 1], steps: 8, rule: rule)
        expectClose(result.attributions, Tensor<Float>(zeros: x.shape), atol: 0, rtol: 0)
        expectClose(result.convergenceDelta, [0.0, 0.0], atol: 0, rtol: 0)
    }

    /// On a linear model IG is exact: w ⊙ (x − b), times (n−1)/n for Captum's trapezoid weights.
    @Test(arguments: IntegrationRule.allCases)
    func linearModelIsExact(_ rule: IntegrationRule) throws {
        var random = SeededRandom(seed: 5)
        let weights: [Double] = random.uniformArray(12, -2, 2)
        let x = try Tensor<Double>(shape: [2, 3, 2, 2], storage: random.uniformArray(24, -1, 1))
        let baseline = Baseline<Double>.uniformNoise(low: -0.5, high: 0.5, seed: 9)
        let b = try baseline.resolved(for: x)
        let steps = 16
        let result = try IntegratedGradients.attribute(
            model: LinearModel(weights: weights), input: x, baseline: baseline, targets: [0, 0], steps: steps,
            rule: rule)
        let scale = rule == .riemannTrapezoid ? Double(steps - 1) / Double(steps) : 1
        let expected = try Tensor<Double>(
            shape: x.shape, storage: (0..<24).map { scale * weights[$0 % 12] * (x.storage[$0] - b.storage[$0]) })
        // Float32 weights sum to 1 only within a few float ulps.
        expectClose(result.attributions, expected, atol: 1e-7, rtol: 1e-6)
    }

    /// Chunked evaluation gives the unbatched result within a few ulp, and no call to the model
    /// ever exceeds one internal batch (max(1, ⌊size/N⌋) steps of N rows), whatever n is.
    @Test(arguments: [1, 2, 3, 7, 29, 150, 1000])
    func internalBatchSizeInvariance(_ size: Int) throws {
        var random = SeededRandom(seed: 21)
        let x = try Tensor<Float>(shape: [3, 1, 4, 4], storage: random.uniformArray(48, 0, 15))
        let targets = [0, 1, 2]
        let reference = try IntegratedGradients.attribute(
            model: ConvNetModel<Float>(), input: x, targets: targets, steps: 50)
        let recorder = RecordingModel(ConvNetModel<Float>())
        let progress = ProgressLog()
        let chunked = try IntegratedGradients.attribute(
            model: recorder, input: x, targets: targets, steps: 50, internalBatchSize: size,
            progress: progress.callback)
        expectClose(chunked.attributions, reference.attributions, atol: 4e-6, rtol: 2e-6)
        expectClose(chunked.convergenceDelta, reference.convergenceDelta, atol: 2e-5, rtol: 0)

        let stepsPerChunk = max(1, size / 3)
        #expect(recorder.batches.max() == min(50, stepsPerChunk) * 3)
        let chunks = (50 + stepsPerChunk - 1) / stepsPerChunk
        #expect(recorder.batches.count == chunks + 2)  // + F(x) and F(b)
        #expect(progress.values.count == chunks)
        #expect(progress.values.last == [50, 50])
    }

    // MARK: Validation

    @Test func invalidArgumentsThrow() throws {
        let model = MultiLayerModel<Float>()
        let x = try tensor([2, 3], Self.multiLayerX)
        #expect(throws: AttributionError.targetOutOfRange(target: 2, classCount: 2)) {
            try IntegratedGradients.attribute(model: model, input: x, targets: [0, 2])
        }
        #expect(throws: AttributionError.targetOutOfRange(target: -1, classCount: 2)) {
            try IntegratedGradients.attribute(model: model, input: x, targets: [-1, 0])
        }
        #expect(throws: AttributionError.self) {
            try IntegratedGradients.attribute(model: model, input: x, targets: [0])
        }
        #expect(throws: AttributionError.self) {
            try IntegratedGradients.attribute(model: model, input: x, targets: [0, 0], steps: 1, rule: .riemannLeft)
        }
        #expect(throws: AttributionError.self) {
            try IntegratedGradients.attribute(model: model, input: x, targets: [0, 0], internalBatchSize: 0)
        }
        #expect(throws: AttributionError.self) {
            try IntegratedGradients.attribute(
                model: model, input: x, baseline: .tensor(try tensor([1, 2], [0, 0])), targets: [0, 0])
        }
        // GL with a single step is legal: alpha 0.5, weight 1.
        let one = try IntegratedGradients.attribute(model: model, input: x, targets: [0, 0], steps: 1)
        expectClose(one.attributions, try tensor([2, 3], Self.multiLayerX.map { 3 * $0 }), atol: 1e-5, rtol: 0)
    }
}
