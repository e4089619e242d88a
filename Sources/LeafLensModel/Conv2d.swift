import LeafLensMath
import Synchronization

/// 2-D convolution (cross-correlation, as PyTorch's Conv2d), NCHW.
///
///     y[n, o, i, j] = b[o] + Σ_{c, p, q} w[o, c, p, q] · x[n, c, i·sh − ph + p, j·sw − pw + q]
///
/// with zero padding. `weight` is `[O, C, KH, KW]`, `bias` `[O]` or nil. Output size per axis:
/// ⌊(H + 2·ph − KH) / sh⌋ + 1. Three algorithms compute it (`ConvolutionAlgorithm`, chosen once per
/// convolution with `using(_:)`, by `ResNetProgram` when it is built for its purpose): im2col + OpenBLAS
/// GEMM (any scalar, any weights); LeafLens's AVX-512 kernel over packed weights (Float, fixed weights);
/// Winograd F(2×2, 3×3) (3×3/1/1, fixed weights, classification only). `forwardReference` is the direct
/// six-loop definition kept beside them for tests.
public struct Conv2d<T: TensorScalar>: Sendable {
    /// Changing the weights drops the forms prepared from them: the convolution is im2col again.
    public var weight: Tensor<T> {
        didSet { prepared = .none }
    }
    public var bias: Tensor<T>?
    public let stride: (h: Int, w: Int)
    public let padding: (h: Int, w: Int)
    /// The weights as the chosen algorithm reads them.
    var prepared: PreparedWeights = .none

    enum PreparedWeights: Sendable {
        case none
        case packed(PackedConvWeights)
        case winograd(WinogradFilters<T>)
    }

    public init(weight: Tensor<T>, bias: Tensor<T>? = nil, stride: Int = 1, padding: Int = 0) throws(TensorError) {
        try self.init(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }

    public init(
        weight: Tensor<T>, bias: Tensor<T>?, stride: (h: Int, w: Int), padding: (h: Int, w: Int)
    ) throws(TensorError) {
        guard weight.rank == 4, weight.shape.allSatisfy({ $0 > 0 }) else { throw .invalidShape(weight.shape) }
        if let bias, bias.shape != [weight.shape[0]] {
            throw .shapeMismatch(operation: "conv2d bias", expected: [weight.shape[0]], found: bias.shape)
        }
        guard stride.h > 0, stride.w > 0, padding.h >= 0, padding.w >= 0 else {
            throw .invalidShape([stride.h, stride.w, padding.h, padding.w])
        }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: (h: Int, w: Int) { (weight.shape[2], weight.shape[3]) }

    /// Output shape for an `[N, C, H, W]` input; throws if the channels differ or the window does not fit.
    public func outputShape(for shape: [Int]) throws(TensorError) -> [Int] {
        guard shape.count == 4, shape[1] == inChannels else {
            throw .shapeMismatch(
                operation: "conv2d input", expected: [-1, inChannels, -1, -1], found: shape)
        }
        let oh = (shape[2] + 2 * padding.h - kernel.h) / stride.h + 1
        let ow = (shape[3] + 2 * padding.w - kernel.w) / stride.w + 1
        guard shape[2] + 2 * padding.h >= kernel.h, shape[3] + 2 * padding.w >= kernel.w else {
            throw .invalidShape(shape)
        }
        return [shape[0], outChannels, oh, ow]
    }

    /// The geometry for an input of `height`×`width` (output size from `outputShape`).
    func geometry(height: Int, width: Int) -> ConvolutionShape {
        ConvolutionShape(
            channels: inChannels, height: height, width: width, kernelH: kernel.h, kernelW: kernel.w,
            strideH: stride.h, strideW: stride.w, padH: padding.h, padW: padding.w,
            outputH: (height + 2 * padding.h - kernel.h) / stride.h + 1,
            outputW: (width + 2 * padding.w - kernel.w) / stride.w + 1)
    }

    /// The algorithm this convolution runs (`using(_:)` chose it).
    public var algorithm: ConvolutionAlgorithm {
        switch prepared {
        case .none: .im2col
        case .packed: .packed
        case .winograd: .winograd
        }
    }

    /// Whether `algorithm` can compute this convolution here: `.packed` needs Float on a CPU with
    /// LeafLens's AVX-512 kernel; `.winograd` a 3×3, stride-1, padding-1 convolution.
    public func supports(_ algorithm: ConvolutionAlgorithm) -> Bool {
        switch algorithm {
        case .im2col: true
        case .packed: T.self == Float.self && PackedMatrix.isAvailable
        case .winograd: kernel == (3, 3) && stride == (1, 1) && padding == (1, 1)
        }
    }

    /// A copy that runs `algorithm` (its weights prepared once: packed, or Winograd-transformed), or
    /// im2col when `supports(algorithm)` is false.
    ///
    /// Packed: W for the forward pass; for the input gradient the rotated filters (stride 1) or Wᵀ
    /// (strided), so fixed-weight networks skip both OpenBLAS and per-call packing; only the order of the
    /// float32 terms differs from im2col (tests compare both against the direct definition). Winograd: its
    /// float32 rounding differs enough from the direct sum to flip ReLU decisions near zero, which moved
    /// Integrated Gradients 1.5e-3 (relative L2) away from Captum's, over the 1e-3 the parity tests allow;
    /// so programs use it for classification only, and its backward pass is im2col's.
    ///
    /// `inputGradients` says when the input gradient's copies (the rotated filters or Wᵀ) are packed:
    /// `.never` packs the forward weights only (a classification program never runs a backward pass; the
    /// input gradient then falls back to OpenBLAS over `weight`); `.onFirstUse` packs them the first time
    /// a backward pass asks (`ResNetProgram.backward` does it for the steps it will run, on all workers), so
    /// runs whose backward passes stop above this convolution (Grad-CAM at layer4, the CAM family,
    /// occlusion) hold the forward copy only; `.now` packs them here.
    public func using(_ algorithm: ConvolutionAlgorithm, inputGradients: InputGradientPacking = .now) -> Conv2d {
        var copy = self
        guard supports(algorithm) else {
            copy.prepared = .none
            return copy
        }
        switch algorithm {
        case .im2col: copy.prepared = .none
        case .winograd: copy.prepared = .winograd(WinogradFilters(weight: weight))
        case .packed: copy.prepared = .packed(packedWeights(inputGradients: inputGradients))
        }
        return copy
    }

    /// Bytes held by the prepared (packed or Winograd-transformed) copies of the weights; 0 for im2col.
    /// Input-gradient copies not yet made (`.onFirstUse`) count nothing.
    public var preparedBytes: Int {
        switch prepared {
        case .none: 0
        case .winograd(let filters): filters.values.count * MemoryLayout<T>.stride
        case .packed(let packed):
            packed.forward.byteCount + (packed.inputGradient?.madeBytes ?? 0)
        }
    }

    /// Packs the input gradient's copies now if they are packed on first use and not yet made.
    public func prepareInputGradient() {
        _ = packed?.inputGradient?.copies
    }

    /// Whether a backward pass would pack input-gradient copies first.
    public var inputGradientPending: Bool { packed?.inputGradient?.isMade == false }

    private func packedWeights(inputGradients: InputGradientPacking) -> PackedConvWeights {
        let (o, c, (kh, kw)) = (outChannels, inChannels, kernel)
        let forward = weight.storage.withUnsafeBufferPointer { ws in
            // safe: the weights have positive dimensions.
            PackedMatrix(convolution: floatPointer(ws.baseAddress!), outChannels: o, inChannels: c, taps: kh * kw)
        }
        guard inputGradients != .never else { return PackedConvWeights(forward: forward, inputGradient: nil) }
        let (weight, stride, padding) = (self.weight, self.stride, self.padding)
        let lazy = InputGradientCopies { Self.inputGradientCopies(weight, stride: stride, padding: padding) }
        if inputGradients == .now { _ = lazy.copies }
        return PackedConvWeights(forward: forward, inputGradient: lazy)
    }

    /// Stride 1 (and padding < kernel): ∂L/∂x is itself a convolution of ∂L/∂y, with the filters
    /// transposed over channels and rotated 180°, stride 1 and padding kernel − 1 − padding: the rotated
    /// filters, packed. Otherwise Wᵀ, packed.
    static func inputGradientCopies(
        _ weight: Tensor<T>, stride: (h: Int, w: Int), padding: (h: Int, w: Int)
    ) -> InputGradientCopies.Copies {
        let (o, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let k = c * kh * kw
        let strideOne = stride == (1, 1) && padding.h < kh && padding.w < kw
        return weight.storage.withUnsafeBufferPointer { ws in
            let w = floatPointer(ws.baseAddress!)  // safe: the weights have positive dimensions
            guard strideOne else {
                return (PackedMatrix(rows: k, columns: o, w, lda: k, transposed: true), nil)
            }
            return (nil, PackedMatrix(rotatedConvolution: w, outChannels: o, inChannels: c, taps: kh * kw))
        }
    }

    var packed: PackedConvWeights? {
        if case .packed(let p) = prepared { return p }
        return nil
    }

    /// Below this many 2×2 output tiles per batch, the 16 tiny GEMMs lose to im2col + one GEMM.
    static var winogradMinimumTiles: Int { 16 }

    // MARK: forward

    /// The blocks (start, length) in which the im2col forward sums its K = C·KH·KW terms: in float32,
    /// blocks of at most 128 (each GEMM over one block sums it from zero, then adds it to the output), as
    /// the AVX-512 kernel sums them (`kernel_tile`, avx512_tile.h) — one OpenBLAS GEMM over all of K
    /// sums chains as long as its own K block (hundreds of terms), and float32 rounding grows with the
    /// chain. Double keeps one GEMM.
    static func sumBlocks(_ k: Int) -> [(start: Int, count: Int)] {
        let limit = 128
        guard T.self == Float.self, k > limit else { return [(0, k)] }
        let blocks = (k + limit - 1) / limit, size = (k + blocks - 1) / blocks
        return Swift.stride(from: 0, to: k, by: size).map { ($0, min(size, k - $0)) }
    }

    /// y = conv(x): `[N, C, H, W]` → `[N, O, OH, OW]`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        let outShape = try outputShape(for: x.shape)
        let (n, oh, ow) = (x.shape[0], outShape[2], outShape[3])
        if case .winograd(let winograd) = prepared, n * ((oh + 1) / 2) * ((ow + 1) / 2) >= Self.winogradMinimumTiles {
            var y = winograd.convolve(x)
            if let bias { y.addChannelBias(bias) }
            return y
        }
        let g = geometry(height: x.shape[2], width: x.shape[3])
        let (o, k, p) = (outChannels, g.columnRows, oh * ow)
        let inSize = x.shape[1] * x.shape[2] * x.shape[3]
        if packed != nil, x.count > 0, outShape[0] * outShape[1] * oh * ow > 0 {
            return forwardPacked(x, outShape: outShape, geometry: g, residual: nil, relu: false)
        }
        var y = Tensor<T>(zeros: outShape)
        guard x.count > 0, y.count > 0 else { return y }  // an empty batch: nothing to compute
        x.storage.withUnsafeBufferPointer { xs in
            weight.storage.withUnsafeBufferPointer { ws in
                y.storage.withUnsafeMutableBufferPointer { ys in
                    // safe: all three buffers are non-empty (checked above; weights have positive dimensions).
                    let xp = UnsafeSendable(xs.baseAddress!), wp = UnsafeSendable(ws.baseAddress!)
                    let yp = UnsafeSendable(ys.baseAddress!)
                    let blocks = Self.sumBlocks(k)
                    if n == 1 {
                        // One image: im2col split over channels, GEMM split over columns.
                        g.withColumns(xp.value, parallel: true) { col in
                            for (k0, kb) in blocks {
                                GEMM.parallel(
                                    transA: false, transB: false, m: o, n: p, k: kb, alpha: 1, a: wp.value + k0,
                                    lda: k, b: col + k0 &* p, ldb: p, beta: k0 == 0 ? 0 : 1, c: yp.value, ldc: p)
                            }
                        }
                    } else {
                        Parallel.forEach(n) { i in
                            g.withColumns(xp.value + i &* inSize, parallel: false) { col in
                                for (k0, kb) in blocks {
                                    GEMM.serial(
                                        transA: false, transB: false, m: o, n: p, k: kb, alpha: 1,
                                        a: wp.value + k0, lda: k, b: col + k0 &* p, ldb: p, beta: k0 == 0 ? 0 : 1,
                                        c: yp.value + i &* o &* p, ldc: p)
                                }
                            }
                        }
                    }
                }
            }
        }
        if let bias { y.addChannelBias(bias) }
        return y
    }

    /// relu(conv(x) + residual) — or relu(conv(x)) without `residual` — in one pass over the output, with
    /// the same float32 operations in the same order as the three separate steps. Packed convolutions only
    /// (the program plans fusion for those alone).
    func forwardFused(_ x: Tensor<T>, residual: Tensor<T>?) throws(TensorError) -> Tensor<T> {
        precondition(packed != nil, "fused convolutions are planned for packed weights only")  // safe: planner's invariant
        let outShape = try outputShape(for: x.shape)
        if let residual, residual.shape != outShape {
            throw .shapeMismatch(operation: "residual add", expected: outShape, found: residual.shape)
        }
        guard x.count > 0, outShape.reduce(1, *) > 0 else { return Tensor(zeros: outShape) }
        return forwardPacked(
            x, outShape: outShape, geometry: geometry(height: x.shape[2], width: x.shape[3]), residual: residual,
            relu: true)
    }

    /// The packed-kernel forward: the column matrix is built panel by panel inside the kernel, which also
    /// runs the epilogue (bias, residual, ReLU) and writes every output element (so the output starts
    /// uninitialised). Callers check that the weights are packed and x and the output are non-empty.
    private func forwardPacked(
        _ x: Tensor<T>, outShape: [Int], geometry g: ConvolutionShape, residual: Tensor<T>?, relu: Bool
    ) -> Tensor<T> {
        guard let packed else { preconditionFailure("forwardPacked without packed weights") }  // safe: callers check
        let count = outShape.reduce(1, *)
        let storage = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            x.storage.withUnsafeBufferPointer { xs in
                (bias?.storage ?? []).withUnsafeBufferPointer { bs in
                    (residual?.storage ?? []).withUnsafeBufferPointer { rs in
                        // safe: x and the output are non-empty (callers check). An empty array may still
                        // have a base address, so "none" is decided by the optionals, not the pointers.
                        GEMM.packedConvolution(
                            packed.forward, shape: g, images: outShape[0], image: floatPointer(xs.baseAddress!),
                            bias: bias == nil ? nil : bs.baseAddress.map { floatPointer($0) },
                            residual: residual == nil ? nil : rs.baseAddress.map { floatPointer($0) }, relu: relu,
                            output: floatPointer(buffer.baseAddress!), parallel: true)
                    }
                }
            }
            initialized = count
        }
        return Tensor(uncheckedShape: outShape, storage: storage)
    }

    /// The direct definition, for tests: six nested loops, no GEMM.
    public func forwardReference(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        let outShape = try outputShape(for: x.shape)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, oh, ow) = (outShape[1], outShape[2], outShape[3])
        var y = Tensor<T>(zeros: outShape)
        for b in 0..<n {
            for oc in 0..<o {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var sum: T = bias?.storage[oc] ?? 0
                        for ic in 0..<c {
                            for p in 0..<kernel.h {
                                let ih = i * stride.h - padding.h + p
                                if ih < 0 || ih >= h { continue }
                                for q in 0..<kernel.w {
                                    let iw = j * stride.w - padding.w + q
                                    if iw < 0 || iw >= w { continue }
                                    sum +=
                                        weight.storage[((oc * c + ic) * kernel.h + p) * kernel.w + q]
                                        * x.storage[((b * c + ic) * h + ih) * w + iw]
                                }
                            }
                        }
                        y.storage[((b * o + oc) * oh + i) * ow + j] = sum
                    }
                }
            }
        }
        return y
    }

    // MARK: backward

    /// Vector–Jacobian product. Returns ∂L/∂x given `gradOutput` = ∂L/∂y and the forward `input`.
    /// When `parameterGradients` is non-nil, ACCUMULATES ∂L/∂w and ∂L/∂b into it (adds, never overwrites):
    ///
    ///     ∂L/∂x = col2im(Wᵀ · dY),   ∂L/∂W += dY · colᵀ,   ∂L/∂b += Σ_{n,i,j} dY
    ///
    /// `input` is needed only for the weight gradient (its columns are rebuilt, not cached).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(
        gradOutput dy: Tensor<T>, inputShape: [Int], input: Tensor<T>?,
        parameterGradients: inout ConvGradients<T>?
    ) throws(TensorError) -> Tensor<T> {
        let outShape = try outputShape(for: inputShape)
        guard dy.shape == outShape else {
            throw .shapeMismatch(operation: "conv2d backward", expected: outShape, found: dy.shape)
        }
        let g = self.geometry(height: inputShape[2], width: inputShape[3])
        let geometry = g
        let n = inputShape[0]
        let (o, k, p) = (outChannels, g.columnRows, g.outputH * g.outputW)
        let inSize = inputShape[1] * inputShape[2] * inputShape[3]
        var dx = Tensor<T>(zeros: inputShape)
        guard dx.count > 0, dy.count > 0 else { return dx }  // an empty batch: nothing to compute
        let wantsWeights = parameterGradients != nil
        if wantsWeights, input?.shape != inputShape {
            throw .shapeMismatch(operation: "conv2d backward input", expected: inputShape, found: input?.shape ?? [])
        }
        // Per-image partial weight gradients, summed after the parallel loop.
        let partialCount = wantsWeights ? (n == 1 ? 1 : min(n, Parallel.workers)) : 0
        var partials = [T](repeating: 0, count: partialCount * o * k)
        let xStorage = input?.storage ?? []
        dy.storage.withUnsafeBufferPointer { dys in
            weight.storage.withUnsafeBufferPointer { ws in
                dx.storage.withUnsafeMutableBufferPointer { dxs in
                    xStorage.withUnsafeBufferPointer { xs in
                        partials.withUnsafeMutableBufferPointer { parts in
                            // safe: dy, dx and the weights are non-empty (checked above).
                            let dyp = UnsafeSendable(dys.baseAddress!), wp = UnsafeSendable(ws.baseAddress!)
                            let dxp = UnsafeSendable(dxs.baseAddress!), xp = UnsafeSendable(xs.baseAddress)
                            let pp = UnsafeSendable(parts.baseAddress)
                            if let rotated = packed?.rotated {
                                // Stride 1: ∂L/∂x is a convolution of ∂L/∂y with the rotated filters.
                                GEMM.packedConvolution(
                                    rotated, shape: geometry.transposed(outChannels: o), images: n,
                                    image: floatPointer(UnsafePointer(dyp.value)), output: floatPointer(dxp.value),
                                    parallel: true)
                            } else if n == 1 {
                                let column = UnsafeMutablePointer<T>.allocate(capacity: k * p)
                                defer { column.deallocate() }
                                // dcol = Wᵀ·dY, then scatter-add into dx.
                                if let transposed = packed?.transposed {
                                    GEMM.packedParallel(
                                        transposed, n: p, b: floatPointer(dyp.value), ldb: p,
                                        c: floatPointer(column), ldc: p)
                                } else {
                                    GEMM.parallel(
                                        transA: true, transB: false, m: k, n: p, k: o, alpha: 1, a: wp.value,
                                        lda: k, b: dyp.value, ldb: p, beta: 0, c: column, ldc: p)
                                }
                                geometry.columnsToImage(column, into: dxp.value, parallel: true)
                            } else {
                                let groups = Parallel.chunks(n)
                                Parallel.forEach(groups.count) { gi in
                                    let dcol = UnsafeMutablePointer<T>.allocate(capacity: k * p)
                                    defer { dcol.deallocate() }
                                    for i in groups[gi] {
                                        if let transposed = packed?.transposed {
                                            GEMM.packedSerial(
                                                transposed, n: p, b: floatPointer(dyp.value + i &* o &* p),
                                                ldb: p, c: floatPointer(dcol), ldc: p)
                                        } else {
                                            GEMM.serial(
                                                transA: true, transB: false, m: k, n: p, k: o, alpha: 1, a: wp.value,
                                                lda: k, b: dyp.value + i &* o &* p, ldb: p, beta: 0, c: dcol, ldc: p)
                                        }
                                        geometry.columnsToImage(dcol, into: dxp.value + i &* inSize, parallel: false)
                                    }
                                }
                            }
                            // ∂L/∂W += dY · colᵀ, after ∂L/∂x whichever way that was computed.
                            if wantsWeights, let x = xp.value, let part = pp.value {
                                weightGradient(
                                    geometry, images: n, x: x, inSize: inSize, dy: dyp.value, partials: part)
                            }
                        }
                    }
                }
            }
        }
        if wantsWeights {
            var grads = parameterGradients ?? ConvGradients(weightShape: weight.shape, hasBias: bias != nil)
            let size = o * k
            for part in 0..<partialCount {
                for j in 0..<size { grads.weight.storage[j] += partials[part * size + j] }
            }
            if var biasGradient = grads.bias {
                for b in 0..<n {
                    for oc in 0..<o {
                        var s: T = 0
                        let base = (b * o + oc) * p
                        for j in 0..<p { s += dy.storage[base + j] }
                        biasGradient.storage[oc] += s
                    }
                }
                grads.bias = biasGradient
            }
            parameterGradients = grads
        }
        return dx
    }
}

extension Conv2d {
    /// ∂L/∂W partials alone, dY · colᵀ per image (the input gradient computed elsewhere): one image splits
    /// its GEMM over both workers into `partials`; a batch gives each worker a chunk of images, summed into
    /// its own `o · k` slice of `partials` (as many slices as `Parallel.chunks(n)`, at most `Parallel.workers`).
    fileprivate func weightGradient(
        _ geometry: ConvolutionShape, images n: Int, x: UnsafePointer<T>, inSize: Int, dy: UnsafePointer<T>,
        partials: UnsafeMutablePointer<T>
    ) {
        let (o, k, p) = (outChannels, geometry.columnRows, geometry.outputH * geometry.outputW)
        if n == 1 {
            geometry.withColumns(x, parallel: true) { col in
                GEMM.parallel(
                    transA: false, transB: true, m: o, n: k, k: p, alpha: 1, a: dy, lda: p, b: col, ldb: p, beta: 0,
                    c: partials, ldc: k)
            }
            return
        }
        let (xp, dyp, pp) = (UnsafeSendable(x), UnsafeSendable(dy), UnsafeSendable(partials))
        let groups = Parallel.chunks(n)
        Parallel.forEach(groups.count) { gi in
            for i in groups[gi] {
                geometry.withColumns(xp.value + i &* inSize, parallel: false) { col in
                    GEMM.serial(
                        transA: false, transB: true, m: o, n: k, k: p, alpha: 1, a: dyp.value + i &* o &* p, lda: p,
                        b: col, ldb: p, beta: 1, c: pp.value + gi &* o &* k, ldc: k)
                }
            }
        }
    }
}

/// How a convolution is computed (see `Conv2d.using(_:)`).
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable {
    /// im2col + OpenBLAS GEMM; col2im for the input gradient. Any scalar, any weights (training).
    case im2col
    /// LeafLens's AVX-512 kernel over weights packed once (Float, fixed weights).
    case packed
    /// Winograd F(2×2, 3×3) forward for 3×3/1/1 convolutions (fixed weights, classification).
    case winograd
}

/// A convolution's weights packed for LeafLens's AVX-512 kernel: W `[O, C·KH·KW]` for the forward pass, and
/// one form for the input gradient.
/// When a packed convolution packs its input gradient's copies (`Conv2d.using`).
public enum InputGradientPacking: Sendable {
    case never, onFirstUse, now
}

struct PackedConvWeights: Sendable {
    let forward: PackedMatrix
    /// The input gradient's copies; nil when the program packs the forward weights only.
    let inputGradient: InputGradientCopies?
    /// Wᵀ `[C·KH·KW, O]`, for ∂L/∂x = col2im(Wᵀ·dY) (strided convolutions); made on first use.
    var transposed: PackedMatrix? { inputGradient?.copies.transposed }
    /// W rotated: `[C, O·KH·KW]`, for ∂L/∂x as a stride-1 convolution of dY (stride-1 convolutions); made
    /// on first use.
    var rotated: PackedMatrix? { inputGradient?.copies.rotated }
}

/// A convolution's input-gradient copies, made once by the first caller (under a lock: programs are
/// shared between threads) and kept; the copies of a `Conv2d` and of its value copies are one.
final class InputGradientCopies: Sendable {
    typealias Copies = (transposed: PackedMatrix?, rotated: PackedMatrix?)
    private let make: @Sendable () -> Copies
    private let state = Mutex<Copies?>(nil)

    init(_ make: @escaping @Sendable () -> Copies) { self.make = make }

    var copies: Copies {
        state.withLock { made in
            if let made { return made }
            let copies = make()
            made = copies
            return copies
        }
    }

    var isMade: Bool { state.withLock { $0 != nil } }

    var madeBytes: Int {
        state.withLock { made in
            guard let made else { return 0 }
            return (made.transposed?.byteCount ?? 0) + (made.rotated?.byteCount ?? 0)
        }
    }
}

/// Reinterprets a pointer to `T` as one to Float; only called where `T == Float` was checked
/// (packed weights exist for Float only).
@inline(__always)
func floatPointer<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
func floatPointer<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

/// Parameter gradients of one convolution (accumulated by `Conv2d.backward`).
public struct ConvGradients<T: TensorScalar>: Sendable {
    public var weight: Tensor<T>
    public var bias: Tensor<T>?
    public init(weightShape: [Int], hasBias: Bool) {
        weight = Tensor(zeros: weightShape)
        bias = hasBias ? Tensor(zeros: [weightShape[0]]) : nil
    }
}

extension Tensor {
    /// Adds `bias[c]` to every element of channel c of an `[N, C, ...]` tensor.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func addChannelBias(_ bias: Tensor<Scalar>) {
        let n = shape[0], c = shape[1]
        let plane = count / max(1, n * c)
        storage.withUnsafeMutableBufferPointer { ys in
            for b in 0..<n {
                for ch in 0..<c {
                    let v = bias.storage[ch]
                    let base = (b &* c &+ ch) &* plane
                    for j in 0..<plane { ys[base &+ j] += v }
                }
            }
        }
    }
}
