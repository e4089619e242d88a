import CLeafLensKernels

/// Element-wise kernels with concrete Float and Double bodies.
///
/// Generic loops over `TensorScalar` ran unspecialised or compiled ReLU's select into a data-dependent
/// branch: 3–5 ms for a ReLU over ResNet's first activation (802,816 floats), against 0.09 ms for the
/// same loop written for a concrete type, which the compiler vectorises. So these few hot loops are
/// written out per type; they are short enough to read side by side.
extension Float {
    /// x ← max(x, 0); NaN kept (`x < 0` is false for NaN).
    public static func reluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = v < 0 ? 0 : v
        }
    }

    /// g ← g·[y > 0].
    public static func reluGradientInPlace(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, count: Int)
    {
        for i in 0..<count {
            let v = g[i]  // loaded unconditionally: `y > 0 ? g[i] : 0` compiled to a branch (40x slower)
            g[i] = y[i] > 0 ? v : 0
        }
    }
}

extension Double {
    /// x ← max(x, 0); NaN kept (`x < 0` is false for NaN).
    public static func reluInPlace(_ x: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = v < 0 ? 0 : v
        }
    }

    /// g ← g·[y > 0].
    public static func reluGradientInPlace(
        _ g: UnsafeMutablePointer<Double>, output y: UnsafePointer<Double>, count: Int
    ) {
        for i in 0..<count {
            let v = g[i]  // loaded unconditionally: `y > 0 ? g[i] : 0` compiled to a branch (40x slower)
            g[i] = y[i] > 0 ? v : 0
        }
    }
}

/// One plane of max pooling (k×k windows, stride s, padding p; padding never wins), writing the maximum
/// and, when `indices` is given, the flat index of the winning element: the first maximum in row-major
/// window order (a later element wins only if strictly greater, or NaN — PyTorch's CPU rule).
///
/// On real activations the comparison is unpredictable, so the scan has no data-dependent branch: the
/// running maximum is a select the compiler lowers to `maxss`, the index is blended with an integer mask,
/// and a window holding a NaN (rare) is redone by the plain rule.
@inline(__always)
func maxPoolPlaneKernel<T: BinaryFloatingPoint>(
    _ x: UnsafePointer<T>, height h: Int, width w: Int, _ y: UnsafeMutablePointer<T>,
    _ indices: UnsafeMutablePointer<Int32>?, outHeight oh: Int, outWidth ow: Int, kernel k: Int, stride s: Int,
    padding p: Int
) {
    for i in 0..<oh {
        let h0 = max(i &* s &- p, 0), h1 = min(i &* s &- p &+ k, h)
        for j in 0..<ow {
            let w0 = max(j &* s &- p, 0), w1 = min(j &* s &- p &+ k, w)
            var best = -T.infinity
            var bestIndex = h0 &* w &+ w0
            var sawNaN: UInt8 = 0
            for r in h0..<h1 {
                for c in w0..<w1 {
                    let index = r &* w &+ c
                    let v = x[index]
                    let mask = 0 &- Int(unsafeBitCast(v > best, to: UInt8.self))
                    bestIndex = (index & mask) | (bestIndex & ~mask)
                    best = v > best ? v : best
                    sawNaN |= unsafeBitCast(v != v, to: UInt8.self)
                }
            }
            if sawNaN != 0 {
                for r in h0..<h1 {
                    for c in w0..<w1 where x[r &* w &+ c].isNaN {
                        best = x[r &* w &+ c]
                        bestIndex = r &* w &+ c
                    }
                }
            }
            y[i &* ow &+ j] = best
            indices?[i &* ow &+ j] = Int32(truncatingIfNeeded: bestIndex)
        }
    }
}

extension Float {
    public static func maxPoolPlane(
        _ x: UnsafePointer<Float>, height: Int, width: Int, _ y: UnsafeMutablePointer<Float>,
        _ indices: UnsafeMutablePointer<Int32>?, outHeight: Int, outWidth: Int, kernel: Int, stride: Int, padding: Int
    ) {
        // ResNet's 3×3 / 2 / 1 pooling has a vectorised form (same maxima, same first-maximum indices).
        if kernel == 3, stride == 2, padding == 1,
            leaflens_smaxpool_3s2p1(x, height, width, y, indices, outHeight, outWidth) != 0
        {
            return
        }
        maxPoolPlaneKernel(
            x, height: height, width: width, y, indices, outHeight: outHeight, outWidth: outWidth, kernel: kernel,
            stride: stride, padding: padding)
    }
}

extension Double {
    public static func maxPoolPlane(
        _ x: UnsafePointer<Double>, height: Int, width: Int, _ y: UnsafeMutablePointer<Double>,
        _ indices: UnsafeMutablePointer<Int32>?, outHeight: Int, outWidth: Int, kernel: Int, stride: Int, padding: Int
    ) {
        maxPoolPlaneKernel(
            x, height: height, width: width, y, indices, outHeight: outHeight, outWidth: outWidth, kernel: kernel,
            stride: stride, padding: padding)
    }
}
