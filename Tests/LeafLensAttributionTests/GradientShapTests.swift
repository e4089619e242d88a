import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@Suite struct GradientShapTests {
    /// Lin (w = [1, 2, 3]) is linear along every path: any seed gives (x − b)·w, deltas 0 (reference A2).
    @Test(arguments: [0, 7] as [UInt64])
    func linearModelIsExactForAnySeed(_ seed: UInt64) throws {
        let result = try GradientShap.attribute(
            model: LinearModel<Float>(weights: [1, 2, 3]), input: try tensor([2, 3], [1, 1, 1, 2, 0, 1]),
            targets: [0, 0],
            parameters: .init(baselines: .rows(try tensor([1, 3], [0.5, -1, 2])), samples: 5, seed: seed),
            returnConvergenceDelta: true)
        expectClose(result.attributions, try tensor([2, 3], [0.5, 4, -3, 1.5, 2, -3]), atol: 1e-6, rtol: 0)
        let deltas = try #require(result.convergenceDelta)
        #expect(deltas.count == 10)
        expectClose(deltas, [Float](repeating: 0, count: 10), atol: 1e-6, rtol: 0)
    }

    /// Captum's Quad case with its numpy/torch draws injected (reference A2): attribution and deltas.
    @Test(arguments: [true, false])
    func quadKnownAnswerWithCaptumsDraws(_ multiply: Bool) throws {
        let noise = NoiseTunnelTests.captumNoise.map { $0 * 0.2 }  // 0.1·randn = (0.1/0.5)·(0.5·randn)
        let draws = GradientShap.Draws(
            baselineIndices: [0, 1, 0, 1], alphas: [0.6235637, 0.38438171, 0.29753461, 0.05671298],
            noise: try tensor([4, 3], noise))
        let result = try GradientShap.attribute(
            model: QuadModel<Float>(), input: try tensor([1, 3], [1, -2, 0.5]), targets: [0],
            parameters: .init(
                baselines: .rows(try tensor([3, 3], [0, 0, 0, 1, 1, 1, -1, 0.5, 2])), samples: 4, stdev: 0.1,
                multiplyByInputs: multiply),
            draws: draws, returnConvergenceDelta: multiply)
        let expected: [Double] = multiply ? [0.5852084, 0.868678, -0.4234821] : [1.5243762, -0.6019573, 1.0150064]
        expectClose(result.attributions, try tensor([1, 3], expected), atol: 1e-5, rtol: 1e-5)
        if multiply {
            expectClose(
                try #require(result.convergenceDelta), [1.3665581, -2.3297384, -1.9992876, -8.5069399], atol: 1e-5,
                rtol: 1e-5)
        }
    }

    /// One sample, a fixed α, no noise: (x − b)·∇F(b + α(x − b)) — on Quad in closed form, and on a
    /// ResNet against the model's own gradient at that point.
    @Test func oneSampleWithFixedAlphaIsTheClosedForm() throws {
        let x: [Double] = [1, -2, 0.5], b: [Double] = [0.5, 1, -1], alpha = 0.25
        let quad = try GradientShap.attribute(
            model: QuadModel<Double>(), input: try Tensor(shape: [1, 3], storage: x), targets: [0],
            parameters: .init(baselines: .rows(try Tensor(shape: [1, 3], storage: b)), samples: 1),
            draws: .init(baselineIndices: [0], alphas: [alpha], noise: Tensor(zeros: [1, 3])))
        let closed = (0..<3).map { j in (x[j] - b[j]) * 2 * (alpha * x[j] + (1 - alpha) * b[j]) }
        expectClose(quad.attributions.storage, closed, atol: 1e-15, rtol: 1e-15)

        let model = try SeededResNets.small()
        let input = ResNet18<Float>.seededInput(seed: 31, shape: [1, 3, 32, 32])
        let baseline = ResNet18<Float>.seededInput(seed: 32, shape: [1, 3, 32, 32])
        let a: Float = 0.375
        let point = try Tensor(
            shape: input.shape, storage: zip(input.storage, baseline.storage).map { a * $0 + (1 - a) * $1 })
        let gradient = try model.inputGradient(point, targets: [9]).gradient
        let expected = try Tensor(
            shape: input.shape,
            storage: (0..<input.count).map {
                (input.storage[$0] - baseline.storage[$0]) * gradient.storage[$0]
            })
        let result = try GradientShap.attribute(
            model: model, input: input, targets: [9], parameters: .init(baselines: .rows(baseline), samples: 1),
            draws: .init(baselineIndices: [0], alphas: [Double(a)], noise: Tensor(zeros: input.shape)))
        expectClose(result.attributions, expected, atol: 0, rtol: 0)
    }

    /// Expected completeness: E_α[Σ aₛ] = F(x̃) − F(b), so the per-sample deltas average to 0 within
    /// their standard error; for Quad each delta is (2α − 1)·‖x̃ − b‖² exactly (recomputed here).
    @Test func expectedCompleteness() throws {
        let samples = 4000
        let result = try GradientShap.attribute(
            model: QuadModel<Double>(), input: try Tensor(shape: [1, 3], storage: [1, -2, 0.5]), targets: [0],
            parameters: .init(
                baselines: .rows(try Tensor(shape: [3, 3], storage: [0, 0, 0, 1, 1, 1, -1, 0.5, 2])), samples: samples,
                seed: 4),
            returnConvergenceDelta: true)
        let deltas = try #require(result.convergenceDelta)
        let mean = deltas.reduce(0, +) / Double(samples)
        let sd = (deltas.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples - 1)).squareRoot()
        #expect(abs(mean) <= 5 * sd / Double(samples).squareRoot(), "mean delta \(mean), sd \(sd)")
        // The expected-gradients closed form x² − mean_b(b²) (reference A2), to Monte-Carlo accuracy.
        expectClose(result.attributions.storage, [1 - 2.0 / 3, 4 - 1.25 / 3, 0.25 - 5.0 / 3], atol: 0.1, rtol: 0)
    }

    /// The chunk size changes nothing (same draws, same summation order), and no call exceeds it.
    @Test func internalBatchSizeChangesNothing() throws {
        let model = try SeededResNets.small()
        let input = ResNet18<Float>.seededInput(seed: 33, shape: [2, 3, 32, 32])
        var results: [Tensor<Float>] = []
        for rows in [1, 3, 10] {
            let recording = RecordingModel(model)
            results.append(
                try GradientShap.attribute(
                    model: recording, input: input, targets: [1, 2],
                    parameters: .init(
                        baselines: .perExample([.zero, .constant(0.5)]), samples: 5, stdev: 0.2, seed: 8,
                        internalBatchSize: rows)
                ).attributions)
            #expect(recording.batches.allSatisfy { $0 <= rows })
        }
        for r in results.dropFirst() { expectClose(r, results[0], atol: 1e-7, rtol: 1e-6) }
    }

    @Test func badBaselinesAndOptionsAreTyped() throws {
        let x = try tensor([1, 3], [1, 2, 3])
        let model = QuadModel<Float>()
        #expect(throws: AttributionError.self) {  // wrong per-example shape
            try GradientShap.attribute(
                model: model, input: x, targets: [0],
                parameters: .init(baselines: .rows(try tensor([2, 2], [0, 0, 0, 0]))))
        }
        #expect(throws: AttributionError.self) {  // no rows
            try GradientShap.attribute(
                model: model, input: x, targets: [0], parameters: .init(baselines: .perExample([])))
        }
        do {
            _ = try GradientShap.attribute(
                model: model, input: x, targets: [0], parameters: .init(baselines: .rows(x), samples: 0))
            Issue.record("samples 0 was accepted")
        } catch { #expect("\(error)".contains("samples")) }
        do {
            _ = try GradientShap.attribute(
                model: model, input: x, targets: [0],
                parameters: .init(baselines: .rows(try tensor([1, 1, 3], [0, 0, 0]))))
            Issue.record("a [1, 1, 3] baseline was accepted for [1, 3] inputs")
        } catch { #expect("\(error)".contains("baseline")) }
    }
}
