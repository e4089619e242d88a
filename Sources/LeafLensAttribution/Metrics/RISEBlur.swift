import Foundation
import LeafLensMath

/// The insertion substrate of RISE's evaluation: `conv2d(x, gkern(11, 5), padding=5)`.
///
/// `gkern(klen = 11, nsig = 5)` is a unit impulse at the centre of an 11×11 float64 array filtered by
/// scipy's `gaussian_filter(σ = 5)` — mode "reflect" (… c b a | a b c … | … c b a), truncate 4, so the
/// radius is ⌊4·5 + ½⌋ = 20 > 5 and the reflected tails fold back into the 11 taps (flatter than a cut
/// Gaussian; the mass stays 1). The 2-D filter of an impulse is the outer product k1 ⊗ k1 of the 1-D
/// filtered impulse, cast to float32 and applied per channel (channel c → c only) with **zero padding**
/// of 5, so borders are pulled toward 0.
public enum RISEBlur {
    public static let kernelSize = 11
    public static let sigma = 5.0

    /// The 1-D filtered impulse k1 (float64, 11 values, sum 1).
    public static let kernel1D: [Double] = {
        let radius = Int(4 * sigma + 0.5)
        var weights = (-radius...radius).map { x in exp(-0.5 / (sigma * sigma) * Double(x * x)) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        let n = kernelSize, centre = kernelSize / 2
        // out[i] = Σ_t w[t] · in[reflect(i + t)], and only in[centre] = 1.
        return (0..<n).map { i in
            var sum = 0.0
            for t in -radius...radius where reflect(i + t, count: n) == centre { sum += weights[t + radius] }
            return sum
        }
    }()

    /// The float32 11×11 kernel, row-major.
    public static let kernel2D: [Float] = kernel1D.flatMap { a in kernel1D.map { b in Float(a * b) } }

    /// scipy "reflect": the edge sample is repeated (period 2n).
    static func reflect(_ i: Int, count n: Int) -> Int {
        let m = ((i % (2 * n)) + 2 * n) % (2 * n)
        return m < n ? m : 2 * n - 1 - m
    }

    /// The blurred copy of `[N, C, H, W]`; each output is Σ over the 11×11 window (zero outside),
    /// accumulated in Double and rounded once.
    public static func blur<Scalar: TensorScalar>(_ image: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard image.rank == 4 else { throw MetricError.shapeMismatch("blur takes [N, C, H, W], got \(image.shape)") }
        let (planes, h, w) = (image.shape[0] * image.shape[1], image.shape[2], image.shape[3])
        let k = kernelSize, r = kernelSize / 2
        let weights = kernel2D.map(Double.init)
        var out = [Scalar](repeating: 0, count: image.count)
        image.storage.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                for p in 0..<planes {
                    let base = p * h * w
                    for y in 0..<h {
                        for xo in 0..<w {
                            var sum = 0.0
                            for dy in max(0, r - y)..<min(k, h + r - y) {
                                let row = base + (y + dy - r) * w
                                for dx in max(0, r - xo)..<min(k, w + r - xo) {
                                    sum += weights[dy * k + dx] * Double(x[row + xo + dx - r])
                                }
                            }
                            o[base + y * w + xo] = Scalar(sum)
                        }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: image.shape, storage: out)
    }
}
