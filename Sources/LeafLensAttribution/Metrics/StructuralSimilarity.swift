import Foundation
import LeafLensMath

/// The structural similarity index (SSIM; Wang, Bovik, Sheikh & Simoncelli 2004) of a map to a
/// reference map, as used to say how close an approximate attribution map is to the exact one.
///
/// For each position p whose 11 × 11 window lies inside the map ("valid" positions, as in Wang et al.'s
/// `ssim_index.m`; no padding), with Gaussian weights w (σ = 1.5, normalized to sum 1) over the window:
///
///     μx = Σ w·x,  σx² = Σ w·x² − μx²,  σxy = Σ w·x·y − μx·μy   (likewise μy, σy²)
///     SSIM(p) = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))
///     C1 = (K1·L)², C2 = (K2·L)², K1 = 0.01, K2 = 0.03
///
/// and the index is the mean of SSIM(p) over the valid positions. L, the data range, is
/// max − min of the **reference** map (an attribution map has no fixed range; the exact map's is the
/// one that does not move with the approximation); a constant reference uses L = 1. The variances are
/// the weighted population ones (divided by Σw = 1, not N − 1).
/// This equals scikit-image's `structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=L)` on 2-D maps (its reflect-padded border is cropped
/// before the mean, which leaves exactly the valid positions).
///
/// Maps `[H, W]`, `[C, H, W]` or `[1, C, H, W]` (H, W ≥ 11); channels are **summed** first, so an
/// attribution is compared as the one map LeafLens draws and scores (for windows over all channels the
/// channels of an occlusion map are equal and the sum changes nothing: SSIM is scale-invariant when L
/// scales too). Computed in Double with separable filtering (a direct per-window reference lives in
/// the tests).
public enum StructuralSimilarity {
    public static let windowSize = 11
    public static let sigma = 1.5
    public static let k1 = 0.01, k2 = 0.03

    /// The mean SSIM of `map` to `reference` (same shape), in [−1, 1]; 1 iff the maps are equal.
    public static func index(_ map: Tensor<Float>, reference: Tensor<Float>) throws(AttributionError) -> Double {
        guard map.shape == reference.shape else {
            throw .shapeMismatch("SSIM compares maps of one shape, got \(map.shape) and \(reference.shape)")
        }
        let (height, width, x) = try channelSum(map)
        let (_, _, y) = try channelSum(reference)
        return index(x, y, height: height, width: width)
    }

    /// The 1-D Gaussian weights g(−5…5) ∝ exp(−i²/2σ²), summing to 1 (w(i, j) = g(i)·g(j)).
    public static var weights: [Double] {
        let radius = windowSize / 2
        let raw = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let sum = raw.reduce(0, +)
        return raw.map { $0 / sum }
    }

    /// `[H, W]` row-major in Double, channels summed.
    static func channelSum(_ map: Tensor<Float>) throws(AttributionError) -> (Int, Int, [Double]) {
        let shape = map.shape
        let leadingOK =
            shape.count == 2 || shape.count == 3 || (shape.count == 4 && shape[0] == 1)
        guard leadingOK, shape.count >= 2 else {
            throw .shapeMismatch("SSIM needs a map [H, W], [C, H, W] or [1, C, H, W], got \(shape)")
        }
        let (height, width) = (shape[shape.count - 2], shape[shape.count - 1])
        guard height >= windowSize, width >= windowSize else {
            throw .shapeMismatch("SSIM needs maps of at least \(windowSize)×\(windowSize), got \(height)×\(width)")
        }
        let area = height * width
        var sum = [Double](repeating: 0, count: area)
        for (i, v) in map.storage.enumerated() { sum[i % area] += Double(v) }
        return (height, width, sum)
    }

    static func index(_ x: [Double], _ y: [Double], height: Int, width: Int) -> Double {
        let range = (y.max() ?? 0) - (y.min() ?? 0)
        let l = range > 0 ? range : 1
        let c1 = (k1 * l) * (k1 * l), c2 = (k2 * l) * (k2 * l)
        let g = weights
        let xx = zip(x, x).map(*), yy = zip(y, y).map(*), xy = zip(x, y).map(*)
        let muX = filter(x, g, height, width), muY = filter(y, g, height, width)
        let sXX = filter(xx, g, height, width), sYY = filter(yy, g, height, width)
        let sXY = filter(xy, g, height, width)
        var total = 0.0
        for i in muX.indices {
            let (mx, my) = (muX[i], muY[i])
            let vx = sXX[i] - mx * mx, vy = sYY[i] - my * my, cxy = sXY[i] - mx * my
            total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        }
        return total / Double(muX.count)
    }

    /// The valid Gaussian-weighted means, `[H − 10, W − 10]`: rows first, then columns.
    static func filter(_ a: [Double], _ g: [Double], _ height: Int, _ width: Int) -> [Double] {
        let n = g.count
        let (outH, outW) = (height - n + 1, width - n + 1)
        var rows = [Double](repeating: 0, count: height * outW)
        for r in 0..<height {
            for c in 0..<outW {
                var s = 0.0
                for k in 0..<n { s += g[k] * a[r * width + c + k] }
                rows[r * outW + c] = s
            }
        }
        var out = [Double](repeating: 0, count: outH * outW)
        for r in 0..<outH {
            for c in 0..<outW {
                var s = 0.0
                for k in 0..<n { s += g[k] * rows[(r + k) * outW + c] }
                out[r * outW + c] = s
            }
        }
        return out
    }
}
