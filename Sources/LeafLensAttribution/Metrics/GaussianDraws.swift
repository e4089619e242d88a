import Foundation
import LeafLensMath

/// Standard normal draws from the project's SplitMix64 `SeededRandom`, so a fixture script can rebuild
/// exactly the same perturbations and inject them into Captum / pytorch-grad-cam.
///
/// Box–Muller, one value per pair of draws (the sine partner is discarded), in Double:
///
///     u₁ = 1 − unit(),  u₂ = unit()          (u₁ ∈ (0, 1], so the log is finite)
///     z  = √(−2 ln u₁) · cos(2π u₂)
///
/// A scaled value σ·z is rounded to the tensor's scalar type once.
public enum GaussianDraws {
    public static func standardNormal(_ random: inout SeededRandom) -> Double {
        let u1 = 1 - random.unit()
        let u2 = random.unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// `count` values σ·z rounded to `T`.
    public static func normalArray<T: TensorScalar>(
        _ count: Int, stdev: Double, random: inout SeededRandom, as _: T.Type = T.self
    ) -> [T] {
        (0..<count).map { _ in T(stdev * standardNormal(&random)) }
    }
}
