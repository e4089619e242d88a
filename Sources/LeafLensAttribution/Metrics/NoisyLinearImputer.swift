import LeafLensMath

/// pytorch-grad-cam 1.5.7's `NoisyLinearImputer` (from ROAD, Rong et al. 2022): every missing pixel
/// becomes the weighted mean of its in-image 8-neighbours — weight 1/6 for the four edge neighbours,
/// 1/12 for the four diagonal ones — with all missing pixels solved jointly, then noise is added.
///
/// For each missing pixel p with in-image neighbours Q_p and s_p = Σ_{q∈Q_p} w_q (1 inside, less on
/// borders), per channel:
///
///     s_p·v_p − Σ_{q∈Q_p missing} w_q·v_q = Σ_{q∈Q_p known} w_q·img_q
///
/// The weights are symmetric (w(q−p) = w(p−q)), so this matrix M is symmetric, and it is weakly
/// diagonally dominant with positive diagonal: positive definite whenever some pixel is known
/// (every 8-connected missing region then touches a known pixel). It is solved in Double by
/// Jacobi-preconditioned conjugate gradients on M itself (pytorch-grad-cam uses scipy's SuperLU
/// `spsolve`; both give the unique solution, to a residual of 1e−12 relative here), the C channels as separate
/// right-hand sides, and rounded to the scalar type (Float, as pytorch-grad-cam casts). With every pixel missing the right-hand side is 0 and
/// the result is 0, as SuperLU returns. Noise: σ·z per imputed value and channel (`GaussianDraws`,
/// channel-major over the missing pixels in row-major order, as `randn_like` fills C × #missing),
/// added in Float; σ = 0 is deterministic and draws nothing.
public struct NoisyLinearImputer: Sendable {
    public var noise: Double

    public init(noise: Double = 0.01) { self.noise = noise }

    /// Neighbour offsets (dy, dx) and weights, in pytorch-grad-cam's order.
    static let neighbours: [(dy: Int, dx: Int, weight: Double)] = [
        (1, 1, 1.0 / 12), (0, 1, 1.0 / 6), (-1, 1, 1.0 / 12), (1, -1, 1.0 / 12),
        (0, -1, 1.0 / 6), (-1, -1, 1.0 / 12), (1, 0, 1.0 / 6), (-1, 0, 1.0 / 6),
    ]

    /// `image` `[C, H, W]` (or `[1, C, H, W]`) with the pixels where `known` is false imputed.
    /// `known` has H·W entries, row-major.
    public func impute<Scalar: TensorScalar>(
        _ image: Tensor<Scalar>, known: [Bool], random: inout SeededRandom
    ) throws -> Tensor<Scalar> {
        let dims = image.rank == 4 ? Array(image.shape.dropFirst()) : image.shape
        guard dims.count == 3, image.rank == 3 || image.shape[0] == 1 else {
            throw MetricError.shapeMismatch("the imputer takes [C, H, W] or [1, C, H, W], got \(image.shape)")
        }
        let (channels, height, width) = (dims[0], dims[1], dims[2])
        let pixels = height * width
        guard known.count == pixels else {
            throw MetricError.shapeMismatch("mask has \(known.count) values for a \(height)×\(width) image")
        }
        guard noise >= 0, noise.isFinite else {
            throw MetricError.invalidOption("imputation noise must be ≥ 0, got \(noise)")
        }
        let missing = known.indices.filter { !known[$0] }
        if missing.isEmpty { return image }
        let system = System(known: known, missing: missing, height: height, width: width)
        var out = image.storage
        for c in 0..<channels {
            let plane = image.storage[(c * pixels)..<((c + 1) * pixels)].map(Double.init)
            let solution = system.solve(rightHandSide: system.rightHandSide(plane))
            for (k, p) in missing.enumerated() { out[c * pixels + p] = Scalar(solution[k]) }
        }
        if noise > 0 {
            for c in 0..<channels {
                for p in missing {
                    let z = Float(noise * GaussianDraws.standardNormal(&random))
                    out[c * pixels + p] = Scalar(Float(out[c * pixels + p]) + z)
                }
            }
        }
        return Tensor(uncheckedShape: image.shape, storage: out)
    }

    /// The sparse system in CSR form: for unknown k, its diagonal s_k, its couplings to other unknowns
    /// (column, weight) and its known neighbours (pixel, weight).
    struct System {
        var diagonal: [Double] = []
        var couplingStart: [Int] = [0], couplingColumn: [Int] = [], couplingWeight: [Double] = []
        var givenStart: [Int] = [0], givenPixel: [Int] = [], givenWeight: [Double] = []

        init(known: [Bool], missing: [Int], height: Int, width: Int) {
            var unknownIndex = [Int](repeating: -1, count: known.count)
            for (k, p) in missing.enumerated() { unknownIndex[p] = k }
            diagonal.reserveCapacity(missing.count)
            for p in missing {
                let (y, x) = (p / width, p % width)
                var s = 0.0
                for n in NoisyLinearImputer.neighbours {
                    let (ny, nx) = (y + n.dy, x + n.dx)
                    guard ny >= 0, nx >= 0, ny < height, nx < width else { continue }
                    s += n.weight
                    let q = ny * width + nx
                    if known[q] {
                        givenPixel.append(q)
                        givenWeight.append(n.weight)
                    } else {
                        couplingColumn.append(unknownIndex[q])
                        couplingWeight.append(n.weight)
                    }
                }
                diagonal.append(s)
                couplingStart.append(couplingColumn.count)
                givenStart.append(givenPixel.count)
            }
        }

        func rightHandSide(_ plane: [Double]) -> [Double] {
            (0..<diagonal.count).map { k in
                var sum = 0.0
                for e in givenStart[k]..<givenStart[k + 1] { sum += givenWeight[e] * plane[givenPixel[e]] }
                return sum
            }
        }

        /// out = M·v with M = diag(s) − couplings; returns vᵀM v.
        func apply(_ v: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Double>) -> Double {
            var dot = 0.0
            diagonal.withUnsafeBufferPointer { dg in
                couplingStart.withUnsafeBufferPointer { st in
                    couplingColumn.withUnsafeBufferPointer { col in
                        couplingWeight.withUnsafeBufferPointer { wt in
                            for k in 0..<dg.count {
                                var sum = dg[k] * v[k]
                                for e in st[k]..<st[k + 1] { sum -= wt[e] * v[col[e]] }
                                out[k] = sum
                                dot += v[k] * sum
                            }
                        }
                    }
                }
            }
            return dot
        }

        /// Jacobi-preconditioned conjugate gradients from v = 0, until ‖r‖ ≤ 1e−12·‖b‖ (or 20·n + 100
        /// iterations). Deterministic: a fixed sequence of Double operations.
        func solve(rightHandSide b: [Double]) -> [Double] {
            let n = b.count
            var v = [Double](repeating: 0, count: n)
            let bNorm = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if bNorm == 0 { return v }
            var r = b
            let inverse = diagonal.map { 1 / $0 }
            var d = (0..<n).map { r[$0] * inverse[$0] }
            var rz = 0.0
            for k in 0..<n { rz += r[k] * d[k] }
            var md = [Double](repeating: 0, count: n)
            for _ in 0..<(20 * n + 100) {
                let dMd = d.withUnsafeBufferPointer { dp in md.withUnsafeMutableBufferPointer { apply(dp, into: $0) } }
                let alpha = rz / dMd
                var rNorm = 0.0, rzNext = 0.0
                for k in 0..<n {
                    v[k] += alpha * d[k]
                    r[k] -= alpha * md[k]
                    rNorm += r[k] * r[k]
                    rzNext += r[k] * r[k] * inverse[k]
                }
                if rNorm.squareRoot() <= 1e-12 * bNorm { break }
                let beta = rzNext / rz
                rz = rzNext
                for k in 0..<n { d[k] = r[k] * inverse[k] + beta * d[k] }
            }
            return v
        }
    }
}
