/// The interpretable models KernelShap and Lime fit, in Double: rows z_i `[n][M]`, targets y `[n]`,
/// sample weights w `[n]`, with an intercept (scikit-learn's `fit_intercept=True`).
///
/// Both centre by the weighted means (x̄ = Σ w_i z_i / Σ w, ȳ likewise), so the intercept is
/// ȳ − x̄·β, as scikit-learn's `_preprocess_data` does.

/// Weighted least squares: β minimises Σ w_i (y_i − b − z_i·β)². The centred problem scaled by √w,
/// X̃ = diag(√w)(Z − x̄), ỹ = diag(√w)(y − ȳ), is solved through X̃'s singular value decomposition by
/// one-sided Jacobi rotations (Hestenes): β = Σ_{σ_k > 1e−6·σ_max} (u_kᵀỹ/σ_k)·v_k — the minimum-norm
/// solution when the coalitions leave X̃ rank-deficient, which is what LAPACK gelsd (scikit-learn's solver)
/// returns. Working on X̃ itself, not on the normal equations X̃ᵀX̃, keeps the error at float64 rounding
/// times cond(X̃) rather than cond(X̃)²: KernelShap's endpoint weight 1e6 makes cond(X̃) about 10³
/// (the normal equations had left it 2e−9 from scikit-learn's float64 fit; Float64ParityTests).
/// gelsd's cut-off is relative to the singular values of the √w-scaled data in float32, so the two can
/// disagree on which near-zero directions to drop (not for full-rank problems).
enum WeightedLeastSquares {
    static func fit(_ z: [[Double]], _ y: [Double], weights w: [Double]) -> (coefficients: [Double], intercept: Double)
    {
        let n = z.count, m = z.first?.count ?? 0
        let scaled = scaledCentred(z, y, w)
        var x = scaled.x
        let (r, xbar, ybar) = (scaled.r, scaled.xbar, scaled.ybar)
        let (columns, v) = OneSidedJacobi.orthogonalise(&x, rows: n, columns: m)
        let sigma = columns.map { $0.squareRoot() }
        let top = sigma.max() ?? 0
        var beta = [Double](repeating: 0, count: m)
        for k in 0..<m where sigma[k] > 1e-6 * top && sigma[k] > 0 {
            // u_kᵀỹ/σ_k = (x̃_kᵀỹ)/σ_k², x̃_k the k-th orthogonalised column (= σ_k·u_k).
            var proj = 0.0
            for i in 0..<n { proj += x[k * n + i] * r[i] }
            let scale = proj / columns[k]
            for j in 0..<m { beta[j] += scale * v[j * m + k] }
        }
        var intercept = ybar
        for j in 0..<m { intercept -= xbar[j] * beta[j] }
        return (beta, intercept)
    }

    /// X̃ = diag(√w)(Z − x̄) column-major (column j at j·n) and ỹ = diag(√w)(y − ȳ), with the weighted means.
    static func scaledCentred(
        _ z: [[Double]], _ y: [Double], _ w: [Double]
    ) -> (
        x: [Double], r: [Double], xbar: [Double], ybar: Double
    ) {
        let n = z.count, m = z.first?.count ?? 0
        let (xbar, ybar) = weightedMeans(z, y, w)
        var x = [Double](repeating: 0, count: n * m)
        var r = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let s = w[i].squareRoot()
            for j in 0..<m { x[j * n + i] = (z[i][j] - xbar[j]) * s }
            r[i] = (y[i] - ybar) * s
        }
        return (x, r, xbar, ybar)
    }

    static func weightedMeans(_ z: [[Double]], _ y: [Double], _ w: [Double]) -> ([Double], Double) {
        let m = z.first?.count ?? 0
        let total = w.reduce(0, +)
        var xbar = [Double](repeating: 0, count: m)
        var ybar = 0.0
        for i in z.indices {
            for j in 0..<m { xbar[j] += w[i] * z[i][j] }
            ybar += w[i] * y[i]
        }
        return (xbar.map { $0 / total }, ybar / total)
    }
}

/// scikit-learn's `Lasso(alpha)` with `sample_weight`: the weights are rescaled to sum to n, the data
/// centred by weighted means and scaled by √w, and
///
///     β = argmin ½‖ỹ − X̃β‖² + α·n·‖β‖₁
///
/// by cyclic coordinate descent from β = 0 (β_j ← S(X̃_jᵀr_j, α·n)/‖X̃_j‖², S the soft threshold), iterated
/// until no coefficient moves by more than 1e−14·max|β| (or 100 000 sweeps): the exact minimiser, where
/// scikit-learn stops at its duality-gap tolerance.
enum WeightedLasso {
    static func fit(
        _ z: [[Double]], _ y: [Double], weights: [Double], alpha: Double
    )
        -> (coefficients: [Double], intercept: Double)
    {
        let n = z.count, m = z.first?.count ?? 0
        let total = weights.reduce(0, +)
        let w = weights.map { $0 * Double(n) / total }
        let scaled = WeightedLeastSquares.scaledCentred(z, y, w)
        let (x, xbar, ybar) = (scaled.x, scaled.xbar, scaled.ybar)
        var r = scaled.r
        let norms = (0..<m).map { j in (0..<n).reduce(0.0) { $0 + x[j * n + $1] * x[j * n + $1] } }
        let threshold = alpha * Double(n)
        var beta = [Double](repeating: 0, count: m)
        for _ in 0..<100_000 {
            var largestChange = 0.0, largest = 0.0
            for j in 0..<m where norms[j] > 0 {
                let old = beta[j]
                var rho = 0.0
                for i in 0..<n { rho += x[j * n + i] * (r[i] + old * x[j * n + i]) }
                let new =
                    rho > threshold ? (rho - threshold) / norms[j] : rho < -threshold ? (rho + threshold) / norms[j] : 0
                if new != old {
                    for i in 0..<n { r[i] -= (new - old) * x[j * n + i] }
                    beta[j] = new
                }
                largestChange = max(largestChange, abs(new - old))
                largest = max(largest, abs(new))
            }
            if largestChange <= 1e-14 * largest || largest == 0 { break }
        }
        var intercept = ybar
        for j in 0..<m { intercept -= xbar[j] * beta[j] }
        return (beta, intercept)
    }
}

/// One-sided Jacobi (Hestenes) orthogonalisation of a column-major `rows × columns` matrix A: plane
/// rotations applied to pairs of columns until every pair is orthogonal to working precision, so that
/// A·V = U·Σ with the final columns σ_k·u_k. Returns the squared column norms σ_k² and V (`columns ×
/// columns`, row-major: V[j, k] at j·columns + k); A is overwritten by U·Σ. Accurate to rounding
/// relative to each σ_k (Demmel & Veselić 1992), which the normal equations are not.
enum OneSidedJacobi {
    static func orthogonalise(_ a: inout [Double], rows n: Int, columns m: Int) -> (norms: [Double], v: [Double]) {
        var v = [Double](repeating: 0, count: m * m)
        for k in 0..<m { v[k * m + k] = 1 }
        for _ in 0..<60 {
            var rotated = false
            for p in 0..<m {
                for q in (p + 1)..<max(m, p + 1) {
                    var alpha = 0.0, beta = 0.0, gamma = 0.0
                    for i in 0..<n {
                        let ap = a[p * n + i], aq = a[q * n + i]
                        alpha += ap * ap
                        beta += aq * aq
                        gamma += ap * aq
                    }
                    guard gamma != 0, abs(gamma) > 1e-15 * (alpha * beta).squareRoot() else { continue }
                    rotated = true
                    let zeta = (beta - alpha) / (2 * gamma)
                    let t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
                    let c = 1 / (1 + t * t).squareRoot(), s = c * t
                    for i in 0..<n {
                        let ap = a[p * n + i], aq = a[q * n + i]
                        a[p * n + i] = c * ap - s * aq
                        a[q * n + i] = s * ap + c * aq
                    }
                    for j in 0..<m {
                        let vp = v[j * m + p], vq = v[j * m + q]
                        v[j * m + p] = c * vp - s * vq
                        v[j * m + q] = s * vp + c * vq
                    }
                }
            }
            if !rotated { break }
        }
        let norms = (0..<m).map { k in (0..<n).reduce(0.0) { $0 + a[k * n + $1] * a[k * n + $1] } }
        return (norms, v)
    }
}
