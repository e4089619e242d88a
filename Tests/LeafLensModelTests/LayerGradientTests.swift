import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// Finite-difference checks of every layer's input and parameter gradients on small odd shapes.
@Suite struct LayerGradientTests {
    struct ConvCase: CustomTestStringConvertible, Sendable {
        let name: String
        let input: [Int]  // [N, C, H, W]
        let out: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), bias: Bool
        var testDescription: String { name }
    }

    static let convCases: [ConvCase] = [
        ConvCase(
            name: "3x3 s2 p1 on 5x7", input: [2, 3, 5, 7], out: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1),
            bias: true),
        ConvCase(
            name: "3x3 s1 p1 no bias", input: [1, 2, 6, 5], out: 3, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
            bias: false),
        ConvCase(
            name: "7x7 s2 p3 stem-like", input: [1, 3, 9, 11], out: 2, kernel: (7, 7), stride: (2, 2), padding: (3, 3),
            bias: false),
        ConvCase(
            name: "1x1 s2 downsample", input: [3, 4, 5, 7], out: 5, kernel: (1, 1), stride: (2, 2), padding: (0, 0),
            bias: false),
        ConvCase(
            name: "1x1 s1 pointwise", input: [2, 3, 4, 3], out: 2, kernel: (1, 1), stride: (1, 1), padding: (0, 0),
            bias: true),
        ConvCase(
            name: "2x3 kernel, s(1,2) p(0,1)", input: [1, 2, 5, 7], out: 3, kernel: (2, 3), stride: (1, 2),
            padding: (0, 1), bias: true),
    ]

    func makeConv(_ c: ConvCase) throws -> Conv2d<Double> {
        try Conv2d(
            weight: randomTensor([c.out, c.input[1], c.kernel.0, c.kernel.1], seed: 11),
            bias: c.bias ? randomTensor([c.out], seed: 12) : nil,
            stride: (c.stride.0, c.stride.1), padding: (c.padding.0, c.padding.1))
    }

    @Test(arguments: convCases) func convolutionGradients(_ c: ConvCase) throws {
        let conv = try makeConv(c)
        let x = randomTensor(c.input, seed: 13)
        let r = randomTensor(try conv.outputShape(for: c.input), seed: 14)
        var grads: ConvGradients<Double>? = ConvGradients(weightShape: conv.weight.shape, hasBias: c.bias)
        let dx = try conv.backward(gradOutput: r, inputShape: x.shape, input: x, parameterGradients: &grads)
        let checker = GradientChecker()
        let input = try checker.check(x, analytic: dx) { try projection(conv.forward($0), r) }
        #expect(input.passed, "input gradient: \(input)")
        let weight = try checker.check(conv.weight, analytic: grads!.weight) { w in
            var changed = conv
            changed.weight = w
            return try projection(changed.forward(x), r)
        }
        #expect(weight.passed, "weight gradient: \(weight)")
        if c.bias {
            let bias = try checker.check(conv.bias!, analytic: grads!.bias!) { b in
                var changed = conv
                changed.bias = b
                return try projection(changed.forward(x), r)
            }
            #expect(bias.passed, "bias gradient: \(bias)")
        }
    }

    /// Gradients accumulate: a second backward adds the same amount again.
    @Test func convolutionAccumulatesParameterGradients() throws {
        let c = Self.convCases[0]
        let conv = try makeConv(c)
        let x = randomTensor(c.input, seed: 13)
        let r = randomTensor(try conv.outputShape(for: c.input), seed: 14)
        var once: ConvGradients<Double>? = ConvGradients(weightShape: conv.weight.shape, hasBias: true)
        _ = try conv.backward(gradOutput: r, inputShape: x.shape, input: x, parameterGradients: &once)
        var twice = once
        _ = try conv.backward(gradOutput: r, inputShape: x.shape, input: x, parameterGradients: &twice)
        var doubled = once!.weight
        for i in 0..<doubled.count { doubled.storage[i] *= 2 }
        expectClose(twice!.weight, doubled, atol: 1e-12, rtol: 1e-12)
    }

    @Test func batchNormEvalGradients() throws {
        let bn = try BatchNorm2d(
            weight: randomTensor([3], seed: 21), bias: randomTensor([3], seed: 22),
            runningMean: randomTensor([3], seed: 23), runningVar: randomTensor([3], seed: 24, range: 0.4).adding(1))
        let x = randomTensor([2, 3, 5, 7], seed: 25)
        let r = randomTensor(x.shape, seed: 26)
        var grads: BatchNormGradients<Double>? = BatchNormGradients(channels: 3)
        let dx = try bn.backward(gradOutput: r, input: x, parameterGradients: &grads)
        let checker = GradientChecker()
        #expect(try checker.check(x, analytic: dx) { try projection(bn.forward($0), r) }.passed)
        let gw = try checker.check(bn.weight, analytic: grads!.weight) { w in
            var b = bn; b.weight = w; return try projection(b.forward(x), r)
        }
        #expect(gw.passed, "γ: \(gw)")
        let gb = try checker.check(bn.bias, analytic: grads!.bias) { w in
            var b = bn; b.bias = w; return try projection(b.forward(x), r)
        }
        #expect(gb.passed, "β: \(gb)")
    }

    @Test func batchNormTrainingGradients() throws {
        let bn = try BatchNorm2d(
            weight: randomTensor([3], seed: 31), bias: randomTensor([3], seed: 32),
            runningMean: Tensor(zeros: [3]), runningVar: Tensor(repeating: 1, shape: [3]))
        let x = randomTensor([2, 3, 5, 7], seed: 33)
        let r = randomTensor(x.shape, seed: 34)
        var training = bn
        let (_, cache) = try training.forwardTraining(x)
        var grads: BatchNormGradients<Double>? = BatchNormGradients(channels: 3)
        let dx = try bn.backwardTraining(gradOutput: r, input: x, cache: cache, parameterGradients: &grads)
        func loss(_ b: BatchNorm2d<Double>, _ input: Tensor<Double>) throws -> Double {
            var copy = b
            return projection(try copy.forwardTraining(input).output, r)
        }
        let checker = GradientChecker()
        let gx = try checker.check(x, analytic: dx) { try loss(bn, $0) }
        #expect(gx.passed, "x: \(gx)")
        let gw = try checker.check(bn.weight, analytic: grads!.weight) { w in
            var b = bn; b.weight = w; return try loss(b, x)
        }
        #expect(gw.passed, "γ: \(gw)")
        let gb = try checker.check(bn.bias, analytic: grads!.bias) { w in
            var b = bn; b.bias = w; return try loss(b, x)
        }
        #expect(gb.passed, "β: \(gb)")
    }

    /// Running statistics follow PyTorch: momentum 0.1, unbiased variance for the running estimate.
    @Test func batchNormTrainingUpdatesRunningStatistics() throws {
        var bn = try BatchNorm2d(
            weight: Tensor(repeating: 1, shape: [1]), bias: Tensor(zeros: [1]),
            runningMean: Tensor(zeros: [1]), runningVar: Tensor(repeating: 1, shape: [1]))
        let x = try Tensor<Double>(shape: [1, 1, 2, 2], storage: [1, 2, 3, 4])
        _ = try bn.forwardTraining(x)
        expectClose(bn.runningMean, try Tensor<Double>(shape: [1], storage: [0.25]), atol: 1e-12)
        // biased var 1.25, unbiased 5/3: 0.9·1 + 0.1·5/3
        expectClose(bn.runningVar, try Tensor<Double>(shape: [1], storage: [0.9 + 0.1 * 5.0 / 3.0]), atol: 1e-12)
    }

    @Test func reluGradientIsZeroAtZero() throws {
        let x = try Tensor<Double>(shape: [5], storage: [-1, 0, 2, -0.0, 3])
        let y = ReLU.forward(x)
        let dx = ReLU.backward(gradOutput: Tensor(repeating: 1, shape: [5]), output: y)
        #expect(dx.storage == [0, 0, 1, 0, 1])
        #expect(y.storage == [0, 0, 2, 0, 3])
    }

    @Test func reluGradients() throws {
        let x = randomTensor([2, 3, 5, 7], seed: 41)
        let r = randomTensor(x.shape, seed: 42)
        let dx = ReLU.backward(gradOutput: r, output: ReLU.forward(x))
        #expect(GradientChecker().check(x, analytic: dx) { projection(ReLU.forward($0), r) }.passed)
    }

    @Test func maxPoolGradients() throws {
        let pool = try MaxPool2d(kernel: 3, stride: 2, padding: 1)
        let x = randomTensor([2, 2, 5, 7], seed: 51)
        let (y, argmax) = try pool.forward(x)
        #expect(y.shape == [2, 2, 3, 4])
        let r = randomTensor(y.shape, seed: 52)
        let dx = pool.backward(gradOutput: r, argmax: argmax, inputShape: x.shape)
        #expect(try GradientChecker().check(x, analytic: dx) { try projection(pool.forward($0).output, r) }.passed)
    }

    /// Ties go to the first maximum in row-major window order, as PyTorch's CPU kernel does.
    @Test func maxPoolTiesPickFirst() throws {
        let pool = try MaxPool2d(kernel: 3, stride: 2, padding: 1)
        let x = Tensor<Double>(repeating: 1, shape: [1, 1, 3, 3])
        let (_, argmax) = try pool.forward(x)
        #expect(argmax == [0, 1, 3, 4])  // windows start at (−1,−1),(−1,1),(1,−1),(1,1), clipped
    }

    /// The inference path (values only, branch-free) equals the indexed path, NaN and ±∞ included.
    @Test func maxPoolValuesMatchIndexedPath() throws {
        let pool = try MaxPool2d(kernel: 3, stride: 2, padding: 1)
        var x = randomTensor([2, 3, 9, 8], seed: 55)
        x.storage[5] = .nan
        x.storage[40] = .infinity
        x.storage[41] = -.infinity
        let indexed = try pool.forward(x).output
        let values = try pool.forwardValues(x)
        #expect(values.shape == indexed.shape)
        for i in 0..<values.count {
            let (a, b) = (values.storage[i], indexed.storage[i])
            #expect(a == b || (a.isNaN && b.isNaN), "element \(i): \(a) vs \(b)")
        }
        #expect(values.storage.contains { $0.isNaN })
        #expect(values.storage.contains { $0 == .infinity })
    }

    @Test func reluKeepsNaNAndClearsNegatives() throws {
        for values in [[-1.0, .nan, 2, -.infinity, .infinity, -0.5], Array(repeating: -3.0, count: 37)] {
            let y = ReLU.forward(try Tensor<Double>(shape: [values.count], storage: values))
            let f = ReLU.forward(try Tensor<Float>(shape: [values.count], storage: values.map(Float.init)))
            for (i, v) in values.enumerated() {
                let expected = v.isNaN ? v : max(v, 0)
                #expect(y.storage[i] == expected || (y.storage[i].isNaN && expected.isNaN))
                #expect(Double(f.storage[i]) == expected || (f.storage[i].isNaN && expected.isNaN))
            }
        }
    }

    @Test func averagePoolGradients() throws {
        let x = randomTensor([2, 3, 5, 7], seed: 61)
        let r = randomTensor([2, 3], seed: 62)
        let dx = GlobalAveragePool.backward(gradOutput: r, inputShape: x.shape)
        #expect(
            try GradientChecker().check(x, analytic: dx) { try projection(GlobalAveragePool.forward($0), r) }.passed)
    }

    @Test func linearGradients() throws {
        let fc = try Linear(weight: randomTensor([4, 6], seed: 71), bias: randomTensor([4], seed: 72))
        let x = randomTensor([3, 6], seed: 73)
        let r = randomTensor([3, 4], seed: 74)
        var grads: LinearGradients<Double>? = LinearGradients(weightShape: [4, 6], hasBias: true)
        let dx = try fc.backward(gradOutput: r, input: x, parameterGradients: &grads)
        let checker = GradientChecker()
        #expect(try checker.check(x, analytic: dx) { try projection(fc.forward($0), r) }.passed)
        #expect(
            try checker.check(fc.weight, analytic: grads!.weight) { w in
                var l = fc; l.weight = w; return try projection(l.forward(x), r)
            }.passed)
        #expect(
            try checker.check(fc.bias!, analytic: grads!.bias!) { b in
                var l = fc; l.bias = b; return try projection(l.forward(x), r)
            }.passed)
    }

    /// Parameter gradients accumulate across backward calls (as PyTorch's `.grad` does): two calls into the
    /// same gradients give twice one call's. Written for the surviving mutant `linear-weight-grad-overwrites`
    /// (MUTATION.md): every other caller passes zeroed gradients, so an overwrite went unnoticed.
    @Test func linearAccumulatesParameterGradients() throws {
        let fc = try Linear(weight: randomTensor([4, 6], seed: 75), bias: randomTensor([4], seed: 76))
        let x = randomTensor([3, 6], seed: 77)
        let r = randomTensor([3, 4], seed: 78)
        var once: LinearGradients<Double>? = LinearGradients(weightShape: [4, 6], hasBias: true)
        _ = try fc.backward(gradOutput: r, input: x, parameterGradients: &once)
        var twice: LinearGradients<Double>? = LinearGradients(weightShape: [4, 6], hasBias: true)
        _ = try fc.backward(gradOutput: r, input: x, parameterGradients: &twice)
        _ = try fc.backward(gradOutput: r, input: x, parameterGradients: &twice)
        let (one, two) = (try #require(once), try #require(twice))
        let oneBias = try #require(one.bias), twoBias = try #require(two.bias)
        expectClose(two.weight, try Tensor(shape: [4, 6], storage: one.weight.storage.map { 2 * $0 }), atol: 1e-12)
        expectClose(twoBias, try Tensor(shape: [4], storage: oneBias.storage.map { 2 * $0 }), atol: 1e-12)
    }

    @Test func residualAddGradient() throws {
        let a = randomTensor([2, 3, 4, 5], seed: 81), b = randomTensor([2, 3, 4, 5], seed: 82)
        let r = randomTensor(a.shape, seed: 83)
        // d(Σ r⊙(a+b))/da = r
        #expect(try GradientChecker().check(a, analytic: r) { try projection(ResidualAdd.forward($0, b), r) }.passed)
        #expect(throws: TensorError.self) { try ResidualAdd.forward(a, randomTensor([2, 3, 4, 4], seed: 1)) }
    }
}

/// im2col + GEMM against the direct-loop reference, and Float against Double.
@Suite struct Conv2dTests {
    @Test(arguments: LayerGradientTests.convCases) func im2colMatchesReference(_ c: LayerGradientTests.ConvCase) throws
    {
        let conv = try LayerGradientTests().makeConv(c)
        let x = randomTensor(c.input, seed: 91)
        expectClose(try conv.forward(x), try conv.forwardReference(x), atol: 1e-12, rtol: 1e-12)
        let floatConv = try Conv2d<Float>(
            weight: conv.weight.converted(), bias: conv.bias?.converted(), stride: conv.stride, padding: conv.padding)
        expectClose(try floatConv.forward(x.converted(to: Float.self)), try conv.forward(x), atol: 1e-5, rtol: 1e-5)
    }

    /// A batch larger than the worker count exercises the per-image parallel path; one image the split path.
    @Test func batchAndSingleImagePathsAgree() throws {
        let conv = try Conv2d<Double>(weight: randomTensor([8, 5, 3, 3], seed: 92), bias: nil, stride: 1, padding: 1)
        let batch = randomTensor([5, 5, 31, 29], seed: 93)
        let whole = try conv.forward(batch)
        for i in 0..<5 {
            let single = try conv.forward(batch.slice(i..<i + 1))
            expectClose(single, whole.slice(i..<i + 1), atol: 1e-12, rtol: 1e-12, "image \(i)")
        }
    }

    /// The Winograd F(2×2, 3×3) inference path against the direct definition, on odd sizes (partial
    /// tiles at the right and bottom edges) and batches above the tile threshold; Float and Double.
    @Test(arguments: [[3, 5, 13, 13], [1, 4, 31, 33], [2, 7, 16, 16]])
    func winogradMatchesReference(_ shape: [Int]) throws {
        let weight = randomTensor([6, shape[1], 3, 3], seed: 94)
        let conv = try Conv2d<Double>(weight: weight, bias: randomTensor([6], seed: 95), stride: 1, padding: 1)
        let fast = conv.using(.winograd)
        let x = randomTensor(shape, seed: 96)
        let tiles = shape[0] * ((shape[2] + 1) / 2) * ((shape[3] + 1) / 2)
        #expect(tiles >= Conv2d<Double>.winogradMinimumTiles, "case must take the Winograd path")
        #expect(fast.algorithm == .winograd)
        expectClose(try fast.forward(x), try conv.forwardReference(x), atol: 1e-12, rtol: 1e-12)
        let floatFast = try Conv2d<Float>(
            weight: weight.converted(), bias: conv.bias?.converted(), stride: 1, padding: 1
        ).using(.winograd)
        expectClose(
            try floatFast.forward(x.converted(to: Float.self)), try conv.forwardReference(x), atol: 1e-5, rtol: 1e-5)
    }

    @Test func emptyBatchGivesEmptyResults() throws {
        let conv = try Conv2d<Float>(
            weight: Tensor(zeros: [2, 3, 3, 3]), bias: Tensor(zeros: [2]), stride: 1, padding: 1)
        let y = try conv.forward(Tensor(zeros: [0, 3, 8, 8]))
        #expect(y.shape == [0, 2, 8, 8])
        var grads: ConvGradients<Float>? = ConvGradients(weightShape: [2, 3, 3, 3], hasBias: true)
        let dx = try conv.backward(
            gradOutput: y, inputShape: [0, 3, 8, 8], input: Tensor(zeros: [0, 3, 8, 8]), parameterGradients: &grads)
        #expect(dx.shape == [0, 3, 8, 8])
    }

    @Test func rejectsWrongChannels() throws {
        let conv = try Conv2d<Float>(weight: Tensor(zeros: [2, 3, 3, 3]))
        #expect(throws: TensorError.self) { try conv.forward(Tensor(zeros: [1, 4, 8, 8])) }
        #expect(throws: TensorError.self) { try conv.forward(Tensor(zeros: [1, 3, 2, 2])) }
    }
}

extension Tensor {
    func adding(_ v: Scalar) -> Tensor {
        var t = self
        for i in 0..<t.count { t.storage[i] += v }
        return t
    }
}

/// The fully connected layer accumulates in Double and rounds once (`Linear.forward`).
@Suite struct LinearForwardTests {
    /// Each output is the float32 rounding of the exact dot product plus bias: 1 + 2⁻²⁴ + 2⁻²⁴ is 1 in a
    /// float32 chain, and 1 + 2⁻²³ (one ulp above 1) when summed in Double first.
    @Test func roundsOnceAfterTheWholeSum() throws {
        let tiny = Float(1) / Float(1 << 24)
        let layer = try Linear<Float>(
            weight: try Tensor(shape: [1, 3], storage: [1, tiny, tiny]), bias: try Tensor(shape: [1], storage: [0]))
        let y = try layer.forward(try Tensor(shape: [1, 3], storage: [1, 1, 1]))
        #expect(y.storage == [1 + 2 * tiny])
    }

    /// No inputs or no rows: the bias alone, and no pointer into empty storage.
    @Test func emptyInputsGiveTheBias() throws {
        let layer = try Linear<Float>(
            weight: Tensor(zeros: [2, 0]), bias: try Tensor(shape: [2], storage: [0.5, -1]))
        #expect(try layer.forward(Tensor(zeros: [1, 0])).storage == [0.5, -1])
        #expect(try layer.forward(Tensor(zeros: [0, 0])).shape == [0, 2])
    }
}
