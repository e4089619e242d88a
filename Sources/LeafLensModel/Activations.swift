import LeafLensMath

/// ReLU: y = max(x, 0). Gradient mask is x > 0, so ReLU'(0) = 0 exactly as in PyTorch
/// (Captum's known answers depend on it). NaN propagates in the forward pass.
public enum ReLU {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: TensorScalar>(_ x: Tensor<T>) -> Tensor<T> {
        var y = x
        apply(&y)
        return y
    }

    /// In place: x ← max(x, 0). Used by the network on values nothing else reads.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func apply<T: TensorScalar>(_ x: inout Tensor<T>) {
        x.storage.withUnsafeMutableBufferPointer { v in
            if let base = v.baseAddress { T.reluInPlace(base, count: v.count) }
        }
    }

    /// In place: g ← g·[y > 0].
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backwardInPlace<T: TensorScalar>(_ g: inout Tensor<T>, output y: Tensor<T>) {
        g.storage.withUnsafeMutableBufferPointer { d in
            y.storage.withUnsafeBufferPointer { o in
                if let gBase = d.baseAddress, let out = o.baseAddress, d.count == o.count {
                    T.reluGradientInPlace(gBase, output: out, count: d.count)
                }
            }
        }
    }

    /// ∂L/∂x = dy·[y > 0]; uses the forward OUTPUT y (y > 0 ⇔ x > 0).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: TensorScalar>(gradOutput dy: Tensor<T>, output y: Tensor<T>) -> Tensor<T> {
        var dx = dy
        backwardInPlace(&dx, output: y)
        return dx
    }
}

/// Residual addition y = a + b (shapes equal). Backward passes dy to both inputs unchanged.
public enum ResidualAdd {
    /// In place: a ← a + b.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func add<T: TensorScalar>(_ b: Tensor<T>, into a: inout Tensor<T>) throws(TensorError) {
        guard a.shape == b.shape else {
            throw .shapeMismatch(operation: "residual add", expected: a.shape, found: b.shape)
        }
        a.storage.withUnsafeMutableBufferPointer { v in
            b.storage.withUnsafeBufferPointer { w in
                for i in 0..<v.count { v[i] += w[i] }
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: TensorScalar>(_ a: Tensor<T>, _ b: Tensor<T>) throws(TensorError) -> Tensor<T> {
        guard a.shape == b.shape else {
            throw .shapeMismatch(operation: "residual add", expected: a.shape, found: b.shape)
        }
        var y = a
        y.storage.withUnsafeMutableBufferPointer { v in
            b.storage.withUnsafeBufferPointer { w in
                for i in 0..<v.count { v[i] += w[i] }
            }
        }
        return y
    }
}

/// Global average pooling `[N, C, H, W]` → `[N, C]` (torchvision's AdaptiveAvgPool2d((1,1)) + flatten).
public enum GlobalAveragePool {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: TensorScalar>(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        guard x.rank == 4, x.shape[2] * x.shape[3] > 0 else { throw .invalidShape(x.shape) }
        let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        var y = Tensor<T>(zeros: [n, c])
        for i in 0..<(n * c) {
            var s: T = 0
            for j in 0..<plane { s += x.storage[i * plane + j] }
            y.storage[i] = s / T(plane)
        }
        return y
    }

    /// ∂L/∂x[n,c,h,w] = dy[n,c] / (H·W).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: TensorScalar>(gradOutput dy: Tensor<T>, inputShape: [Int]) -> Tensor<T> {
        let plane = inputShape[2] * inputShape[3]
        var dx = Tensor<T>(zeros: inputShape)
        for i in 0..<dy.count {
            let v = dy.storage[i] / T(plane)
            for j in 0..<plane { dx.storage[i * plane + j] = v }
        }
        return dx
    }
}
