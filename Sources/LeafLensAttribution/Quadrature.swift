import Foundation

/// How Integrated Gradients approximates the path integral ∫₀¹ ∂F(b + α(x − b))/∂x dα:
/// a sum Σₖ wₖ·g(αₖ) over `n` nodes αₖ with weights wₖ, reproducing Captum 0.9 exactly.
///
/// | rule        | weights wₖ                         | nodes αₖ (float32 linspace)        |
/// |-------------|------------------------------------|------------------------------------|
/// | left        | 1/n                                | linspace(0, 1 − 1/n, n)            |
/// | right       | 1/n                                | linspace(1/n, 1, n)                |
/// | middle      | 1/n                                | linspace(1/(2n), 1 − 1/(2n), n)    |
/// | trapezoid   | 1/n, first and last 1/(2n)         | linspace(0, 1, n)                  |
/// | Gauss–Legendre | ½·wᵢ (n-point rule on [−1, 1])  | ½(1 + xᵢ), ascending, in Double    |
///
/// `riemann-trapezoid` is *not* a true trapezoid rule: its nodes are 1/(n−1) apart but its weights
/// use 1/n, so they sum to (n−1)/n and results are scaled down by that factor (Captum's behaviour).
public enum IntegrationRule: String, CaseIterable, Sendable {
    case gaussLegendre = "gauss-legendre"
    case riemannLeft = "riemann-left"
    case riemannRight = "riemann-right"
    case riemannMiddle = "riemann-middle"
    case riemannTrapezoid = "riemann-trapezoid"

    /// The smallest step count the rule accepts: Riemann rules need n ≥ 2, Gauss–Legendre n ≥ 1.
    public var minimumSteps: Int { self == .gaussLegendre ? 1 : 2 }

    /// Nodes and weights for `steps` points. Weights are rounded to Float (Captum converts them to
    /// a float32 tensor even for float64 models); Riemann nodes are float32 values, Gauss–Legendre
    /// nodes stay Double until they meet the model's scalar type.
    public func quadrature(steps: Int) throws(AttributionError) -> Quadrature {
        guard steps >= minimumSteps else {
            throw .invalidOption("\(rawValue) needs at least \(minimumSteps) steps, got \(steps)")
        }
        let n = Double(steps)
        let uniform = [Double](repeating: 1 / n, count: steps)
        switch self {
        case .gaussLegendre:
            let (x, w) = GaussLegendre.nodesAndWeights(count: steps)
            return Quadrature(alphas: x.map { 0.5 * (1 + $0) }, weights: w.map { Float(0.5 * $0) })
        case .riemannLeft:
            return Quadrature(
                alphas: float32Linspace(from: 0, through: 1 - 1 / n, count: steps).map(Double.init),
                weights: uniform.map { Float($0) })
        case .riemannRight:
            return Quadrature(
                alphas: float32Linspace(from: 1 / n, through: 1, count: steps).map(Double.init),
                weights: uniform.map { Float($0) })
        case .riemannMiddle:
            return Quadrature(
                alphas: float32Linspace(from: 1 / (2 * n), through: 1 - 1 / (2 * n), count: steps)
                    .map(Double.init),
                weights: uniform.map { Float($0) })
        case .riemannTrapezoid:
            var weights = uniform
            weights[0] *= 0.5
            weights[steps - 1] *= 0.5
            return Quadrature(
                alphas: float32Linspace(from: 0, through: 1, count: steps).map(Double.init),
                weights: weights.map { Float($0) })
        }
    }
}

/// The nodes αₖ ∈ [0, 1] (ascending) and weights wₖ of one integration rule.
public struct Quadrature: Sendable, Equatable {
    public let alphas: [Double]
    public let weights: [Float]
    public var count: Int { alphas.count }
}

/// `torch.linspace(start, end, count)` in float32, bit for bit.
///
/// start and end are rounded to Float; step = (end − start)/(count − 1) in Float. The first half
/// counts up from start, the second half down from end, each value rounded once:
///     aᵢ = fl(start + step·i)               for i < count/2
///     aᵢ = fl(end − step·(count − 1 − i))   otherwise
/// (the products and sums are exact in Double, so the single rounding is the final cast).
public func float32Linspace(from start: Double, through end: Double, count: Int) -> [Float] {
    guard count > 1 else { return count == 1 ? [Float(start)] : [] }
    let s = Float(start), e = Float(end)
    let step = (e - s) / Float(count - 1)
    let half = count / 2
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
        values[i] =
            i < half
            ? Float(Double(s) + Double(step) * Double(i))
            : Float(Double(e) - Double(step) * Double(count - 1 - i))
    }
    return values
}

/// n-point Gauss–Legendre quadrature on [−1, 1], in Double.
///
/// Each positive root of Pₙ is found by Newton's method from Tricomi's estimate
/// cos(π(i + ¾)/(n + ½)); Pₙ and Pₙ₋₁ come from Bonnet's recurrence
/// (k+1)Pₖ₊₁ = (2k+1)xPₖ − kPₖ₋₁, the derivative from Pₙ′ = n(xPₙ − Pₙ₋₁)/(x² − 1), and the weight
/// is 2/((1 − x²)Pₙ′²). Roots are symmetric, so the negative half mirrors the positive one and the
/// middle root of an odd rule is exactly 0.
public enum GaussLegendre {
    /// Nodes in ascending order and their weights (which sum to 2). `count` < 1 gives empty arrays.
    public static func nodesAndWeights(count n: Int) -> (nodes: [Double], weights: [Double]) {
        guard n >= 1 else { return ([], []) }
        var nodes = [Double](repeating: 0, count: n)
        var weights = [Double](repeating: 0, count: n)
        for i in 0..<(n + 1) / 2 {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            if n % 2 == 1 && i == n / 2 { x = 0 }
            if x != 0 {
                for _ in 0..<100 {
                    let (p, dp) = legendre(n, at: x)
                    let dx = p / dp
                    x -= dx
                    if abs(dx) <= 1e-16 * max(1, abs(x)) { break }
                }
            }
            let derivative = legendre(n, at: x).derivative
            let w = 2 / ((1 - x * x) * derivative * derivative)
            nodes[n - 1 - i] = x
            nodes[i] = -x
            weights[n - 1 - i] = w
            weights[i] = w
        }
        return (nodes, weights)
    }

    /// Pₙ(x) and Pₙ′(x) for |x| < 1.
    static func legendre(_ n: Int, at x: Double) -> (value: Double, derivative: Double) {
        var previous = 1.0, current = x
        if n == 0 { return (1, 0) }
        for k in 1..<n {
            let next = (Double(2 * k + 1) * x * current - Double(k) * previous) / Double(k + 1)
            previous = current
            current = next
        }
        return (current, Double(n) * (x * current - previous) / (x * x - 1))
    }
}
