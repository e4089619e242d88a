import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct OcclusionTests {
    enum Net: Sendable { case multiLayer, basicModel3, convNet, linear12345 }

    struct KnownCase: Sendable, CustomTestStringConvertible {
        let name: String
        let net: Net
        let shape: [Int]
        let input: [Double]
        var addend: [Double]? = nil  // ConvNet's other input, held fixed
        let window: [Int]
        var strides: [Int]? = nil
        var baseline: Baseline<Float> = .zero
        let expected: [Double]
        var testDescription: String { name }

        func occlusion(perturbationsPerEval: Int) throws -> Tensor<Float> {
            switch net {
            case .multiLayer: try run(MultiLayerModel<Float>(), perturbationsPerEval)
            case .basicModel3: try run(TwoInputModel<Float>(kind: .basicModel3), perturbationsPerEval)
            case .convNet:
                try run(
                    ConvNetModel<Float>(addend: try addend.map { try tensor([1, 1, 4, 4], $0) }), perturbationsPerEval)
            case .linear12345: try run(LinearModel<Float>(weights: [1, 2, 3, 4, 5]), perturbationsPerEval)
            }
        }

        private func run<M: AttributionModel>(_ model: M, _ k: Int) throws -> Tensor<Float> where M.Scalar == Float {
            try Occlusion.attribute(
                model: model, input: try tensor(shape, input), targets: Array(repeating: 0, count: shape[0]),
                window: window, strides: strides, baseline: baseline, perturbationsPerEval: k)
        }
    }

    static let arange = (0..<16).map(Double.init)
    static let ones16 = [Double](repeating: 1, count: 16)

    /// Spec §7.2 O1–O5, O9–O11 (multi-input cases as one input with the other held fixed) and the
    /// computed extras. Target 0.
    static let cases: [KnownCase] = [
        .init(
            name: "O1", net: .multiLayer, shape: [1, 3], input: [20, 50, 30], window: [1], expected: [80, 200, 120]),
        .init(
            name: "O2 baseline 10", net: .multiLayer, shape: [1, 3], input: [20, 50, 30], window: [2],
            baseline: .tensor(Tensor(repeating: 10, shape: [1, 3])), expected: [200, 220, 240]),
        .init(
            name: "O2 zero baseline", net: .multiLayer, shape: [1, 3], input: [20, 50, 30], window: [2],
            expected: [280, 300, 320]),
        .init(
            name: "O3 clipped last window", net: .multiLayer, shape: [1, 3], input: [20, 50, 30], window: [2],
            strides: [2], expected: [280, 280, 120]),
        .init(
            name: "O4 batch of two", net: .multiLayer, shape: [2, 3], input: [2, 10, 3, 20, 50, 30], window: [1],
            expected: [8, 35, 12, 80, 200, 120]),
        .init(
            name: "O5 BasicModel3 concatenated", net: .basicModel3, shape: [2, 2], input: [-10, -5, 3, 1],
            window: [1], expected: [0, 0, 1, -1]),
        .init(
            name: "O9 input 1", net: .convNet, shape: [1, 1, 4, 4], input: arange, addend: ones16,
            window: [1, 4, 4], expected: Array(repeating: 67, count: 16)),
        .init(
            name: "O9 input 2", net: .convNet, shape: [1, 1, 4, 4], input: ones16, addend: arange,
            window: [1, 4, 4], expected: Array(repeating: 13, count: 16)),
        .init(
            name: "O10 input 1", net: .convNet, shape: [1, 1, 4, 4], input: arange, addend: ones16,
            window: [1, 2, 3], strides: [1, 2, 1],
            expected: [17, 17, 17, 17, 17, 17, 17, 17, 64, 65.5, 65.5, 67, 64, 65.5, 65.5, 67]),
        .init(
            name: "O10 input 2", net: .convNet, shape: [1, 1, 4, 4], input: ones16, addend: arange,
            window: [1, 1, 2], strides: [1, 1, 2], expected: Array(repeating: 3, count: 12) + [0, 0, 0, 0]),
        .init(
            name: "O11 input 1", net: .convNet, shape: [1, 1, 4, 4], input: arange, addend: ones16,
            window: [1, 2, 4], strides: [1, 2, 1],
            expected: Array(repeating: 17, count: 8) + Array(repeating: 67, count: 8)),
        .init(
            name: "O11 input 2 (4×1, broadcast)", net: .convNet, shape: [1, 1, 4, 1], input: [1, 1, 1, 1],
            addend: arange, window: [1, 2, 1], strides: [1, 1, 1], expected: [10, 10, 8, 6]),
        .init(
            name: "D5 W2 s2", net: .linear12345, shape: [1, 5], input: [1, 1, 1, 1, 1], window: [2], strides: [2],
            expected: [3, 3, 7, 7, 5]),
        .init(
            name: "D5 W3 s2", net: .linear12345, shape: [1, 5], input: [1, 1, 1, 1, 1], window: [3], strides: [2],
            expected: [6, 6, 9, 12, 12]),
        .init(
            name: "D5 W2 s1", net: .linear12345, shape: [1, 5], input: [1, 1, 1, 1, 1], window: [2],
            expected: [3, 4, 6, 8, 9]),
        .init(
            name: "ConvNet window 1×2×2 stride 2", net: .convNet, shape: [1, 1, 4, 4], input: arange,
            window: [1, 2, 2], strides: [1, 2, 2],
            expected: [7, 7, 4, 4, 7, 7, 4, 4, 36, 36, 47, 47, 36, 36, 47, 47]),
        .init(
            name: "ConvNet window 1×3×3 stride 1", net: .convNet, shape: [1, 1, 4, 4], input: arange,
            window: [1, 3, 3],
            expected: [44, 48.5, 48.5, 53, 49, 51.25, 51.25, 53.5, 49, 51.25, 51.25, 53.5, 54, 54, 54, 54]),
    ]

    @Test(arguments: cases, [1, 2, 3])
    func knownAnswers(_ c: KnownCase, perturbationsPerEval: Int) throws {
        let result = try c.occlusion(perturbationsPerEval: perturbationsPerEval)
        expectClose(result, try tensor(c.shape, c.expected), atol: 1e-4, rtol: 1e-6)
    }

    /// Occluding one element of a linear model removes exactly wᵢxᵢ.
    @Test func oneWideWindowOnLinearModelIsWeightTimesInput() throws {
        var random = SeededRandom(seed: 8)
        let weights: [Double] = random.uniformArray(24, -2, 2)
        let x = try Tensor<Double>(shape: [2, 2, 3, 4], storage: random.uniformArray(48, -1, 1))
        let result = try Occlusion.attribute(
            model: LinearModel(weights: weights, bias: 0.25), input: x, targets: [0, 0], window: [1, 1, 1])
        let expected = try Tensor<Double>(shape: x.shape, storage: (0..<48).map { weights[$0 % 24] * x.storage[$0] })
        expectClose(result, expected, atol: 1e-6, rtol: 1e-5)
    }

    /// The result does not depend on how many perturbed copies go through one forward; rows are
    /// batched step-major (k copies of N rows), and progress counts forwards.
    @Test(arguments: [1, 2, 3, 5, 9, 40])
    func independentOfPerturbationsPerEval(_ k: Int) throws {
        var random = SeededRandom(seed: 31)
        let x = try Tensor<Float>(shape: [2, 1, 4, 4], storage: random.uniformArray(32, 0, 15))
        let reference = try Occlusion.attribute(
            model: ConvNetModel<Float>(), input: x, targets: [0, 3], window: [1, 2, 2])
        let recorder = RecordingModel(ConvNetModel<Float>())
        let progress = ProgressLog()
        let result = try Occlusion.attribute(
            model: recorder, input: x, targets: [0, 3], window: [1, 2, 2], perturbationsPerEval: k,
            progress: progress.callback)
        expectClose(result, reference, atol: 0, rtol: 0)
        let windows = 9
        let forwards = 1 + (windows + k - 1) / k
        #expect(recorder.batches.count == forwards)
        #expect(recorder.batches.max() == 2 * min(k, windows))
        #expect(progress.values.map { $0[0] } == Array(1...forwards))
        #expect(progress.values.allSatisfy { $0[1] == forwards })
    }

    /// Float output for a float64 model (Captum returns float32).
    @Test func doubleModelGivesFloat() throws {
        let x = try Tensor<Double>(shape: [1, 5], storage: [1, 1, 1, 1, 1])
        let result: Tensor<Float> = try Occlusion.attribute(
            model: LinearModel<Double>(weights: [1, 2, 3, 4, 5]), input: x, targets: [0], window: [2], strides: [2])
        expectClose(result, try tensor([1, 5], [3, 3, 7, 7, 5]), atol: 0, rtol: 0)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let name: String
        let window: [Int]
        var strides: [Int]? = nil
        var perturbationsPerEval = 1
        var targets = [0]
        var testDescription: String { name }
    }

    @Test(arguments: [
        InvalidCase(name: "window larger than input", window: [1, 5, 2]),
        InvalidCase(name: "stride larger than window", window: [1, 2, 2], strides: [1, 3, 1]),
        InvalidCase(name: "window rank", window: [2, 2]),
        InvalidCase(name: "strides rank", window: [1, 2, 2], strides: [1, 1]),
        InvalidCase(name: "zero window", window: [0, 2, 2]),
        InvalidCase(name: "zero stride", window: [1, 2, 2], strides: [1, 0, 1]),
        InvalidCase(name: "perturbations per eval 0", window: [1, 2, 2], perturbationsPerEval: 0),
        InvalidCase(name: "target out of range", window: [1, 2, 2], targets: [4]),
        InvalidCase(name: "target count", window: [1, 2, 2], targets: [0, 1]),
    ])
    func invalidArgumentsThrow(_ c: InvalidCase) throws {
        let x = try arange16()
        #expect(throws: AttributionError.self) {
            try Occlusion.attribute(
                model: ConvNetModel<Float>(), input: x, targets: c.targets, window: c.window, strides: c.strides,
                perturbationsPerEval: c.perturbationsPerEval)
        }
    }

    /// A stride larger than the window is allowed when the window spans the whole axis (one window).
    @Test func strideBeyondFullWindowIsAllowed() throws {
        let result = try Occlusion.attribute(
            model: ConvNetModel<Float>(addend: try tensor([1, 1, 4, 4], Self.ones16)), input: try arange16(),
            targets: [0], window: [1, 4, 4], strides: [3, 7, 9])
        expectClose(result, Tensor<Float>(repeating: 67, shape: [1, 1, 4, 4]))
    }
}
