import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// LeafLens's own float32 convolution kernel (`sgemm_avx512.c`): weights packed once, column panels built
/// from the image, stride-1 input gradients as convolutions with rotated filters. Checked against the
/// direct definition (and the im2col VJP) in Double, through the AVX-512 kernel where this CPU has it and
/// through the portable loops (what other CPUs run) everywhere.
@Suite struct PackedConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: [Int]
        var outChannels: Int
        var kernel: (h: Int, w: Int)
        var stride: (h: Int, w: Int)
        var padding: (h: Int, w: Int)
        var note: String
        var hasBias = true
        var testDescription: String { "\(input) → \(outChannels), k\(kernel) s\(stride) p\(padding): \(note)" }
    }

    /// Odd sizes (panels of 32 positions cut across rows and images), row counts that are not multiples of 8,
    /// each column order (16-channel blocks, one block of < 16 channels, plain order for 20 channels), the
    /// even/odd split for stride 2, gathers for stride 3, several k-blocks, grouped panels (m·k above
    /// `PackedMatrix.panelGroupThreshold`, checked below), panels that span several small images.
    static let cases: [Case] = [
        Case(
            input: [1, 3, 23, 29], outChannels: 11, kernel: (7, 7), stride: (2, 2), padding: (3, 3), note: "stem-like"),
        Case(input: [2, 5, 13, 17], outChannels: 9, kernel: (3, 3), stride: (1, 1), padding: (1, 1), note: "batch"),
        Case(
            input: [3, 20, 9, 11], outChannels: 13, kernel: (3, 3), stride: (2, 2), padding: (1, 1), note: "plain order"
        ),
        Case(
            input: [1, 32, 15, 15], outChannels: 24, kernel: (1, 1), stride: (2, 2), padding: (0, 0), note: "downsample"
        ),
        Case(input: [2, 48, 7, 9], outChannels: 40, kernel: (3, 3), stride: (1, 1), padding: (1, 1), note: "k-blocks"),
        Case(
            input: [3, 64, 10, 10], outChannels: 136, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
            note: "A of 306 KiB"),
        Case(input: [2, 16, 12, 70], outChannels: 8, kernel: (3, 3), stride: (3, 3), padding: (2, 2), note: "gathers"),
        Case(
            input: [1, 4, 40, 3], outChannels: 5, kernel: (5, 5), stride: (1, 1), padding: (4, 4), note: "wide padding"),
        Case(
            input: [1, 6, 11, 12], outChannels: 7, kernel: (3, 5), stride: (1, 2), padding: (1, 2), note: "non-square"),
        Case(
            input: [2, 2, 6, 6], outChannels: 3, kernel: (2, 2), stride: (1, 1), padding: (0, 0), note: "even kernel"),
        Case(
            input: [2, 16, 9, 9], outChannels: 16, kernel: (3, 3), stride: (1, 1), padding: (1, 1), note: "no bias",
            hasBias: false),
        Case(
            input: [7, 8, 3, 3], outChannels: 16, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
            note: "panels span images"),
        Case(
            input: [5, 24, 7, 7], outChannels: 72, kernel: (3, 3), stride: (2, 2), padding: (1, 1),
            note: "split, spanning"),
        Case(
            input: [3, 24, 5, 6], outChannels: 20, kernel: (1, 1), stride: (1, 1), padding: (0, 0),
            note: "pointwise (the image is its own column matrix)"),
        Case(
            input: [2, 64, 9, 9], outChannels: 696, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
            note: "groups (A larger than 3/4 of a 2 MiB L2)"),
    ]

    func convolutions(_ c: Case, seed: UInt64) throws -> (Conv2d<Double>, Conv2d<Float>) {
        let weight = randomTensor([c.outChannels, c.input[1], c.kernel.h, c.kernel.w], seed: seed)
        let bias = c.hasBias ? randomTensor([c.outChannels], seed: seed + 1) : nil
        let reference = try Conv2d<Double>(weight: weight, bias: bias, stride: c.stride, padding: c.padding)
        let packed = try Conv2d<Float>(
            weight: weight.converted(), bias: bias?.converted(), stride: c.stride, padding: c.padding
        ).using(.packed)
        if PackedMatrix.isAvailable {
            #expect(packed.packed != nil, "this CPU runs the kernel: weights must be packed")
        }
        return (reference, packed)
    }

    /// The "groups" case runs the grouped-panel path on any CPU whose L2 is at most 2 MiB (forward and the
    /// rotated-filter input gradient: 696 × 576 and 64 × 6,264 packed floats).
    @Test func groupedPanelsAreExercised() throws {
        let c = try #require(Self.cases.first { $0.note.hasPrefix("groups") })
        let k = c.input[1] * c.kernel.h * c.kernel.w
        #expect(c.outChannels * k > PackedMatrix.panelGroupThreshold)
        #expect(c.input[1] * c.outChannels * c.kernel.h * c.kernel.w > PackedMatrix.panelGroupThreshold)
    }

    /// Float32 sums of up to 576 products of values in [−1, 1]: rounding stays far below 1e-4; any indexing
    /// mistake moves outputs by O(1).
    static let tolerance = (atol: 1e-4, rtol: 1e-5)

    @Test(arguments: cases) func forwardMatchesDefinition(_ c: Case) throws {
        let (reference, packed) = try convolutions(c, seed: 301)
        let x = randomTensor(c.input, seed: 302)
        let expected = try reference.forwardReference(x)
        expectClose(try packed.forward(x.converted()), expected, atol: Self.tolerance.atol, rtol: Self.tolerance.rtol)
    }

    /// The portable loops, fed the same packed weights (on CPUs without AVX-512 they are the only path).
    @Test(arguments: cases) func portableForwardMatchesDefinition(_ c: Case) throws {
        let (reference, _) = try convolutions(c, seed: 303)
        let x = randomTensor(c.input, seed: 304)
        let expected = try reference.forwardReference(x)
        let weight: Tensor<Float> = reference.weight.converted()
        let bias: Tensor<Float>? = reference.bias?.converted()
        let (o, ch) = (c.outChannels, c.input[1])
        let packed = weight.storage.withUnsafeBufferPointer {
            PackedMatrix(convolution: $0.baseAddress!, outChannels: o, inChannels: ch, taps: c.kernel.h * c.kernel.w)
        }
        let shape = ConvolutionShape(
            channels: ch, height: c.input[2], width: c.input[3], kernelH: c.kernel.h, kernelW: c.kernel.w,
            strideH: c.stride.h, strideW: c.stride.w, padH: c.padding.h, padW: c.padding.w,
            outputH: expected.shape[2], outputW: expected.shape[3])
        let xf: Tensor<Float> = x.converted()
        var out = [Float](repeating: .nan, count: expected.count)
        xf.storage.withUnsafeBufferPointer { xs in
            (bias?.storage ?? []).withUnsafeBufferPointer { bs in
                out.withUnsafeMutableBufferPointer { ys in
                    GEMM.packedConvolution(
                        packed, shape: shape, images: c.input[0], image: xs.baseAddress!,
                        bias: bias == nil ? nil : bs.baseAddress, output: ys.baseAddress!, parallel: true,
                        kernel: .portable)
                }
            }
        }
        expectClose(
            try Tensor(shape: expected.shape, storage: out), expected, atol: Self.tolerance.atol,
            rtol: Self.tolerance.rtol)
    }

    /// ∂L/∂x with packed weights (rotated-filter convolution for stride 1, packed Wᵀ + col2im otherwise)
    /// against the im2col VJP in Double, which the finite-difference checks in LayerGradientTests prove.
    @Test(arguments: cases) func inputGradientMatchesVJP(_ c: Case) throws {
        let (reference, packed) = try convolutions(c, seed: 305)
        let outShape = try reference.outputShape(for: c.input)
        let dy = randomTensor(outShape, seed: 306)
        var none: ConvGradients<Double>? = nil
        let expected = try reference.backward(
            gradOutput: dy, inputShape: c.input, input: nil, parameterGradients: &none)
        var noneFloat: ConvGradients<Float>? = nil
        let actual = try packed.backward(
            gradOutput: dy.converted(), inputShape: c.input, input: nil, parameterGradients: &noneFloat)
        if PackedMatrix.isAvailable {
            let rotates = c.stride == (1, 1) && c.padding.h < c.kernel.h && c.padding.w < c.kernel.w
            #expect((packed.packed?.rotated != nil) == rotates)
        }
        expectClose(actual, expected, atol: Self.tolerance.atol, rtol: Self.tolerance.rtol)
    }

    /// A training step's backward with packed weights: ∂L/∂x (rotated-filter convolution for stride 1,
    /// packed Wᵀ + col2im otherwise) and the accumulated ∂L/∂W, ∂L/∂b (im2col + GEMM) against the im2col VJP
    /// in Double, starting from non-zero gradients (the VJP adds to them, never overwrites).
    @Test(arguments: cases) func inputAndParameterGradientsMatchVJP(_ c: Case) throws {
        let (reference, packed) = try convolutions(c, seed: 308)
        let outShape = try reference.outputShape(for: c.input)
        let x = randomTensor(c.input, seed: 309)
        let dy = randomTensor(outShape, seed: 310)
        var start = ConvGradients<Double>(weightShape: reference.weight.shape, hasBias: c.hasBias)
        start.weight = randomTensor(reference.weight.shape, seed: 311)
        if c.hasBias { start.bias = randomTensor([c.outChannels], seed: 312) }
        var expectedGradients: ConvGradients<Double>? = start
        let expected = try reference.backward(
            gradOutput: dy, inputShape: c.input, input: x, parameterGradients: &expectedGradients)
        var startFloat = ConvGradients<Float>(weightShape: reference.weight.shape, hasBias: c.hasBias)
        startFloat.weight = start.weight.converted()
        startFloat.bias = start.bias?.converted()
        var actualGradients: ConvGradients<Float>? = startFloat
        let actual = try packed.backward(
            gradOutput: dy.converted(), inputShape: c.input, input: x.converted(), parameterGradients: &actualGradients)
        let tolerance = Self.tolerance
        expectClose(actual, expected, atol: tolerance.atol, rtol: tolerance.rtol, "input gradient")
        let (a, e) = (try #require(actualGradients), try #require(expectedGradients))
        // ∂L/∂W sums N·OH·OW products (up to 2·13·17 here): the same float32 rounding argument, more terms.
        expectClose(a.weight, e.weight, atol: 1e-3, rtol: 1e-5, "weight gradient")
        if let eb = e.bias { expectClose(try #require(a.bias), eb, atol: 1e-3, rtol: 1e-5, "bias gradient") }
    }

    /// Changing the weights drops the packed copy (a stale one would silently compute with old weights).
    @Test func settingWeightsDropsPackedCopy() throws {
        var conv = try convolutions(Self.cases[1], seed: 307).1
        conv.weight = Tensor(zeros: conv.weight.shape)
        #expect(conv.packed == nil)
        let y = try conv.forward(Tensor(repeating: 1, shape: Self.cases[1].input))
        expectClose(y, try conv.forwardReference(Tensor(repeating: 1, shape: Self.cases[1].input)), atol: 0, rtol: 0)
    }

    /// The packed GEMM (used for strided input gradients): both packings, both kernels, overwrite and
    /// accumulate, split over rows and over columns.
    @Test(arguments: [(13, 37, 300), (70, 200, 64), (8, 1, 9), (520, 49, 40)])
    func packedGEMMMatchesDefinition(_ size: (m: Int, n: Int, k: Int)) throws {
        let (m, n, k) = size
        let a = randomTensor([m, k], seed: 308), b = randomTensor([k, n], seed: 309),
            c0 = randomTensor([m, n], seed: 310)
        var expected = c0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += a.storage[i * k + p] * b.storage[p * n + j] }
                expected.storage[i * n + j] += sum
            }
        }
        let af: Tensor<Float> = a.converted(), bf: Tensor<Float> = b.converted()
        let aT: [Float] = (0..<(k * m)).map { Float(a.storage[($0 % m) * k + $0 / m]) }  // Aᵀ, row-major [k, m]
        let direct = af.storage.withUnsafeBufferPointer {
            PackedMatrix(rows: m, columns: k, $0.baseAddress!, lda: k, transposed: false)
        }
        let fromTranspose = aT.withUnsafeBufferPointer {
            PackedMatrix(rows: m, columns: k, $0.baseAddress!, lda: m, transposed: true)
        }
        for (packed, kernel, parallel) in [
            (direct, PackedKernel.fastest, true), (fromTranspose, .fastest, false), (direct, .portable, true),
            (fromTranspose, .portable, false),
        ] {
            var c: [Float] = c0.storage.map(Float.init)
            bf.storage.withUnsafeBufferPointer { bs in
                c.withUnsafeMutableBufferPointer { cs in
                    if parallel {
                        GEMM.packedParallel(
                            packed, n: n, b: bs.baseAddress!, ldb: n, c: cs.baseAddress!, ldc: n, accumulate: true,
                            kernel: kernel)
                    } else {
                        GEMM.packedSerial(
                            packed, n: n, b: bs.baseAddress!, ldb: n, c: cs.baseAddress!, ldc: n, accumulate: true,
                            kernel: kernel)
                    }
                }
            }
            expectClose(
                try Tensor(shape: [m, n], storage: c), expected, atol: 1e-4, rtol: 1e-5,
                "\(kernel) parallel \(parallel)")
        }
    }

    /// relu(conv(x) + r) in one pass equals the three separate steps bit for bit (same float32 operations in
    /// the same order), with and without the residual; the portable loops agree within rounding.
    @Test(arguments: [cases[1], cases[5], cases[11], cases[12], cases[14]])
    func fusedEpilogueEqualsSeparateSteps(_ c: Case) throws {
        let (_, conv) = try convolutions(c, seed: 311)
        guard conv.algorithm == .packed else { return }  // no AVX-512: programs never plan fusion
        let x: Tensor<Float> = randomTensor(c.input, seed: 312).converted()
        let residual: Tensor<Float> = randomTensor(try conv.outputShape(for: c.input), seed: 313).converted()
        var expected = try conv.forward(x)
        ReLU.apply(&expected)
        expectClose(try conv.forwardFused(x, residual: nil), expected, atol: 0, rtol: 0, "conv → relu")
        expected = try conv.forward(x)
        try ResidualAdd.add(residual, into: &expected)
        ReLU.apply(&expected)
        let fused = try conv.forwardFused(x, residual: residual)
        expectClose(fused, expected, atol: 0, rtol: 0, "conv → add → relu")
        #expect(fused.storage.contains(0) && fused.storage.contains { $0 > 0 }, "the case must exercise ReLU")

        guard let packed = conv.packed?.forward else { return }  // safe: checked above
        var portable = [Float](repeating: .nan, count: expected.count)
        x.storage.withUnsafeBufferPointer { xs in
            conv.bias!.storage.withUnsafeBufferPointer { bs in
                residual.storage.withUnsafeBufferPointer { rs in
                    portable.withUnsafeMutableBufferPointer { ys in
                        let g = conv.geometry(height: c.input[2], width: c.input[3])
                        GEMM.packedConvolution(
                            packed, shape: g, images: c.input[0], image: xs.baseAddress!, bias: bs.baseAddress,
                            residual: rs.baseAddress, relu: true, output: ys.baseAddress!, parallel: false,
                            kernel: .portable)
                    }
                }
            }
        }
        expectClose(try Tensor(shape: expected.shape, storage: portable), expected, atol: 1e-4, rtol: 1e-5, "portable")
    }

    /// A program fuses conv → ReLU and conv → add → ReLU unless the intermediate value is asked for (a tap
    /// keeps it): both ways give the same logits and input gradients, bit for bit.
    @Test func fusedProgramEqualsUnfusedProgram() throws {
        let model = try ResNet18<Float>.seeded(seed: 6, configuration: ResNet18Configuration(classCount: 5, width: 8))
        let program = try ResNetProgram(model: model, foldingBatchNorm: true)
        let x: Tensor<Float> = randomTensor([2, 3, 40, 36], seed: 314).converted()
        let everything = Set(program.availableLayers)  // every intermediate value tapped: nothing fuses
        let fused = try program.forward(x, backward: .inputOnly)
        let unfused = try program.forward(x, taps: everything, backward: .inputOnly)
        expectClose(fused.outputs, unfused.outputs, atol: 0, rtol: 0, "logits")
        var seed = Tensor<Float>(zeros: fused.outputs.shape)
        seed.storage[1] = 1
        seed.storage[5 + 3] = 1
        let a = try program.backward(fused, gradOutput: seed).input!
        let b = try program.backward(unfused, gradOutput: seed).input!
        expectClose(a, b, atol: 0, rtol: 0, "input gradient")
        expectClose(try program.forward(x).outputs, fused.outputs, atol: 0, rtol: 0, "without a backward plan")
    }

    /// Programs for classification and attribution carry packed weights wherever the kernel runs;
    /// training programs (unfolded, weights updated every step) only when asked.
    @Test func foldedProgramUsesPackedWeights() throws {
        let model = try ResNet18<Float>.seeded(seed: 5, configuration: ResNet18Configuration(classCount: 3, width: 8))
        let folded = try ResNetProgram(model: model, purpose: .attribution)
        let classifier = try ResNetProgram(model: model, purpose: .classification)
        let unfolded = try ResNetProgram(model: model, purpose: .training)
        for (program, packs) in [
            (folded, true), (classifier, true), (unfolded, false), (unfolded.withConvolutions(.packed), true),
        ] {
            for step in program.steps {
                if case .convolution(let conv, _) = step.operation {
                    #expect((conv.packed != nil) == (packs && PackedMatrix.isAvailable))
                }
            }
        }
    }
}
