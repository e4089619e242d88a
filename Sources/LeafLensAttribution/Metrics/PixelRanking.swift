import Foundation
import LeafLensMath

/// The per-pixel map every perturbation metric ranks pixels by, and the order it gives.
///
/// The map is the **channel-summed signed attribution**: for `[1, C, H, W]` (or `[C, H, W]`)
/// m[y, x] = Σ_c a[c, y, x], summed sequentially over c in Float (what `x.sum(axis=1)` does in numpy).
/// A map at a lower resolution (Grad-CAM's `[1, 1, h, w]`) is first summed, then upsampled to H×W with
/// `upsample` (bilinear by default, LeafLens' Grad-CAM default).
public enum PixelRanking {
    /// How pixels with equal map values are ordered. RISE's reference reverses numpy's default,
    /// unstable `argsort`, whose tie order depends on the CPU and numpy build (on the reference machine
    /// it gave ascending index for three equal values of a 16-pixel map, descending index inside
    /// 32×32 constant blocks of a 224×224 map), so no fixed rule reproduces it everywhere.
    /// LeafLens defaults to `ascendingIndex` (deterministic); tie-free maps rank identically either way.
    public enum TieOrder: String, CaseIterable, Sendable {
        /// Descending value, ties in descending flat index: the reverse of a stable ascending argsort
        /// (`np.argsort(kind="stable")[::-1]`), which is RISE's order whenever numpy's sort is stable.
        case reversedStableArgsort
        /// Descending value, ties in ascending flat (row-major) index.
        case ascendingIndex
    }

    /// The H·W ranking map (row-major) of `attribution` for an image of `height`×`width`.
    public static func map<Scalar: TensorScalar>(
        _ attribution: Tensor<Scalar>, height: Int, width: Int, upsample: UpsampleMode = .bilinear
    ) throws -> [Float] {
        let shape = attribution.rank == 4 ? attribution.shape : [1] + attribution.shape
        guard shape.count == 4, shape[0] == 1, shape.allSatisfy({ $0 > 0 }) else {
            throw MetricError.shapeMismatch(
                "an attribution for one image must be [1, C, h, w] or [C, h, w], got \(attribution.shape)")
        }
        let (channels, h, w) = (shape[1], shape[2], shape[3])
        var summed = [Float](repeating: 0, count: h * w)
        attribution.storage.withUnsafeBufferPointer { a in
            for c in 0..<channels {
                for i in 0..<(h * w) { summed[i] += Float(a[c * h * w + i]) }
            }
        }
        if h == height && w == width { return summed }
        guard upsample != .none else {
            throw MetricError.shapeMismatch(
                "the attribution map is \(h)×\(w) but the image is \(height)×\(width), and upsampling is off")
        }
        let small = Tensor<Float>(uncheckedShape: [1, 1, h, w], storage: summed)
        return try Upsample.resize(small, to: [height, width], mode: upsample).storage
    }

    /// Pixel indices by decreasing map value (highest first), ties as `ties` says. NaN ranks lowest.
    public static func order(_ map: [Float], ties: TieOrder = .ascendingIndex) -> [Int] {
        let key = map.map { $0.isNaN ? -Float.infinity : $0 }
        switch ties {
        case .reversedStableArgsort:
            return map.indices.sorted { key[$0] != key[$1] ? key[$0] > key[$1] : $0 > $1 }
        case .ascendingIndex:
            return map.indices.sorted { key[$0] != key[$1] ? key[$0] > key[$1] : $0 < $1 }
        }
    }
}

/// Softmax probabilities of one row of logits, computed in Double (max subtracted first).
func softmaxRow<Scalar: TensorScalar>(_ logits: ArraySlice<Scalar>) -> [Double] {
    let values = logits.map(Double.init)
    let top = values.max() ?? 0
    let exps = values.map { exp($0 - top) }
    let total = exps.reduce(0, +)
    return exps.map { $0 / total }
}

/// Row-wise softmax probability of `column` (or of each row's own column) from `[rows, K]` outputs.
func probabilities<Scalar: TensorScalar>(_ outputs: Tensor<Scalar>, columns: [Int]) throws -> [Double] {
    guard outputs.rank == 2, outputs.shape[0] == columns.count else {
        throw MetricError.shapeMismatch("model returned \(outputs.shape) for \(columns.count) inputs")
    }
    let k = outputs.shape[1]
    return columns.enumerated().map { row, column in
        softmaxRow(outputs.storage[(row * k)..<((row + 1) * k)])[column]
    }
}

/// Index of the largest value, the first on ties (as `argmax` in PyTorch and numpy).
func argmax<Scalar: Comparable>(_ values: ArraySlice<Scalar>) -> Int {
    var best = values.startIndex
    for i in values.indices where values[i] > values[best] { best = i }
    return best - values.startIndex
}
