import Foundation
import LeafLensMath

/// The standard normal numbers every seeded LeafLens method draws (NoiseTunnel's noise,
/// GradientShap's input noise), specified so that a short script in any language reproduces them.
///
/// **The sequence for a seed s.** z₀, z₁, z₂, … come in pairs from SplitMix64(s) (`SeededRandom`,
/// spec in Fixtures/README.md) by the Box–Muller transform, in float64. Pair p uses the stream's
/// draws 2p+1 and 2p+2 (1-based), as `unit()` values u₁, u₂ ∈ [0, 1) (24 bits each):
///
///     r = sqrt(−2·log(1 − u₁))        (1 − u₁ ∈ (0, 1], so r is finite; u₁ = 0 gives r = 0)
///     θ = 2π·u₂                       (2π = 6.283185307179586, the float64 nearest to 2π)
///     z₂ₚ = r·cos(θ),  z₂ₚ₊₁ = r·sin(θ)
///
/// with the C library's `log`, `cos`, `sin` (glibc on Linux; Python's `math` module calls the same).
/// Any element can be computed on its own: the SplitMix64 state before draw 2p+1 is s + 2p·γ
/// (mod 2⁶⁴, γ = 0x9E3779B97F4A7C15), so memory never depends on how many numbers are drawn.
///
/// **Noise values.** A noise element of standard deviation σ is `Scalar(σ·zₖ)`: the product in
/// float64, rounded once to the model's scalar type (float32 like Captum's noise).
public struct GaussianNoise: Sendable, Equatable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// zₖ for k in `range`, in order.
    public func standardNormals(_ range: Range<Int>) -> [Double] {
        guard !range.isEmpty else { return [] }
        var out = [Double]()
        out.reserveCapacity(range.count)
        let firstPair = range.lowerBound / 2
        var random = SeededRandom(seed: seed &+ UInt64(truncatingIfNeeded: 2 * firstPair) &* Self.gamma)
        var k = 2 * firstPair
        while k < range.upperBound {
            let u1 = random.unit(), u2 = random.unit()
            let r = (-2 * log(1 - u1)).squareRoot()
            let theta = 6.283185307179586 * u2
            if k >= range.lowerBound { out.append(r * cos(theta)) }
            if k + 1 >= range.lowerBound && k + 1 < range.upperBound { out.append(r * sin(theta)) }
            k += 2
        }
        return out
    }

    /// σ·zₖ for k in `range`, rounded to the scalar type.
    public func noise<Scalar: TensorScalar>(
        _ range: Range<Int>, stdev: Double, as _: Scalar.Type = Scalar.self
    )
        -> [Scalar]
    {
        standardNormals(range).map { Scalar(stdev * $0) }
    }

    /// The seed of an independent stream for one purpose of a method (`seed ⊕ tag`), so that methods
    /// nested in one another (NoiseTunnel over GradientShap) with one seed draw unrelated numbers.
    public static func substream(_ seed: UInt64, tag: UInt64) -> UInt64 { seed ^ tag }
}
