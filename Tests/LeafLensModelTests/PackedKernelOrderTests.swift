import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// The AVX-512 and AVX2 kernels (`conv_avx512.c`, `conv_avx2.c`) promise the same float32 operations in the
/// same order, so that both CPUs give the same numbers bit for bit: per output, k (in the packed column
/// order) cut into blocks of ⌈K / ⌈K/128⌉⌉, each block one FMA chain from zero, the block sums added to the
/// running value in order, then + bias, + residual, ReLU. Each kernel this CPU runs is checked against that
/// order written out here, to the bit, on the same cases as PackedConvolutionTests (odd sizes, panels
/// across images, every column order, stride-2 splits, gathers, grouped panels).
@Suite struct PackedKernelOrderTests {
    /// The kernels this CPU can run that promise the order: the AVX2 one wherever AVX2 + FMA exist (called
    /// directly), and whatever `.fastest` runs when that is a LeafLens kernel.
    static var kernels: [PackedKernel] {
        var kernels: [PackedKernel] = []
        if BLASRuntime.cpuSIMD == "avx2" || BLASRuntime.cpuSIMD == "avx512" { kernels.append(.avx2) }
        if PackedMatrix.isAvailable { kernels.append(.fastest) }
        return kernels
    }

    /// Σ in the kernels' order: blocks of k summed by FMA from zero, added in turn to the value so far.
    static func blockedSum(count k: Int, initial: Float? = nil, term: (Int) -> (Float, Float)) -> Float {
        let blocks = (k + 127) / 128, kc = (k + blocks - 1) / blocks
        var value = initial
        for k0 in stride(from: 0, to: k, by: kc) {
            var sum: Float = 0
            for p in k0..<min(k, k0 + kc) {
                let (a, b) = term(p)
                sum = sum.addingProduct(a, b)  // one fused multiply-add
            }
            value = value.map { $0 + sum } ?? sum
        }
        return value ?? 0
    }

    @Test(arguments: PackedConvolutionTests.cases)
    func convolutionSumsInTheKernelOrder(_ c: PackedConvolutionTests.Case) throws {
        let kernels = Self.kernels
        guard !kernels.isEmpty else { return }  // no AVX2: only the portable loops exist here
        let (n, ch, h, w, o) = (c.input[0], c.input[1], c.input[2], c.input[3], c.outChannels)
        let taps = c.kernel.h * c.kernel.w, k = ch * taps
        let weight: Tensor<Float> = randomTensor([o, ch, c.kernel.h, c.kernel.w], seed: 401).converted()
        let bias: Tensor<Float> = randomTensor([o], seed: 402).converted()
        let x: Tensor<Float> = randomTensor(c.input, seed: 403).converted()
        let shape = ConvolutionShape(
            channels: ch, height: h, width: w, kernelH: c.kernel.h, kernelW: c.kernel.w, strideH: c.stride.h,
            strideW: c.stride.w, padH: c.padding.h, padW: c.padding.w,
            outputH: (h + 2 * c.padding.h - c.kernel.h) / c.stride.h + 1,
            outputW: (w + 2 * c.padding.w - c.kernel.w) / c.stride.w + 1)
        let positions = shape.outputH * shape.outputW
        let residual: Tensor<Float> = randomTensor([n, o, positions], seed: 404).converted()
        let packed = weight.storage.withUnsafeBufferPointer {
            PackedMatrix(convolution: $0.baseAddress!, outChannels: o, inChannels: ch, taps: taps)
        }
        // Column p of the packed order: (block of channels, tap, channel within the block).
        let block = ConvolutionShape.channelBlock(ch)
        let column: [(channel: Int, kh: Int, kw: Int)] = (0..<k).map { p in
            let rest = p % (taps * block), tap = rest / block
            return (p / (taps * block) * block + rest % block, tap / c.kernel.w, tap % c.kernel.w)
        }
        for (useBias, useResidual, relu) in [(false, false, false), (true, false, true), (true, true, true)] {
            var expected = [Float](repeating: 0, count: n * o * positions)
            for image in 0..<n {
                for oc in 0..<o {
                    for j in 0..<positions {
                        let oh = j / shape.outputW, ow = j % shape.outputW
                        var y = Self.blockedSum(count: k) { p in
                            let (ic, kh, kw) = column[p]
                            let ih = oh * c.stride.h - c.padding.h + kh, iw = ow * c.stride.w - c.padding.w + kw
                            let inside = ih >= 0 && ih < h && iw >= 0 && iw < w
                            let v = inside ? x.storage[((image * ch + ic) * h + ih) * w + iw] : 0
                            return (weight.storage[(oc * ch + ic) * taps + kh * c.kernel.w + kw], v)
                        }
                        let at = (image * o + oc) * positions + j
                        if useBias { y = y + bias.storage[oc] }
                        if useResidual { y = y + residual.storage[at] }
                        if relu && y < 0 { y = 0 }
                        expected[at] = y
                    }
                }
            }
            for kernel in kernels {
                for parallel in [false, true] {
                    var out = [Float](repeating: .nan, count: expected.count)
                    x.storage.withUnsafeBufferPointer { xs in
                        bias.storage.withUnsafeBufferPointer { bs in
                            residual.storage.withUnsafeBufferPointer { rs in
                                out.withUnsafeMutableBufferPointer { ys in
                                    GEMM.packedConvolution(
                                        packed, shape: shape, images: n, image: xs.baseAddress!,
                                        bias: useBias ? bs.baseAddress : nil,
                                        residual: useResidual ? rs.baseAddress : nil,
                                        relu: relu, output: ys.baseAddress!, parallel: parallel, kernel: kernel)
                                }
                            }
                        }
                    }
                    let differing = zip(out, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(
                        differing == 0,
                        "\(kernel) parallel \(parallel) bias \(useBias) residual \(useResidual): \(differing) of \(out.count) differ"
                    )
                }
            }
        }
    }

    @Test(arguments: [(13, 37, 300), (70, 200, 64), (8, 1, 9), (520, 49, 40), (6, 33, 129)])
    func gemmSumsInTheKernelOrder(_ size: (m: Int, n: Int, k: Int)) throws {
        let kernels = Self.kernels
        guard !kernels.isEmpty else { return }
        let (m, n, k) = size
        let a: Tensor<Float> = randomTensor([m, k], seed: 405).converted()
        let b: Tensor<Float> = randomTensor([k, n], seed: 406).converted()
        let c0: Tensor<Float> = randomTensor([m, n], seed: 407).converted()
        let packed = a.storage.withUnsafeBufferPointer {
            PackedMatrix(rows: m, columns: k, $0.baseAddress!, lda: k, transposed: false)
        }
        for accumulate in [false, true] {
            var expected = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    expected[i * n + j] = Self.blockedSum(count: k, initial: accumulate ? c0.storage[i * n + j] : nil) {
                        (a.storage[i * k + $0], b.storage[$0 * n + j])
                    }
                }
            }
            for kernel in kernels {
                var c = c0.storage
                b.storage.withUnsafeBufferPointer { bs in
                    c.withUnsafeMutableBufferPointer { cs in
                        GEMM.packedParallel(
                            packed, n: n, b: bs.baseAddress!, ldb: n, c: cs.baseAddress!, ldc: n,
                            accumulate: accumulate, kernel: kernel)
                    }
                }
                let differing = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(kernel) accumulate \(accumulate): \(differing) of \(c.count) differ")
            }
        }
    }
}
