import LeafLensMath

/// How a low-resolution map `[N, C, h, w]` is brought to the input's resolution, following
/// PyTorch's `F.interpolate` as Captum's `LayerAttribution.interpolate` calls it.
public enum UpsampleMode: String, CaseIterable, Sendable {
    /// Keep the layer's resolution (Captum's LayerGradCam returns this).
    case none
    /// PyTorch's legacy `nearest` (not `nearest-exact`): src = min(⌊dst·(in/out)⌋, in − 1), in float32.
    case nearest
    /// `bilinear` with align_corners = false: src = (dst + ½)·in/out − ½, clamped at 0;
    /// i₀ = ⌊src⌋, i₁ = min(i₀ + 1, in − 1), λ = src − i₀. No antialiasing.
    case bilinear
}

public enum Upsample {
    /// Resizes the spatial axes (all axes after the first two) of `[N, C, spatial...]` to `size`.
    /// `nearest` accepts any number of spatial axes, `bilinear` exactly two; `none` returns the
    /// map unchanged whatever `size` is.
    @_specialize(where Scalar == Float)
    public static func resize<Scalar: TensorScalar>(
        _ map: Tensor<Scalar>, to size: [Int], mode: UpsampleMode
    ) throws(AttributionError) -> Tensor<Scalar> {
        if mode == .none { return map }
        guard map.rank >= 3, map.rank - 2 == size.count else {
            throw .shapeMismatch("cannot resize a map of shape \(map.shape) to spatial size \(size)")
        }
        guard size.allSatisfy({ $0 > 0 }), map.shape.allSatisfy({ $0 > 0 }) else {
            throw .shapeMismatch("cannot resize a map of shape \(map.shape) to spatial size \(size)")
        }
        switch mode {
        case .none: return map
        case .nearest: return nearest(map, to: size)
        case .bilinear:
            guard size.count == 2 else {
                throw .shapeMismatch("bilinear resizing needs [N, C, h, w], got \(map.shape)")
            }
            return bilinear(map, to: size)
        }
    }

    /// PyTorch's legacy nearest source index (float32 scale, as its CPU kernel computes it).
    static func nearestSource(_ dst: Int, input: Int, output: Int) -> Int {
        if input == output { return dst }
        let scale = Float(input) / Float(output)
        return min(Int((Float(dst) * scale).rounded(.down)), input - 1)
    }

    @_specialize(where Scalar == Float)
    static func nearest<Scalar: TensorScalar>(_ map: Tensor<Scalar>, to size: [Int]) -> Tensor<Scalar> {
        let inSpatial = Array(map.shape.dropFirst(2))
        let planes = map.shape[0] * map.shape[1]
        let inPlane = inSpatial.reduce(1, *), outPlane = size.reduce(1, *)
        // Source offset inside a plane for every output position, built axis by axis.
        var offsets = [0]
        for (axis, (input, output)) in zip(inSpatial, size).enumerated() {
            let stride = inSpatial[(axis + 1)...].reduce(1, *)
            let sources = (0..<output).map { nearestSource($0, input: input, output: output) * stride }
            offsets = offsets.flatMap { base in sources.map { base + $0 } }
        }
        var out = [Scalar](repeating: 0, count: planes * outPlane)
        out.withUnsafeMutableBufferPointer { o in
            map.storage.withUnsafeBufferPointer { m in
                offsets.withUnsafeBufferPointer { src in
                    for p in 0..<planes {
                        for j in 0..<outPlane { o[p * outPlane + j] = m[p * inPlane + src[j]] }
                    }
                }
            }
        }
        return (try? Tensor(shape: Array(map.shape.prefix(2)) + size, storage: out)) ?? map
    }

    /// Source indices and weights for one axis (align_corners = false), computed in the scalar type.
    static func linearTaps<Scalar: TensorScalar>(
        input: Int, output: Int, as _: Scalar.Type
    )
        -> [(i0: Int, i1: Int, lambda0: Scalar, lambda1: Scalar)]
    {
        let scale = Scalar(input) / Scalar(output)
        return (0..<output).map { dst in
            let source = max(scale * (Scalar(dst) + 0.5) - 0.5, 0)
            let i0 = min(Int(source.rounded(.down)), input - 1)
            let i1 = i0 < input - 1 ? i0 + 1 : i0
            let lambda1 = min(max(source - Scalar(i0), 0), 1)
            return (i0, i1, 1 - lambda1, lambda1)
        }
    }

    @_specialize(where Scalar == Float)
    static func bilinear<Scalar: TensorScalar>(_ map: Tensor<Scalar>, to size: [Int]) -> Tensor<Scalar> {
        let (h, w) = (map.shape[2], map.shape[3])
        let (outH, outW) = (size[0], size[1])
        let rows = linearTaps(input: h, output: outH, as: Scalar.self)
        let cols = linearTaps(input: w, output: outW, as: Scalar.self)
        let planes = map.shape[0] * map.shape[1]
        var out = [Scalar](repeating: 0, count: planes * outH * outW)
        out.withUnsafeMutableBufferPointer { o in
            map.storage.withUnsafeBufferPointer { m in
                for p in 0..<planes {
                    let plane = p * h * w
                    for y in 0..<outH {
                        let r = rows[y]
                        let top = plane + r.i0 * w, bottom = plane + r.i1 * w
                        for x in 0..<outW {
                            let c = cols[x]
                            o[(p * outH + y) * outW + x] =
                                r.lambda0 * (c.lambda0 * m[top + c.i0] + c.lambda1 * m[top + c.i1])
                                + r.lambda1 * (c.lambda0 * m[bottom + c.i0] + c.lambda1 * m[bottom + c.i1])
                        }
                    }
                }
            }
        }
        return (try? Tensor(shape: Array(map.shape.prefix(2)) + size, storage: out)) ?? map
    }
}
