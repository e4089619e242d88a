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
        return [
            shape[0], shape[1], (shape[2] + 2 * padding - kernel) / stride + 1,
            (shape[3] + 2 * padding - kernel) / stride + 1,
        ]
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
        pool(x, into: &y, indices: &argmax, planes: planes, h: h, w: w, oh: oh, ow: ow)
        return (y, argmax)
    }

    /// The pooled values only (no indices), for inference.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forwardValues<T: TensorScalar>(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        let outShape = try outputShape(for: x.shape)
        let (h, w, oh, ow) = (x.shape[2], x.shape[3], outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        var y = Tensor<T>(zeros: outShape)
        var none: [Int32] = []
        pool(x, into: &y, indices: &none, planes: planes, h: h, w: w, oh: oh, ow: ow)
        return y
    }

    /// Pools every (n, c) plane, planes split across workers; fills `indices` unless it is empty.
    private func pool<T: TensorScalar>(
        _ x: Tensor<T>, into y: inout Tensor<T>, indices: inout [Int32], planes: Int, h: Int, w: Int, oh: Int, ow: Int
    ) {
        let (k, s, p) = (kernel, stride, padding)
        x.storage.withUnsafeBufferPointer { xs in
            y.storage.withUnsafeMutableBufferPointer { ys in
                indices.withUnsafeMutableBufferPointer { am in
                    guard let xBase = xs.baseAddress, let yBase = ys.baseAddress, !xs.isEmpty, !ys.isEmpty else {
                        return
                    }
                    let xp = UnsafeSendable(xBase), yp = UnsafeSendable(yBase)
                    let ap = UnsafeSendable(am.isEmpty ? nil : am.baseAddress)
                    let ranges = Parallel.chunks(planes, minimum: 8)
                    Parallel.forEach(ranges.count) { part in
                        for pl in ranges[part] {
                            T.maxPoolPlane(
                                xp.value + pl &* h &* w, height: h, width: w, yp.value + pl &* oh &* ow,
                                ap.value.map { $0 + pl &* oh &* ow }, outHeight: oh, outWidth: ow, kernel: k,
                                stride: s, padding: p)
                        }
                    }
                }
            }
        }
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
