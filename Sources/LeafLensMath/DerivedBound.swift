/// The one rule for "close enough" when a float32 result is compared with its float64 value: a bound
/// derived from a measured noise level, never a constant chosen to pass.
///
///     bound = max(factor · noise, floor)          measured passes  ⇔  measured ≤ bound (both finite)
///
/// `noise` is how far a float32 computation that is known to be right lands from float64 on the same
/// problem. The float64 parity tests (`Float64ParityTests`) take PyTorch's own float32 distance e_pt,
/// recorded in Fixtures/float64 beside each float64 result, so LeafLens's float32 result may be as far
/// from float64 as PyTorch's own and at most about twice it; `leaflens verify`, which has no
/// PyTorch, takes LeafLens's *second* float32 implementation — the unfolded program (BatchNorm as its own
/// step, im2col convolutions) against the folded one the methods run — measured against the same float64
/// result, or the float64 result's own move when the input is perturbed by one float32 ulp, whichever is
/// larger (`Verification.compare`). Two independent float32 implementations of the same function land at
/// comparable distances from the exact value, so a healthy result lies within about 1× the other's;
/// `factor` = 2 leaves room for the two rounding paths being uncorrelated (√2) and no more. `floor` keeps
/// a bound from collapsing to zero when the other implementation happens to round exactly (a map of all
/// zeros, a tiny model): 8 ulps of float32 (8 · 2⁻²³ ≈ 9.5e-7) relative, the rounding of a short dot product.
///
/// Non-finite numbers never pass: a NaN measurement or a NaN noise estimate fails the check.
public struct DerivedBound: Codable, Sendable, Equatable {
    /// Written down once: the factor over the measured noise.
    public static let defaultFactor = 2.0
    /// Written down once: the floor for relative float32 distances, 8 ulps of float32.
    public static let float32Floor = 8 * Double(Float.ulpOfOne)

    /// The measured noise of a trusted computation (relative, like the measurement it bounds).
    public var noise: Double
    public var factor: Double
    public var floor: Double

    public init(noise: Double, factor: Double = DerivedBound.defaultFactor, floor: Double = DerivedBound.float32Floor) {
        self.noise = noise
        self.factor = factor
        self.floor = floor
    }

    /// max(factor · noise, floor); infinity when the noise is not finite (nothing is admitted then).
    public var value: Double { noise.isFinite ? max(factor * noise, floor) : .infinity }

    /// Whether `measured` is within the bound: both finite and measured ≤ max(factor · noise, floor).
    public func admits(_ measured: Double) -> Bool {
        measured.isFinite && noise.isFinite && measured <= value
    }

    /// ‖a − b‖₂ / ‖b‖₂ over all elements (in Double); 0 when both are zero, infinity when only `b` is,
    /// NaN when either holds a NaN. Sizes must match (else infinity).
    public static func relativeL2(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        var difference = 0.0
        var norm = 0.0
        for i in a.indices {
            let d = a[i] - b[i]
            difference += d * d
            norm += b[i] * b[i]
        }
        if difference.isNaN || norm.isNaN { return .nan }
        if norm == 0 { return difference == 0 ? 0 : .infinity }
        return (difference / norm).squareRoot()
    }
}
