import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@Suite struct GaussianNoiseTests {
    /// Values printed by `standard_normals` in scripts/fixtures/methods_captum.py (Python's math
    /// module on the spec): the generator is reproducible from its documentation.
    @Test func matchesTheSpecsPythonReproduction() {
        #expect(
            GaussianNoise(seed: 0).standardNormals(0..<6) == [
                -1.8839081482051752, 0.8645071303574462, 0.22760790019534025, -0.04211273616940175,
                -0.22143784567982683, 0.41933277893721055,
            ])
        #expect(
            GaussianNoise(seed: 42).standardNormals(7..<10) == [
                -0.6667979871025093, -0.6703714824023507, -0.6175952699467544,
            ])
    }

    @Test func anyRangeIsASliceOfTheSequence() {
        let noise = GaussianNoise(seed: 9)
        let all = noise.standardNormals(0..<101)
        for range in [0..<1, 1..<2, 3..<10, 50..<101, 100..<101, 7..<7] {
            #expect(noise.standardNormals(range) == Array(all[range]), "\(range)")
        }
    }

    @Test func momentsAreStandardNormal() {
        let z = GaussianNoise(seed: 1).standardNormals(0..<200_000)
        let mean = z.reduce(0, +) / Double(z.count)
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(z.count)
        // Standard errors: 1/√n ≈ 0.0022 for the mean, √(2/n) ≈ 0.0032 for the variance; 5 of each.
        #expect(abs(mean) < 0.012)
        #expect(abs(variance - 1) < 0.016)
        #expect(z.allSatisfy { $0.isFinite })
    }
}

@Suite struct NoiseTunnelTests {
    /// randn(4, 3)·0.5 under torch.manual_seed(0), rows = samples (reference A1).
    static let captumNoise: [Double] = [
        0.770498, -0.1467144, -1.0893947, 0.2842156, -0.5422612, -0.6992977,
        0.2016734, 0.4190132, -0.3596288, -0.2016718, -0.2983177, 0.0910182,
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        let kind: NoiseTunnelKind
        let absolute: Bool
        let expected: [Double]
        var testDescription: String { "\(kind) abs=\(absolute)" }
    }

    static let quadCases = [
        Case(kind: .smoothGrad, absolute: false, expected: [2.5273578, -4.2841401, -0.0286515]),
        Case(kind: .smoothGradSquared, absolute: false, expected: [6.8652205, 18.8532581, 0.7561123]),
        Case(kind: .varGrad, absolute: false, expected: [0.4776831, 0.4994011, 0.7552914]),
        Case(kind: .smoothGrad, absolute: true, expected: [2.5273578, 4.2841401, 0.7600409]),
    ]

    /// Captum's numbers for Quad with Saliency, its noise injected (printed to 7 digits, hence 1e-5).
    @Test(arguments: quadCases)
    func quadKnownAnswers(_ c: Case) throws {
        let result = try NoiseTunnel.attribute(
            model: QuadModel<Float>(), input: try tensor([1, 3], [1, -2, 0.5]), targets: [0],
            method: .saliency(absolute: c.absolute), parameters: .init(kind: c.kind, samples: 4, stdev: 0.5),
            noise: .injected(try tensor([4, 3], Self.captumNoise)))
        expectClose(result, try tensor([1, 3], c.expected), atol: 1e-5, rtol: 1e-5, c.testDescription)
    }

    /// The formulas of reference A1 step 5 applied to g = 2(x + ε), recomputed here in Double.
    @Test(arguments: NoiseTunnelKind.allCases)
    func quadFormulas(_ kind: NoiseTunnelKind) throws {
        let x: [Double] = [1, -2, 0.5, 0, 3, -1]  // two examples
        let samples = 3
        let noise = GaussianNoise(seed: 5).standardNormals(0..<(2 * samples * 3)).map { 0.3 * $0 }
        let result = try NoiseTunnel.attribute(
            model: QuadModel<Double>(), input: try Tensor(shape: [2, 3], storage: x), targets: [0, 0],
            method: .saliency(absolute: false), parameters: .init(kind: kind, samples: samples, stdev: 0.3, seed: 5))
        var expected = [Double]()
        for n in 0..<2 {
            for j in 0..<3 {
                let g = (0..<samples).map { s in 2 * (x[n * 3 + j] + noise[(n * samples + s) * 3 + j]) }
                let mean = g.reduce(0, +) / Double(samples), square = g.map { $0 * $0 }.reduce(0, +) / Double(samples)
                expected.append(kind == .smoothGrad ? mean : kind == .smoothGradSquared ? square : square - mean * mean)
            }
        }
        expectClose(result.storage, expected, atol: 1e-12, rtol: 1e-12, "\(kind)")
    }

    /// σ = 0: MultiLayer gives 3 / 9 / 0 (reference A1, the earlier reference's case).
    @Test func multiLayerZeroNoise() throws {
        let x = try tensor([2, 3], [1.5, 2, 1.3, 0.5, 0.1, 2.3])
        for (kind, value) in [(NoiseTunnelKind.smoothGrad, 3.0), (.smoothGradSquared, 9), (.varGrad, 0)] {
            let result = try NoiseTunnel.attribute(
                model: MultiLayerModel<Float>(), input: x, targets: [0, 0], method: .saliency(),
                parameters: .init(kind: kind, samples: 4, stdev: 0))
            expectClose(result, Tensor<Float>(repeating: Float(value), shape: [2, 3]), atol: 1e-6, rtol: 0, "\(kind)")
        }
    }

    /// The batch size changes neither the noise nor the rounding, and no model call exceeds one partition.
    @Test func batchSizeChangesNothingAndBoundsCalls() throws {
        let x = try tensor([2, 3], [1.5, 2, 1.3, 0.5, 0.1, 2.3])
        var results: [Tensor<Float>] = []
        for batchSize in [nil, 1, 3, 7, 40] as [Int?] {
            let model = RecordingModel(MultiLayerModel<Float>())
            results.append(
                try NoiseTunnel.attribute(
                    model: model, input: x, targets: [0, 1], method: .integratedGradients(steps: 4),
                    parameters: .init(kind: .varGrad, samples: 7, stdev: 2, batchSize: batchSize, seed: 3)))
            // One partition is 2·b rows (default b = 8/N = 4); IG inside runs ≤ max(rows, 8) per call.
            let partition = min(7, batchSize ?? 4)
            #expect(
                model.batches.allSatisfy { $0 <= max(2 * partition, IntegratedGradients.defaultChunkRows) },
                "\(String(describing: batchSize)): \(model.batches)")
        }
        for r in results.dropFirst() { #expect(r == results[0]) }
    }

    /// Nested randomness (GradientShap inside the tunnel) and per-example baselines repeated per
    /// partition do not depend on the batch size either.
    @Test func nestedMethodsAreBatchSizeIndependent() throws {
        let x = try tensor([2, 3], [1.5, 2, 1.3, 0.5, 0.1, 2.3])
        let baseline = try tensor([2, 3], [0.5, -1, 0, 1, 1, -2])
        let methods: [NoiseTunnel.Method<Float>] = [
            .gradientShap(.init(baselines: .perExample([.zero, .tensor(baseline)]), samples: 3, stdev: 0.1, seed: 2)),
            .gradientShap(
                .init(baselines: .rows(try tensor([3, 3], [0, 0, 0, 1, 1, 1, -1, 0.5, 2])), samples: 2, seed: 2)),
            .integratedGradients(baseline: .tensor(baseline), steps: 5, rule: .riemannTrapezoid),
        ]
        for method in methods {
            let results = try [nil, 1, 2, 5].map { (b: Int?) in
                try NoiseTunnel.attribute(
                    model: MultiLayerModel<Float>(), input: x, targets: [0, 1], method: method,
                    parameters: .init(kind: .smoothGrad, samples: 5, stdev: 0.5, batchSize: b, seed: 9))
            }
            for r in results.dropFirst() { #expect(r == results[0], "\(method)") }
        }
        // With σ = 0 the baseline tensor reaches IG row by row: the tunnel equals bare IG.
        let bare = try IntegratedGradients.attribute(
            model: MultiLayerModel<Float>(), input: x, baseline: .tensor(baseline), targets: [0, 1], steps: 5,
            rule: .riemannTrapezoid
        ).attributions
        let tunnelled = try NoiseTunnel.attribute(
            model: MultiLayerModel<Float>(), input: x, targets: [0, 1],
            method: .integratedGradients(baseline: .tensor(baseline), steps: 5, rule: .riemannTrapezoid),
            parameters: .init(samples: 4, stdev: 0, batchSize: 3))
        expectClose(tunnelled, bare, atol: 1e-6, rtol: 1e-6)
    }

    /// σ = 0 is the bare method (S = 4: the mean of four equal values is exact) on a ResNet.
    @Test func zeroNoiseIsTheBareMethodOnAResNet() throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 77, shape: [2, 3, 32, 32])
        let targets = [3, 17]
        let parameters = NoiseTunnel.Parameters(kind: .smoothGrad, samples: 4, stdev: 0, batchSize: 2)
        let pairs: [(NoiseTunnel.Method<Float>, Tensor<Float>)] = [
            (.saliency(), try Saliency.attribute(model: model, input: x, targets: targets)),
            (.inputXGradient, try InputXGradient.attribute(model: model, input: x, targets: targets)),
            (.guidedBackprop, try GuidedBackprop.attribute(model: model, input: x, targets: targets)),
            (.deconvolution, try Deconvolution.attribute(model: model, input: x, targets: targets)),
            (
                .integratedGradients(steps: 4),
                try IntegratedGradients.attribute(
                    model: model, input: x, targets: targets, steps: 4
                ).attributions
            ),
        ]
        for (method, bare) in pairs {
            let tunnelled = try NoiseTunnel.attribute(
                model: model, input: x, targets: targets, method: method, parameters: parameters)
            expectClose(tunnelled, bare, atol: 1e-7, rtol: 1e-5, "\(method)")
        }
        let squared = try NoiseTunnel.attribute(
            model: model, input: x, targets: targets, method: .saliency(absolute: false),
            parameters: .init(kind: .smoothGradSquared, samples: 4, stdev: 0))
        let plain = try Saliency.attribute(model: model, input: x, targets: targets, absolute: false)
        expectClose(
            squared, try Tensor(shape: plain.shape, storage: plain.storage.map { $0 * $0 }), atol: 1e-12, rtol: 1e-5)
    }

    @Test func badOptionsNameTheOption() throws {
        let x = try tensor([1, 3], [1, 2, 3])
        func message(_ parameters: NoiseTunnel.Parameters) -> String {
            do {
                _ = try NoiseTunnel.attribute(
                    model: QuadModel<Float>(), input: x, targets: [0], method: .saliency(), parameters: parameters)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message(.init(samples: 0)).contains("nt-samples"))
        #expect(message(.init(stdev: -1)).contains("nt-stdev"))
        #expect(message(.init(stdev: .nan)).contains("nt-stdev"))
        #expect(message(.init(batchSize: 0)).contains("nt-batch-size"))
        #expect(throws: AttributionError.self) {
            try NoiseTunnel.attribute(
                model: QuadModel<Float>(), input: x, targets: [0], method: .saliency(),
                parameters: .init(samples: 2), noise: .injected(try tensor([1, 3], [0, 0, 0])))
        }
    }

    /// A model without guided backward passes gets a typed error for the guided methods.
    @Test func guidedMethodsNeedAGuidedModel() throws {
        #expect(throws: AttributionError.self) {
            try NoiseTunnel.attribute(
                model: MultiLayerModel<Float>(), input: try tensor([1, 3], [1, 2, 3]), targets: [0],
                method: .guidedBackprop)
        }
    }
}
