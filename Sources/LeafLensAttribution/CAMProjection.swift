/// The sign of a principal component is arbitrary (v and −v are both first right singular vectors);
/// pytorch-grad-cam takes whatever LAPACK's gesdd returns (its issue #315: maps flip with MKL). LeafLens
/// fixes it by a rule instead.
public enum ProjectionSign: String, CaseIterable, Sendable {
    /// The component v is signed so that Σ_c v_c ≥ 0, i.e. the projected map correlates non-negatively
    /// with the (centred) channel sum of what is projected: the map points where the activations are
    /// large. Exact ties (Σ_c v_c = 0) make the largest-magnitude map value positive. On the seeded
    /// ResNet18 and TinyCAM this is the sign numpy (OpenBLAS gesdd) returned (Fixtures/methods_cam).
    case alignedWithChannelSum
    /// The opposite of `alignedWithChannelSum`, for matching a LAPACK that chose the other sign.
    case opposite
}

/// pytorch-grad-cam's `get_2d_projection` for one example: X = the `[C, h·w]` input transposed to
/// (h·w)×C, each column (channel) centred by its spatial mean, projected on its first right singular
/// vector v: p = X·v, `[h·w]`.
///
/// Computed in Double from the smaller Gram matrix, by a cyclic Jacobi eigen-decomposition
/// (deterministic, no LAPACK): if h·w ≤ C, the top eigenpair (λ, u) of XXᵀ gives p = √λ·u (since
/// X·v = σu); otherwise the top eigenvector v of XᵀX gives p = X·v. NaN inputs count as 0.
enum CAMProjection {
    static func firstComponent(_ values: [Double], channels: Int, area: Int, sign: ProjectionSign) -> [Double] {
        // x[j][c], centred per channel.
        var x = [Double](repeating: 0, count: area * channels)
        for c in 0..<channels {
            var mean = 0.0
            for j in 0..<area {
                let v = values[c * area + j]
                mean += v.isNaN ? 0 : v
            }
            mean /= Double(area)
            for j in 0..<area {
                let v = values[c * area + j]
                x[j * channels + c] = (v.isNaN ? 0 : v) - mean
            }
        }
        var projection: [Double]
        var orientation: Double  // ∝ Σ_c v_c
        if area <= channels {
            var gram = [Double](repeating: 0, count: area * area)
            for j in 0..<area {
                for k in j..<area {
                    var s = 0.0
                    for c in 0..<channels { s += x[j * channels + c] * x[k * channels + c] }
                    gram[j * area + k] = s
                    gram[k * area + j] = s
                }
            }
            let (lambda, u) = SymmetricEigen.top(gram, n: area)
            let sigma = max(lambda, 0).squareRoot()
            projection = u.map { $0 * sigma }
            orientation = 0
            for j in 0..<area {
                var rowSum = 0.0
                for c in 0..<channels { rowSum += x[j * channels + c] }
                orientation += u[j] * rowSum
            }
        } else {
            var gram = [Double](repeating: 0, count: channels * channels)
            for c in 0..<channels {
                for d in c..<channels {
                    var s = 0.0
                    for j in 0..<area { s += x[j * channels + c] * x[j * channels + d] }
                    gram[c * channels + d] = s
                    gram[d * channels + c] = s
                }
            }
            let (_, v) = SymmetricEigen.top(gram, n: channels)
            projection = (0..<area).map { j in
                var s = 0.0
                for c in 0..<channels { s += x[j * channels + c] * v[c] }
                return s
            }
            orientation = v.reduce(0, +)
        }
        if orientation == 0, let peak = projection.max(by: { abs($0) < abs($1) }) { orientation = peak }
        let flip = (orientation < 0) != (sign == .opposite)
        return flip ? projection.map { -$0 } : projection
    }
}

/// Eigen-decomposition of a real symmetric matrix by cyclic Jacobi rotations, in Double.
///
/// Each rotation in the (p, q) plane zeroes a_pq: θ = (a_qq − a_pp)/(2a_pq), t = sgn(θ)/(|θ| + √(θ² + 1)),
/// c = 1/√(1 + t²), s = t·c; A ← JᵀAJ and V ← VJ with J_pp = J_qq = c, J_pq = s, J_qp = −s. Sweeps repeat
/// until the off-diagonal mass is below 1e−30 of the total (or 100 sweeps). The order of rotations is
/// fixed, so the result is deterministic on every machine with IEEE Double.
enum SymmetricEigen {
    /// All eigenvalues (unsorted, matching columns) and eigenvectors (column k = vector k, row-major `[n·n]`).
    static func decompose(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        var total = 0.0
        for value in a { total += value * value }
        if n < 2 || total == 0 { return ((0..<n).map { a[$0 * n + $0] }, v) }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
            if off <= 1e-30 * total { break }
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {  // columns p, q
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {  // rows p, q
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    a[p * n + q] = 0
                    a[q * n + p] = 0
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }

    /// The largest eigenvalue and its unit eigenvector (the first such column on ties).
    static func top(_ matrix: [Double], n: Int) -> (value: Double, vector: [Double]) {
        let (values, vectors) = decompose(matrix, n: n)
        guard n > 0 else { return (0, []) }
        var best = 0
        for k in 1..<max(n, 1) where values[k] > values[best] { best = k }
        return (values[best], (0..<n).map { vectors[$0 * n + best] })
    }
}
