import LeafLensMath

/// im2col / col2im on the one convolution geometry type (`ConvolutionShape`: one image's channels, size,
/// kernel, stride, padding and output size), shared with the packed kernel.
///
/// The column matrix of an image `[C, H, W]` is `[C·KH·KW, OH·OW]`: row (c, p, q) holds, for every output
/// position (i, j), the input value x[c, i·sh − ph + p, j·sw − pw + q] (0 outside the image). Then the
/// convolution is one GEMM: `[O, C·KH·KW] × [C·KH·KW, OH·OW]`.
extension ConvolutionShape {
    var columnRows: Int { channels * kernelH * kernelW }
    var columnCount: Int { outputH * outputW }

    /// The stride-1 convolution that maps ∂L/∂y `[O, OH, OW]` to ∂L/∂x `[C, H, W]` (rotated filters,
    /// padding kernel − 1 − padding); `outChannels` is O. Valid for stride 1 with padding < kernel.
    func transposed(outChannels: Int) -> ConvolutionShape {
        ConvolutionShape(
            channels: outChannels, height: outputH, width: outputW, kernelH: kernelH, kernelW: kernelW,
            strideH: 1, strideW: 1, padH: kernelH - 1 - padH, padW: kernelW - 1 - padW,
            outputH: height, outputW: width)
    }

    /// A 1×1, stride-1, unpadded convolution reads the image itself as its column matrix.
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }

    /// Calls `body` with the column matrix of the image at `image` (`[C, H, W]`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func withColumns<T: TensorScalar>(
        _ image: UnsafePointer<T>, parallel: Bool, _ body: (UnsafePointer<T>) -> Void
    ) {
        if isPointwise {
            body(image)
            return
        }
        let col = UnsafeMutablePointer<T>.allocate(capacity: columnRows * columnCount)
        defer { col.deallocate() }
        imageToColumns(image, into: col, parallel: parallel)
        body(col)
    }

    /// im2col. Rows for different channels are independent, so channels are split across workers.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func imageToColumns<T: TensorScalar>(
        _ image: UnsafePointer<T>, into col: UnsafeMutablePointer<T>, parallel: Bool
    ) {
        let src = UnsafeSendable(image), dst = UnsafeSendable(col)
        forEachChannelRange(parallel: parallel) { range in
            for c in range { self.channelToColumns(c, src.value, dst.value) }
        }
    }

    /// Runs `body(range)` over ranges of input channels covering all of them: one range per worker when
    /// asked and worth it, else one range on the calling thread.
    private func forEachChannelRange(parallel: Bool, _ body: @escaping @Sendable (Range<Int>) -> Void) {
        guard parallel && channels > 1 && columnRows * columnCount > 50_000 else {
            body(0..<channels)
            return
        }
        let ranges = Parallel.chunks(channels)
        Parallel.forEach(ranges.count) { part in body(ranges[part]) }
    }

    @inline(__always)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func channelToColumns<T: TensorScalar>(
        _ c: Int, _ image: UnsafePointer<T>, _ col: UnsafeMutablePointer<T>
    ) {
        let plane = image + c &* height &* width
        let p = columnCount
        for kh in 0..<kernelH {
            for kw in 0..<kernelW {
                let row = col + ((c &* kernelH &+ kh) &* kernelW &+ kw) &* p
                // Output columns j whose input column j·sw − pw + kw lies inside [0, W).
                let (j0, j1) = validRange(offset: kw &- padW, stride: strideW, size: width, count: outputW)
                for i in 0..<outputH {
                    let ih = i &* strideH &- padH &+ kh
                    let dst = row + i &* outputW
                    if ih < 0 || ih >= height || j0 >= j1 {
                        dst.update(repeating: 0, count: outputW)
                        continue
                    }
                    if j0 > 0 { dst.update(repeating: 0, count: j0) }
                    if j1 < outputW { (dst + j1).update(repeating: 0, count: outputW &- j1) }
                    let srcRow = plane + (ih &* width &+ (kw &- padW))
                    if strideW == 1 {
                        (dst + j0).update(from: srcRow + j0, count: j1 &- j0)
                    } else {
                        var j = j0
                        while j < j1 {
                            dst[j] = srcRow[j &* strideW]
                            j &+= 1
                        }
                    }
                }
            }
        }
    }

    /// col2im: scatter-adds a column matrix back into an image `[C, H, W]` that was zeroed by the caller.
    /// Each channel's rows touch only that channel's plane, so channels are split across workers.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func columnsToImage<T: TensorScalar>(
        _ col: UnsafePointer<T>, into image: UnsafeMutablePointer<T>, parallel: Bool
    ) {
        let src = UnsafeSendable(col), dst = UnsafeSendable(image)
        if isPointwise {
            let total = columnRows * columnCount
            for i in 0..<total { image[i] += col[i] }
            return
        }
        // Float with stride 2 across is vectorised through even/odd-split rows (the stride-2 ResNet layers)
        // where the CPU allows; the plain loop runs if the kernel declines (it then has touched nothing).
        let vectorised = T.self == Float.self && strideW == 2 && PackedMatrix.isAvailable
        let shape = self
        let fs = UnsafeSendable(UnsafePointer<Float>(OpaquePointer(col)))
        let fd = UnsafeSendable(UnsafeMutablePointer<Float>(OpaquePointer(image)))
        forEachChannelRange(parallel: parallel) { range in
            if vectorised && shape.addColumns(fs.value, into: fd.value, channels: range) { return }
            for c in range { self.columnsToChannel(c, src.value, dst.value) }
        }
    }

    @inline(__always)
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func columnsToChannel<T: TensorScalar>(
        _ c: Int, _ col: UnsafePointer<T>, _ image: UnsafeMutablePointer<T>
    ) {
        let plane = image + c &* height &* width
        let p = columnCount
        for kh in 0..<kernelH {
            for kw in 0..<kernelW {
                let row = col + ((c &* kernelH &+ kh) &* kernelW &+ kw) &* p
                let (j0, j1) = validRange(offset: kw &- padW, stride: strideW, size: width, count: outputW)
                if j0 >= j1 { continue }
                for i in 0..<outputH {
                    let ih = i &* strideH &- padH &+ kh
                    if ih < 0 || ih >= height { continue }
                    let srcRow = row + i &* outputW
                    let dstRow = plane + (ih &* width &+ (kw &- padW))
                    var j = j0
                    while j < j1 {
                        dstRow[j &* strideW] += srcRow[j]
                        j &+= 1
                    }
                }
            }
        }
    }

    /// The range of output indices j with 0 ≤ j·stride + offset < size, clipped to 0..<count.
    @inline(__always)
    private func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
        // j ≥ ceil(−offset / stride) and j ≤ floor((size − 1 − offset) / stride)
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let hiInclusive = size - 1 - offset
        let hi = hiInclusive < 0 ? 0 : hiInclusive / stride + 1
        return (min(lo, count), max(min(lo, count), min(hi, count)))
    }
}
