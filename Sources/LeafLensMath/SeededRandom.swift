/// The integer PRNG that LeafLens and `scripts/make_fixtures.py` both implement, so that tests can
/// build the same weights and inputs as PyTorch without committing them.
///
/// SplitMix64 (Steele, Lea & Flood 2014):
///     state ← state + 0x9E3779B97F4A7C15 (mod 2⁶⁴)
///     z ← state; z ← (z ⊕ (z ≫ 30))·0xBF58476D1CE4E5B9; z ← (z ⊕ (z ≫ 27))·0x94D049BB133111EB; z ← z ⊕ (z ≫ 31)
/// `unit()` = (z ≫ 40)·2⁻²⁴, exactly representable in Float32, in [0, 1).
/// `uniform(a, b)` = a + (b − a)·unit(), evaluated in Double and then rounded to the scalar type.
public struct SeededRandom: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in [0, 1) with 24 random bits.
    @inlinable
    public mutating func unit() -> Double {
        Double(next() >> 40) * 0x1p-24
    }

    /// A value in [low, high).
    @inlinable
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// `count` values in [low, high), converted to `T`.
    @inlinable
    public mutating func uniformArray<T: TensorScalar>(
        _ count: Int, _ low: Double, _ high: Double, as _: T.Type = T.self
    ) -> [T] {
        (0..<count).map { _ in T(uniform(low, high)) }
    }
}
