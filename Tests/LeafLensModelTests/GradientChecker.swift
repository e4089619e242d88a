import LeafLensMath
import LeafLensTestSupport
import Testing

/// Central finite differences in Double:  ∂L/∂xᵢ ≈ (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h.
///
/// The loss is a fixed random projection L(x) = Σ r ⊙ f(x), so the analytic vector–Jacobian product with
/// r is exactly ∂L/∂x. Elements are sampled (all of them for small tensors). The comparison goes through
/// the project's single closeness rule. Error of the difference quotient is O(h²·f‴) + O(ε/h); h = 1e-5 in
/// Double keeps both near 1e-9 for these smooth-almost-everywhere functions.
struct GradientChecker {
    var step = 1e-5
    var atol = 1e-6
    var rtol = 1e-4
    var maxSamples = 60

    /// Compares `analytic` (∂L/∂x) against finite differences of `loss` at `x`.
    func check(
        _ x: Tensor<Double>, analytic: Tensor<Double>, seed: UInt64 = 1,
        loss: (Tensor<Double>) throws -> Double
    ) rethrows -> Closeness {
        var indices = Array(0..<x.count)
        if indices.count > maxSamples {
            var rng = SeededRandom(seed: seed)
            indices = (0..<maxSamples).map { _ in Int(rng.next() % UInt64(x.count)) }
        }
        var numeric: [Double] = [], expected: [Double] = []
        for i in indices {
            var plus = x, minus = x
            plus.storage[i] += step
            minus.storage[i] -= step
            numeric.append((try loss(plus) - loss(minus)) / (2 * step))
            expected.append(analytic.storage[i])
        }
        return closeness(expected, numeric, shape: [indices.count], atol: atol, rtol: rtol)
    }
}

/// L = Σ r ⊙ y for a fixed projection r.
func projection(_ y: Tensor<Double>, _ r: Tensor<Double>) -> Double {
    zip(y.storage, r.storage).reduce(0) { $0 + $1.0 * $1.1 }
}

func randomTensor(_ shape: [Int], seed: UInt64, range: Double = 1) -> Tensor<Double> {
    var rng = SeededRandom(seed: seed)
    // safe in tests: count equals the shape product by construction.
    return try! Tensor(shape: shape, storage: rng.uniformArray(shape.reduce(1, *), -range, range))
}

@Suite struct GradientCheckerTests {
    /// The checker must be able to fail: a gradient off by 1% in one element is caught.
    @Test func catchesCorruptedGradient() {
        let x = randomTensor([12], seed: 3)
        let loss: (Tensor<Double>) -> Double = { t in t.storage.reduce(0) { $0 + $1 * $1 * $1 } }
        var analytic = x
        for i in 0..<x.count { analytic.storage[i] = 3 * x.storage[i] * x.storage[i] }
        #expect(GradientChecker().check(x, analytic: analytic, loss: loss).passed)
        analytic.storage[5] *= 1.01
        let corrupted = GradientChecker().check(x, analytic: analytic, loss: loss)
        #expect(!corrupted.passed)
        #expect(corrupted.worstIndex == [5])
    }
}
