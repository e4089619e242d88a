import CLeafLensKernels

/// A float32 matrix packed once for LeafLens's kernels (see `sgemm_avx512.c`, `conv_avx2.c`): the fixed operand of
/// a convolution (its weights; for the input gradient, the rotated filters or the transpose). Packing costs
/// as much as reading the matrix, so it is done when a network is prepared, not on every call.
public struct PackedMatrix: Sendable {
    /// Rows and columns of the packed operand op(A).
    public let rows: Int
    public let columns: Int
    let storage: [Float]
    /// Bytes the packed copy holds.
    public var byteCount: Int { storage.count * MemoryLayout<Float>.stride }

    /// Whether this CPU runs a LeafLens kernel: AVX-512 (with OS support), or AVX2 with FMA when
    /// `LEAFLENS_CONV_KERNEL=avx2` asks for it; both give bit-identical results (`conv_avx2.c`). Elsewhere,
    /// and with `LEAFLENS_CONV_KERNEL=openblas`, LeafLens keeps im2col + OpenBLAS.
    public static let isAvailable: Bool = leaflens_sgemm_available() != 0

    /// Packed floats of one convolution call (rows × K) above which the AVX-512 kernel builds 16 column
    /// panels at a time, so that each 8-row slice of the weights is read once per group: three quarters of
    /// this core's L2 cache (as the C library reports it), or 65,536 where it cannot tell. Below it the
    /// weights stay in L2 and the panels go one at a time. The grouping never changes the numbers.
    public static var panelGroupThreshold: Int { leaflens_conv_group_threshold() }

    /// What runs float32 convolutions of fixed-weight networks: "leaflens-avx512", "leaflens-avx2", or
    /// "openblas" (im2col + sgemm).
    public static var kernelName: String {
        switch leaflens_kernel_level() {
        case 3: "leaflens-avx512"
        case 2: "leaflens-avx2"
        default: "openblas"
        }
    }

    /// Packs op(A) (`rows`×`columns`): A is row-major with row stride `lda`; when `transposed`, op(A) = Aᵀ,
    /// i.e. op(A)[i][p] = a[p·lda + i].
    public init(rows: Int, columns: Int, _ a: UnsafePointer<Float>, lda: Int, transposed: Bool) {
        self.rows = rows
        self.columns = columns
        let count = leaflens_sgemm_packed_count(rows, columns)
        storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            // safe: count > 0 whenever rows and columns are (callers pass non-empty weights).
            if let base = buffer.baseAddress, count > 0 {
                leaflens_sgemm_pack_a(rows, columns, a, lda, transposed ? 1 : 0, base)
            }
            initialized = count
        }
    }
}

/// Which loops run a packed product: the kernel `PackedMatrix.kernelName` names (`fastest`), the AVX2 + FMA
/// kernel (`avx2`: on any CPU with AVX2 and FMA, else the portable loops), or the portable loops that CPUs
/// without a kernel run (`portable`). All three are selectable everywhere so that tests check each.
public enum PackedKernel: Sendable {
    case fastest
    case avx2
    case portable

    var gemm:
        @convention(c) (
            Int, Int, Int, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?, Int, Int32
        ) -> Void
    {
        switch self {
        case .fastest: leaflens_sgemm_packed
        case .avx2: leaflens_sgemm_packed_avx2
        case .portable: leaflens_sgemm_packed_portable
        }
    }

    var convolution:
        @convention(c) (
            UnsafePointer<leaflens_conv_geometry>?, UnsafePointer<Float>?, Int, Int, Int, UnsafePointer<Float>?,
            UnsafePointer<Float>?, UnsafePointer<Float>?, Int32, UnsafeMutablePointer<Float>?, Int, Int, Int, Int
        ) -> Void
    {
        switch self {
        case .fastest: leaflens_sconv_packed
        case .avx2: leaflens_sconv_packed_avx2
        case .portable: leaflens_sconv_packed_portable
        }
    }
}

extension PackedMatrix {
    /// Packs convolution weights `[O, C, KH, KW]` for `GEMM.packedConvolution`, with the columns in the
    /// order (block of 16 channels, kh, kw, channel within the block) — the order in which oneDNN's direct
    /// convolutions (PyTorch's CPU path) accumulate, so that float32 sums round alike — or (c, kh, kw) when
    /// C is neither ≤ 16 nor a multiple of 16.
    public init(convolution w: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, taps: Int) {
        let k = c * taps
        self.init(
            gathering: w, rowOffsets: (0..<o).map { $0 * k },
            columnOffsets: Self.blockOrder(channels: c, taps: taps) { ic, t in ic * taps + t })
    }

    /// Packs, for the stride-1 input gradient, the rotated filters of convolution weights `[O, C, KH, KW]`:
    /// the weights of the convolution `[C, O, KH, KW]` with each filter turned by 180°, its columns in the
    /// order of `init(convolution:…)` — read from `w` directly, without a rotated copy.
    public init(rotatedConvolution w: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int, taps: Int) {
        self.init(
            gathering: w, rowOffsets: (0..<c).map { $0 * taps },
            columnOffsets: Self.blockOrder(channels: o, taps: taps) { oc, t in oc * c * taps + taps - 1 - t })
    }

    /// The packed column order of convolution weights over `channels` input channels: (block of 16
    /// channels, tap, channel within the block), or (channel, tap) when `channels` is neither ≤ 16 nor a
    /// multiple of 16 — each column's `offset(channel, tap)`.
    static func blockOrder(channels c: Int, taps: Int, offset: (Int, Int) -> Int) -> [Int] {
        let block = ConvolutionShape.channelBlock(c)
        var columns = [Int](repeating: 0, count: c * taps)
        for ic in 0..<c {
            for t in 0..<taps { columns[((ic / block) * taps + t) * block + ic % block] = offset(ic, t) }
        }
        return columns
    }

    /// Packs op(A)[i][p] = a[rowOffsets[i] + columnOffsets[p]].
    init(gathering a: UnsafePointer<Float>, rowOffsets: [Int], columnOffsets: [Int]) {
        rows = rowOffsets.count
        columns = columnOffsets.count
        let (m, k) = (rows, columns), count = leaflens_sgemm_packed_count(m, k)
        storage = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count > 0 {
                leaflens_sgemm_pack_a_gather(m, k, a, rowOffsets, columnOffsets, base)
            }
            initialized = count
        }
    }
}

extension GEMM {
    /// C[rows×n] = A·B (or C += A·B when `accumulate`), A packed, B row-major `[columns × n]` with row
    /// stride `ldb`, on the calling thread.
    @inline(__always)
    public static func packedSerial(
        _ a: PackedMatrix, n: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, kernel: PackedKernel = .fastest
    ) {
        a.storage.withUnsafeBufferPointer { ap in
            guard let base = ap.baseAddress else { return }
            let run = kernel.gemm
            run(a.rows, n, a.columns, base, b, ldb, c, ldc, accumulate ? 1 : 0)
        }
    }

    /// As `packedSerial`, on all cores when the product is large enough: split over column blocks of
    /// 32 (the kernel's panel width), or over 8-row panels of A when C has few columns.
    /// Call only from outside other parallel regions.
    public static func packedParallel(
        _ a: PackedMatrix, n: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, kernel: PackedKernel = .fastest
    ) {
        let run = kernel.gemm
        let (m, k) = (a.rows, a.columns)
        let rowPanels = (m + 7) / 8, columnPanels = (n + 31) / 32
        let workers = m * n * k < 1_000_000 ? 1 : Parallel.workers
        let splitRows = columnPanels < 2 * workers
        let blocks = Parallel.chunks(splitRows ? rowPanels : columnPanels)
        if workers == 1 || blocks.count == 1 {
            packedSerial(a, n: n, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate, kernel: kernel)
            return
        }
        a.storage.withUnsafeBufferPointer { ap in
            guard let base = ap.baseAddress else { return }
            let pa = UnsafeSendable(base), pb = UnsafeSendable(b), pc = UnsafeSendable(c)
            Parallel.forEach(blocks.count) { i in
                let part = blocks[i]
                if splitRows {
                    let r0 = part.lowerBound &* 8, r1 = min(m, part.upperBound &* 8)
                    run(
                        r1 &- r0, n, k, pa.value + r0 &* k, pb.value, ldb, pc.value + r0 &* ldc, ldc, accumulate ? 1 : 0
                    )
                } else {
                    let j0 = part.lowerBound &* 32, j1 = min(n, part.upperBound &* 32)
                    run(m, j1 &- j0, k, pa.value, pb.value + j0, ldb, pc.value + j0, ldc, accumulate ? 1 : 0)
                }
            }
        }
    }
}

/// One image's convolution geometry for `GEMM.packedConvolution`.
public struct ConvolutionShape: Sendable {
    public var channels: Int, height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int
    public var outputH: Int, outputW: Int

    public init(
        channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
        padH: Int, padW: Int, outputH: Int, outputW: Int
    ) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
        (self.padH, self.padW, self.outputH, self.outputW) = (padH, padW, outputH, outputW)
    }

    /// Channels per block in the column order of packed convolution weights (see `PackedMatrix(convolution:)`).
    public static func channelBlock(_ channels: Int) -> Int {
        channels <= 16 ? channels : channels % 16 == 0 ? 16 : 1
    }

    var c: leaflens_conv_geometry {
        leaflens_conv_geometry(
            channels: channels, height: height, width: width, kernel_h: kernelH, kernel_w: kernelW,
            stride_h: strideH, stride_w: strideW, pad_h: padH, pad_w: padW, out_h: outputH, out_w: outputW,
            channel_block: Self.channelBlock(channels))
    }
}

extension GEMM {
    /// The convolution of `images` images `[C, H, W]` (consecutive at `image`) with packed weights A
    /// (`PackedMatrix(convolution:…)`) into `output` (`[images, O, OH·OW]`), the column matrix built panel
    /// by panel from the images (no im2col matrix; a panel of 32 output positions may span images, so small
    /// layers waste no lanes). Then, each a separate float32 operation as in unfused layers: `bias` (O
    /// values) is added to each output, `residual` (laid out as `output`) is added, and ReLU (x < 0 ? 0 : x)
    /// is applied when `relu`.
    ///
    /// Runs on the calling thread, or on all cores when `parallel` and the work is large enough: split over
    /// panels of 32 output positions, or over 8-row panels of A when there are few positions (then each
    /// weight is read once, not once per panel).
    public static func packedConvolution(
        _ a: PackedMatrix, shape: ConvolutionShape, images: Int, image: UnsafePointer<Float>,
        bias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil, relu: Bool = false,
        output: UnsafeMutablePointer<Float>, parallel: Bool, kernel: PackedKernel = .fastest
    ) {
        let run = kernel.convolution
        let geometry = shape.c
        let (m, k, positions) = (a.rows, a.columns, shape.outputH * shape.outputW)
        let inSize = shape.channels * shape.height * shape.width, outSize = m * positions
        let rowPanels = (m + 7) / 8, columnPanels = (images * positions + 31) / 32
        guard columnPanels > 0, m > 0 else { return }
        let workers = !parallel || images * m * positions * k < 1_000_000 ? 1 : Parallel.workers
        let splitRows = columnPanels < 8 * workers
        let blocks = Parallel.chunks(splitRows ? rowPanels : columnPanels)
        a.storage.withUnsafeBufferPointer { ap in
            guard let base = ap.baseAddress else { return }
            if workers == 1 || blocks.count == 1 {
                var g = geometry
                run(
                    &g, image, inSize, images, m, base, bias, residual, relu ? 1 : 0, output, positions, outSize, 0,
                    columnPanels)
                return
            }
            let pa = UnsafeSendable(base), px = UnsafeSendable(image), py = UnsafeSendable(output)
            let pbias = UnsafeSendable(bias), pres = UnsafeSendable(residual)
            Parallel.forEach(blocks.count) { i in
                var g = geometry
                let part = blocks[i]
                if splitRows {
                    let r0 = part.lowerBound &* 8, r1 = min(m, part.upperBound &* 8)
                    run(
                        &g, px.value, inSize, images, r1 &- r0, pa.value + r0 &* k, pbias.value.map { $0 + r0 },
                        pres.value.map { $0 + r0 &* positions }, relu ? 1 : 0, py.value + r0 &* positions, positions,
                        outSize, 0, columnPanels)
                } else {
                    run(
                        &g, px.value, inSize, images, m, pa.value, pbias.value, pres.value, relu ? 1 : 0, py.value,
                        positions, outSize, part.lowerBound, part.upperBound)
                }
            }
        }
    }
}

extension ConvolutionShape {
    /// col2im for channels `channels` of one image: adds the column matrix `[C·KH·KW, OH·OW]` into `image`
    /// `[C, H, W]`, with AVX-512 and stride 2 across (each element's terms in the same order as the plain
    /// loop). Returns false, touching nothing, when that does not apply.
    public func addColumns(
        _ columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, channels: Range<Int>
    ) -> Bool {
        var g = c
        return leaflens_scol2im_add(&g, columns, image, channels.lowerBound, channels.upperBound) != 0
    }
}
