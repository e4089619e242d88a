import LeafLensMath

/// Fully connected layer y = x·Wᵀ + b, `[N, in]` → `[N, out]`; `weight` is `[out, in]` as in PyTorch.
public struct Linear<T: TensorScalar>: Sendable {
    public var weight: Tensor<T>
    public var bias: Tensor<T>?

    public init(weight: Tensor<T>, bias: Tensor<T>?) throws(TensorError) {
        guard weight.rank == 2 else { throw .invalidShape(weight.shape) }
        if let bias, bias.shape != [weight.shape[0]] {
            throw .shapeMismatch(operation: "linear bias", expected: [weight.shape[0]], found: bias.shape)
        }
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// Each output is accumulated in Double and rounded to `T` once. The logits are what every
    /// perturbation method differences (Ablation-CAM's score drops, Score-CAM's softmax over masked
    /// scores, occlusion's drops): a float32 dot product over K inputs, summed in one chain as
    /// OpenBLAS's kernel does, put LeafLens's Ablation-CAM weights 2–4× farther from float64 than
    /// PyTorch's on the float64 fixtures (issue 17). The layer is small beside the convolutions
    /// (K·out multiply-adds per row).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        guard x.rank == 2, x.shape[1] == inFeatures else {
            throw .shapeMismatch(operation: "linear input", expected: [-1, inFeatures], found: x.shape)
        }
        let (n, k, out) = (x.shape[0], inFeatures, outFeatures)
        var y = Tensor<T>(zeros: [n, out])
        guard n > 0, k > 0 else {  // no products: the bias alone (and no pointers into empty storage)
            for i in 0..<n { for o in 0..<out { y.storage[i * out + o] = bias?.storage[o] ?? 0 } }
            return y
        }
        x.storage.withUnsafeBufferPointer { xs in
            weight.storage.withUnsafeBufferPointer { ws in
                y.storage.withUnsafeMutableBufferPointer { ys in
                    for i in 0..<n {
                        let row = xs.baseAddress! + i * k  // safe: n, k > 0 and n·k elements, checked above
                        for o in 0..<out {
                            ys[i * out + o] = T(
                                Self.dot(row, ws.baseAddress! + o * k, count: k)  // safe: weight is out·k > 0
                                    + Double(bias?.storage[o] ?? 0))
                        }
                    }
                }
            }
        }
        return y
    }

    /// Σ a[j]·b[j] in Double (four lanes, then their sum).
    @inline(__always)
    static func dot(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, count: Int) -> Double {
        var lanes = SIMD4<Double>()
        var j = 0
        while j + 4 <= count {
            lanes +=
                SIMD4(Double(a[j]), Double(a[j + 1]), Double(a[j + 2]), Double(a[j + 3]))
                * SIMD4(Double(b[j]), Double(b[j + 1]), Double(b[j + 2]), Double(b[j + 3]))
            j += 4
        }
        var sum = lanes.sum()
        while j < count {
            sum += Double(a[j]) * Double(b[j])
            j += 1
        }
        return sum
    }

    /// ∂L/∂x = dy·W. ACCUMULATES ∂L/∂W += dyᵀ·x and ∂L/∂b += Σ_n dy when `parameterGradients` is non-nil
    /// (then `input` is required).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(
        gradOutput dy: Tensor<T>, input: Tensor<T>?, parameterGradients: inout LinearGradients<T>?
    ) throws(TensorError) -> Tensor<T> {
        let n = dy.shape[0]
        guard dy.shape == [n, outFeatures] else {
            throw .shapeMismatch(operation: "linear backward", expected: [n, outFeatures], found: dy.shape)
        }
        var dx = Tensor<T>(zeros: [n, inFeatures])
        GEMM.serial(
            transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, alpha: 1,
            a: dy.storage, lda: outFeatures, b: weight.storage, ldb: inFeatures, beta: 0,
            c: &dx.storage, ldc: inFeatures)
        if parameterGradients != nil {
            guard let x = input, x.shape == [n, inFeatures] else {
                throw .shapeMismatch(
                    operation: "linear backward input", expected: [n, inFeatures], found: input?.shape ?? [])
            }
            var grads = parameterGradients ?? LinearGradients(weightShape: weight.shape, hasBias: bias != nil)
            GEMM.serial(
                transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, alpha: 1,
                a: dy.storage, lda: outFeatures, b: x.storage, ldb: inFeatures, beta: 1,
                c: &grads.weight.storage, ldc: inFeatures)
            if var b = grads.bias {
                for i in 0..<n { for o in 0..<outFeatures { b.storage[o] += dy.storage[i * outFeatures + o] } }
                grads.bias = b
            }
            parameterGradients = grads
        }
        return dx
    }
}

/// Parameter gradients of one Linear layer (accumulated).
public struct LinearGradients<T: TensorScalar>: Sendable {
    public var weight: Tensor<T>
    public var bias: Tensor<T>?
    public init(weightShape: [Int], hasBias: Bool) {
        weight = Tensor(zeros: weightShape)
        bias = hasBias ? Tensor(zeros: [weightShape[0]]) : nil
    }
}
