import LeafLensMath

/// Max pooling over k×k windows with stride s and padding p (padding never wins: it is −∞), NCHW.
/// ResNet18 uses k = 3, s = 2, p = 1. Ties: the FIRST maximum in row-major window order wins, as in
/// PyTorch's CPU kernel (a later element replaces the current one only if strictly greater, or NaN).
public struct MaxPool2d: Sendable {
    public let kernel: Int, stride: Int, padding: Int

    public init(kernel: Int = 3, stride: Int = 2, padding: Int = 1) throws(TensorError) {
        guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel else {
            throw .invalidShape([kernel, stride, padding])
        }
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputShape(for shape: [Int]) throws(TensorError) -> [Int] {
        guard shape.count == 4, shape[2] + 2 * padding >= kernel, shape[3] + 2 * padding >= kernel else {
            throw .invalidShape(shape)
        }
        return [shape[0], shape[1], (shape[2] + 2 * padding - kernel) / stride + 1,
                (shape[3] + 2 * padding - kernel) / stride + 1]
    }

    /// Returns the pooled tensor and, per output element, the flat index (within its H·W plane) of the
    /// input element chosen; the backward pass routes gradients there.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: TensorScalar>(_ x: Tensor<T>) throws(TensorError) -> (output: Tensor<T>, argmax: [Int32]) {
        let outShape = try outputShape(for: x.shape)
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        var y = Tensor<T>(zeros: outShape)
        var argmax = [Int32](repeating: 0, count: y.count)
        let (k, s, p) = (kernel, stride, padding)
        x.storage.withUnsafeBufferPointer { xs in
            y.storage.withUnsafeMutableBufferPointer { ys in
                argmax.withUnsafeMutableBufferPointer { am in
                    let xp = UnsafeSendable(xs.baseAddress!), yp = UnsafeSendable(ys.baseAddress!)
                    let ap = UnsafeSendable(am.baseAddress!)
                    // Planes (n, c) are independent: split them across workers.
                    let ranges = Parallel.chunks(planes, minimum: 8)
                    Parallel.forEach(ranges.count) { part in
                        let (xs, ys, am) = (xp.value, yp.value, ap.value)
                        for pl in ranges[part] {
                            let inBase = pl &* h &* w, outBase = pl &* oh &* ow
                            for i in 0..<oh {
                                let h0 = max(i &* s &- p, 0), h1 = min(i &* s &- p &+ k, h)
                                for j in 0..<ow {
                                    let w0 = max(j &* s &- p, 0), w1 = min(j &* s &- p &+ k, w)
                                    var best = -T.infinity
                                    var bestIndex = h0 &* w &+ w0
                                    for r in h0..<h1 {
                                        for c in w0..<w1 {
                                            let v = xs[inBase &+ r &* w &+ c]
                                            let better = v > best || v != v  // strictly greater, or NaN
                                            best = better ? v : best
                                            bestIndex = better ? r &* w &+ c : bestIndex
                                        }
                                    }
                                    ys[outBase &+ i &* ow &+ j] = best
                                    am[outBase &+ i &* ow &+ j] = Int32(truncatingIfNeeded: bestIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, argmax)
    }

    /// The pooled values only (no indices), for inference. The running maximum has no data-dependent
    /// branch (a branchy scan ran 3x slower on real activations); a NaN anywhere in a window makes the
    /// output NaN, as in `forward`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forwardValues<T: TensorScalar>(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        let outShape = try outputShape(for: x.shape)
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        var y = Tensor<T>(zeros: outShape)
        let (k, s, p) = (kernel, stride, padding)
        x.storage.withUnsafeBufferPointer { xs in
            y.storage.withUnsafeMutableBufferPointer { ys in
                let xp = UnsafeSendable(xs.baseAddress!), yp = UnsafeSendable(ys.baseAddress!)
                let ranges = Parallel.chunks(planes, minimum: 8)
                Parallel.forEach(ranges.count) { part in
                    let (xs, ys) = (xp.value, yp.value)
                    for pl in ranges[part] {
                        let inBase = pl &* h &* w, outBase = pl &* oh &* ow
                        for i in 0..<oh {
                            let h0 = max(i &* s &- p, 0), h1 = min(i &* s &- p &+ k, h)
                            for j in 0..<ow {
                                let w0 = max(j &* s &- p, 0), w1 = min(j &* s &- p &+ k, w)
                                var best = -T.infinity
                                var sawNaN = false  // rare, so this branch predicts well
                                for r in h0..<h1 {
                                    for c in w0..<w1 {
                                        let v = xs[inBase &+ r &* w &+ c]
                                        best = v > best ? v : best
                                        if v != v { sawNaN = true }
                                    }
                                }
                                ys[outBase &+ i &* ow &+ j] = sawNaN ? .nan : best
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// ∂L/∂x: each output gradient is added to the input element that won its window.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: TensorScalar>(gradOutput dy: Tensor<T>, argmax: [Int32], inputShape: [Int]) -> Tensor<T> {
        var dx = Tensor<T>(zeros: inputShape)
        let planes = inputShape[0] * inputShape[1]
        let inPlane = inputShape[2] * inputShape[3]
        let outPlane = dy.count / max(1, planes)
        for pl in 0..<planes {
            for j in 0..<outPlane {
                let k = pl * outPlane + j
                dx.storage[pl * inPlane + Int(argmax[k])] += dy.storage[k]
            }
        }
        return dx
    }
}
