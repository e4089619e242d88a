/// The interpretable models KernelShap and Lime fit, in Double: rows z_i `[n][M]`, targets y `[n]`,
/// sample weights w `[n]`, with an intercept (scikit-learn's `fit_intercept=True`).
///
/// Both centre by the weighted means (x̄ = Σ w_i z_i / Σ w, ȳ likewise), so the intercept is
/// ȳ − x̄·β, as scikit-learn's `_preprocess_data` does.

/// Weighted least squares: β minimises Σ w_i (y_i − b − z_i·β)². Normal equations of the centred problem,
/// A = Σ w_i (z_i − x̄)(z_i − x̄)ᵀ, c = Σ w_i (z_i − x̄)(y_i − ȳ), solved through A's eigen-decomposition
/// (`SymmetricEigen`): β = Σ_{λ_k > 1e−12·λ_max} (v_kᵀc/λ_k)·v_k — the minimum-norm solution when the
/// coalitions leave A singular, which is what LAPACK gelsd (scikit-learn's solver) returns; gelsd's
/// cut-off is relative to singular values of the √w-scaled data in float32, so the two can disagree on
/// which near-zero directions to drop (not for full-rank problems).
enum WeightedLeastSquares {
    static func fit(_ z: [[Double]], _ y: [Double], weights w: [Double]) -> (coefficients: [Double], intercept: Double)
    {
        let m = z.first?.count ?? 0
        let (xbar, ybar) = weightedMeans(z, y, w)
        var a = [Double](repeating: 0, count: m * m)
        var c = [Double](repeating: 0, count: m)
        for i in z.indices {
            let d = (0..<m).map { z[i][$0] - xbar[$0] }
            let r = y[i] - ybar
            for j in 0..<m {
                c[j] += w[i] * d[j] * r
                for k in 0..<m { a[j * m + k] += w[i] * d[j] * d[k] }
            }
        }
        let (values, vectors) = SymmetricEigen.decompose(a, n: m)
        let top = values.max() ?? 0
        var beta = [Double](repeating: 0, count: m)
        for k in 0..<m where values[k] > 1e-12 * top && values[k] > 0 {
            var proj = 0.0
            for j in 0..<m { proj += vectors[j * m + k] * c[j] }
            for j in 0..<m { beta[j] += proj / values[k] * vectors[j * m + k] }
        }
        var intercept = ybar
        for j in 0..<m { intercept -= xbar[j] * beta[j] }
        return (beta, intercept)
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
        let (xbar, ybar) = WeightedLeastSquares.weightedMeans(z, y, w)
        // Column-major scaled, centred data.
        var x = [Double](repeating: 0, count: n * m)
        var r = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let s = w[i].squareRoot()
            for j in 0..<m { x[j * n + i] = (z[i][j] - xbar[j]) * s }
            r[i] = (y[i] - ybar) * s
        }
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
