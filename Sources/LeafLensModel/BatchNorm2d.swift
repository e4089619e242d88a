import Foundation
import LeafLensMath

/// Batch normalisation over the channels of `[N, C, H, W]` (PyTorch's BatchNorm2d, eps 1e-5, momentum 0.1).
///
/// Eval mode uses the running statistics and is a per-channel affine map:
///
///     y = γ·(x − μ_run)/√(σ²_run + ε) + β  =  x·scale + shift
///
/// Training mode normalises with the batch statistics (biased variance over N·H·W) and updates the running
/// ones as PyTorch does: μ_run ← (1−m)·μ_run + m·μ_B, σ²_run ← (1−m)·σ²_run + m·σ²_B·M/(M−1), M = N·H·W.
public struct BatchNorm2d<T: TensorScalar>: Sendable {
    public var weight: Tensor<T>  // γ [C]
    public var bias: Tensor<T>  // β [C]
    public var runningMean: Tensor<T>
    public var runningVar: Tensor<T>
    public var eps: T = 1e-5
    public var momentum: T = 0.1

    public init(weight: Tensor<T>, bias: Tensor<T>, runningMean: Tensor<T>, runningVar: Tensor<T>) throws(TensorError) {
        let c = weight.shape
        guard c.count == 1 else { throw .invalidShape(c) }
        for t in [bias, runningMean, runningVar] where t.shape != c {
            throw .shapeMismatch(operation: "batchnorm parameters", expected: c, found: t.shape)
        }
        self.weight = weight
        self.bias = bias
        self.runningMean = runningMean
        self.runningVar = runningVar
    }

    public var channels: Int { weight.count }

    /// Eval-mode affine coefficients: scale = γ/√(σ²+ε), shift = β − μ·scale (computed in the scalar type).
    public var scaleAndShift: (scale: [T], shift: [T]) {
        var scale = [T](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            // Rounded as PyTorch's CPU kernel does: (1/√(σ²+ε))·γ, then β − μ·scale.
            scale[c] = (1 / (runningVar.storage[c] + eps).squareRoot()) * weight.storage[c]
            shift[c] = bias.storage[c] - runningMean.storage[c] * scale[c]
        }
        return (scale, shift)
    }

    private func checkInput(_ shape: [Int]) throws(TensorError) {
        guard shape.count == 4, shape[1] == channels else {
            throw .shapeMismatch(operation: "batchnorm input", expected: [-1, channels, -1, -1], found: shape)
        }
    }

    // MARK: eval mode

    /// y = x·scale + shift per channel.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ x: Tensor<T>) throws(TensorError) -> Tensor<T> {
        try checkInput(x.shape)
        let (scale, shift) = scaleAndShift
        var y = x
        y.applyChannelAffine(scale: scale, shift: shift)
        return y
    }

    /// Eval-mode VJP: ∂L/∂x = dy·scale. ACCUMULATES ∂L/∂γ += Σ dy·x̂ and ∂L/∂β += Σ dy (x̂ from running
    /// statistics) when `parameterGradients` is non-nil; then `input` is required.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(
        gradOutput dy: Tensor<T>, input: Tensor<T>?, parameterGradients: inout BatchNormGradients<T>?
    ) throws(TensorError) -> Tensor<T> {
        try checkInput(dy.shape)
        let (scale, _) = scaleAndShift
        var dx = dy
        dx.applyChannelAffine(scale: scale, shift: nil)
        if parameterGradients != nil {
            guard let x = input, x.shape == dy.shape else {
                throw .shapeMismatch(
                    operation: "batchnorm backward input", expected: dy.shape, found: input?.shape ?? [])
            }
            var mean = [T](repeating: 0, count: channels), invStd = mean
            for c in 0..<channels {
                mean[c] = runningMean.storage[c]
                invStd[c] = 1 / (runningVar.storage[c] + eps).squareRoot()
            }
            accumulateAffineGradients(dy: dy, x: x, mean: mean, invStd: invStd, into: &parameterGradients)
        }
        return dx
    }

    // MARK: training mode

    /// Training-mode forward: normalises with batch statistics, updates the running statistics, and returns
    /// what the backward pass needs.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public mutating func forwardTraining(
        _ x: Tensor<T>
    ) throws(TensorError) -> (output: Tensor<T>, cache: BatchNormCache<T>) {
        try checkInput(x.shape)
        let (mean, variance) = x.channelMeanAndVariance()
        let m = x.count / channels
        var invStd = [T](repeating: 0, count: channels)
        for c in 0..<channels {
            invStd[c] = 1 / (variance[c] + eps).squareRoot()
            let unbiased = m > 1 ? variance[c] * T(m) / T(m - 1) : variance[c]
            runningMean.storage[c] = (1 - momentum) * runningMean.storage[c] + momentum * mean[c]
            runningVar.storage[c] = (1 - momentum) * runningVar.storage[c] + momentum * unbiased
        }
        // (v − μ)·invStd·γ + β as one affine map per channel.
        var scale = [T](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = invStd[c] * weight.storage[c]
            shift[c] = bias.storage[c] - mean[c] * scale[c]
        }
        var y = x
        y.applyChannelAffine(scale: scale, shift: shift)
        return (y, BatchNormCache(mean: mean, invStd: invStd))
    }

    /// Training-mode VJP, with x̂ = (x − μ_B)·invStd and M = N·H·W:
    ///
    ///     ∂L/∂x = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
    ///
    /// ACCUMULATES ∂L/∂γ += Σ dy·x̂ and ∂L/∂β += Σ dy when `parameterGradients` is non-nil.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backwardTraining(
        gradOutput dy: Tensor<T>, input x: Tensor<T>, cache: BatchNormCache<T>,
        parameterGradients: inout BatchNormGradients<T>?
    ) throws(TensorError) -> Tensor<T> {
        try checkInput(dy.shape)
        guard x.shape == dy.shape else {
            throw .shapeMismatch(operation: "batchnorm backward input", expected: dy.shape, found: x.shape)
        }
        let n = x.shape[0], plane = x.shape[2] * x.shape[3]
        let m = T(n * plane)
        var sumDy = [T](repeating: 0, count: channels), sumDyXhat = sumDy
        for b in 0..<n {
            for c in 0..<channels {
                let base = (b * channels + c) * plane
                var s: T = 0, sx: T = 0
                for j in 0..<plane {
                    let g = dy.storage[base + j]
                    s += g
                    sx += g * (x.storage[base + j] - cache.mean[c]) * cache.invStd[c]
                }
                sumDy[c] += s
                sumDyXhat[c] += sx
            }
        }
        var dx = dy
        let g = weight.storage
        dx.storage.withUnsafeMutableBufferPointer { d in
            for b in 0..<n {
                for c in 0..<channels {
                    let base = (b * channels + c) * plane
                    let k = g[c] * cache.invStd[c] / m
                    for j in 0..<plane {
                        let xhat = (x.storage[base + j] - cache.mean[c]) * cache.invStd[c]
                        d[base + j] = k * (m * d[base + j] - sumDy[c] - xhat * sumDyXhat[c])
                    }
                }
            }
        }
        if parameterGradients != nil {
            var grads = parameterGradients ?? BatchNormGradients(channels: channels)
            for c in 0..<channels {
                grads.weight.storage[c] += sumDyXhat[c]
                grads.bias.storage[c] += sumDy[c]
            }
            parameterGradients = grads
        }
        return dx
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func accumulateAffineGradients(
        dy: Tensor<T>, x: Tensor<T>, mean: [T], invStd: [T], into gradients: inout BatchNormGradients<T>?
    ) {
        var grads = gradients ?? BatchNormGradients(channels: channels)
        let n = x.shape[0], plane = x.shape[2] * x.shape[3]
        for b in 0..<n {
            for c in 0..<channels {
                let base = (b * channels + c) * plane
                var sg: T = 0, sb: T = 0
                for j in 0..<plane {
                    let g = dy.storage[base + j]
                    sg += g * (x.storage[base + j] - mean[c]) * invStd[c]
                    sb += g
                }
                grads.weight.storage[c] += sg
                grads.bias.storage[c] += sb
            }
        }
        gradients = grads
    }

    /// Folds eval-mode BatchNorm into the convolution before it: w'[o] = w[o]·scale[o],
    /// b'[o] = b[o]·scale[o] + shift[o]. The folded convolution gives the BN output directly.
    ///
    /// scale, shift and the products are computed in Double and rounded to `T` once. Folding in the scalar
    /// type rounds scale first and then every product, and each weight carries that rounding into every sum
    /// it enters: measured on the fixtures' seeded resnet50 with torch's float32 kernels, folding in float32
    /// put layer4 15% farther from float64 than the unfolded convolution + BatchNorm (9.9e−7 against
    /// 8.6e−7), folding in Double 14% nearer (7.4e−7) (issue 17; README, "Exact in float64").
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func folded(into conv: Conv2d<T>) throws(TensorError) -> Conv2d<T> {
        guard conv.outChannels == channels else {
            throw .shapeMismatch(operation: "fold batchnorm", expected: [channels], found: [conv.outChannels])
        }
        var scale = [Double](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            scale[c] = Double(weight.storage[c]) / (Double(runningVar.storage[c]) + Double(eps)).squareRoot()
            shift[c] = Double(bias.storage[c]) - Double(runningMean.storage[c]) * scale[c]
        }
        // One pass from the unfolded weights into the new storage (no copy first, then scale in place).
        let count = conv.weight.count, per = count / channels
        let values = conv.weight.storage.withUnsafeBufferPointer { source in
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                for o in 0..<channels {
                    for j in o * per..<(o + 1) * per { out[j] = T(Double(source[j]) * scale[o]) }
                }
                initialized = count
            }
        }
        let w = try Tensor(shape: conv.weight.shape, storage: values)
        var b = Tensor<T>(zeros: [channels])
        for o in 0..<channels { b.storage[o] = T(Double(conv.bias?.storage[o] ?? 0) * scale[o] + shift[o]) }
        return try Conv2d(weight: w, bias: b, stride: conv.stride, padding: conv.padding)
    }
}

/// Batch statistics saved by the training-mode forward pass.
public struct BatchNormCache<T: TensorScalar>: Sendable {
    public var mean: [T]
    public var invStd: [T]
}

/// Parameter gradients of one BatchNorm layer (accumulated).
public struct BatchNormGradients<T: TensorScalar>: Sendable {
    public var weight: Tensor<T>
    public var bias: Tensor<T>
    public init(channels: Int) {
        weight = Tensor(zeros: [channels])
        bias = Tensor(zeros: [channels])
    }
}

extension Tensor {
    /// In place, per channel c of an `[N, C, ...]` tensor: v ← v·scale[c] + shift[c].
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    mutating func applyChannelAffine(scale: [Scalar], shift: [Scalar]?) {
        let n = shape[0], c = shape[1]
        let plane = count / Swift.max(1, n * c)
        storage.withUnsafeMutableBufferPointer { ys in
            for b in 0..<n {
                for ch in 0..<c {
                    let base = (b &* c &+ ch) &* plane
                    let k = scale[ch], d = shift?[ch] ?? 0
                    for j in 0..<plane { ys[base &+ j] = ys[base &+ j] * k + d }
                }
            }
        }
    }

    /// Per-channel mean and biased variance over N and the spatial axes of `[N, C, H, W]`
    /// (two-pass, accumulated in Double).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func channelMeanAndVariance() -> ([Scalar], [Scalar]) {
        let n = shape[0], c = shape[1]
        let plane = count / Swift.max(1, n * c)
        let m = Double(n * plane)
        var mean = [Scalar](repeating: 0, count: c), variance = mean
        for ch in 0..<c {
            var s = 0.0
            for b in 0..<n {
                let base = (b * c + ch) * plane
                for j in 0..<plane { s += Double(storage[base + j]) }
            }
            let mu = s / m
            var v = 0.0
            for b in 0..<n {
                let base = (b * c + ch) * plane
                for j in 0..<plane {
                    let d = Double(storage[base + j]) - mu
                    v += d * d
                }
            }
            mean[ch] = Scalar(mu)
            variance[ch] = Scalar(v / m)
        }
        return (mean, variance)
    }
}
