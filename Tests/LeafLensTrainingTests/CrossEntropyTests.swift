import Foundation
import LeafLensMath
import LeafLensTestSupport
import LeafLensTraining
import Testing

@Suite struct CrossEntropyTests {
    /// Central differences in Double, h = 1e-6: ∂L/∂z ≈ (L(z + h·e) − L(z − h·e)) / 2h.
    static func numericGradient(_ logits: Tensor<Double>, _ targets: [Int]) throws -> [Double] {
        var result: [Double] = []
        for i in 0..<logits.count {
            var plus = logits, minus = logits
            plus.storage[i] += 1e-6
            minus.storage[i] -= 1e-6
            let lp = try CrossEntropy.evaluate(logits: plus, targets: targets).loss
            let lm = try CrossEntropy.evaluate(logits: minus, targets: targets).loss
            result.append((lp - lm) / 2e-6)
        }
        return result
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        var rng = SeededRandom(seed: 7)
        let logits = try Tensor<Double>(shape: [3, 5], storage: rng.uniformArray(15, -3, 3))
        let targets = [0, 4, 2]
        let analytic = try CrossEntropy.evaluate(logits: logits, targets: targets).gradient.storage
        expectClose(analytic, try Self.numericGradient(logits, targets), atol: 1e-8, rtol: 1e-6)
    }

    /// The checker can fail: a deliberately wrong gradient (other targets) is far from the numeric one.
    @Test func checkerDetectsAWrongGradient() throws {
        var rng = SeededRandom(seed: 8)
        let logits = try Tensor<Double>(shape: [2, 4], storage: rng.uniformArray(8, -2, 2))
        let wrong = try CrossEntropy.evaluate(logits: logits, targets: [1, 2]).gradient.storage
        let numeric = try Self.numericGradient(logits, [0, 3])
        let result = closeness(wrong, numeric, shape: [8], atol: 1e-8, rtol: 1e-6)
        #expect(!result.passed)
    }

    /// Huge logits do not overflow (log-softmax subtracts the row maximum); known values.
    @Test func stableAndExact() throws {
        let logits = try Tensor<Float>(shape: [2, 3], storage: [1000, 0, -1000, 0, 0, 0])
        let r = try CrossEntropy.evaluate(logits: logits, targets: [0, 1])
        // Row 1: −log(1/(1 + e⁻¹⁰⁰⁰ + …)) ≈ 0; row 2: log 3. Mean = log(3)/2.
        expectClose([r.loss], [log(3.0) / 2], atol: 1e-12, rtol: 1e-12)
        #expect(r.predictions == [0, 0])
        #expect(r.gradient.storage.allSatisfy { $0.isFinite })
    }

    @Test func rejectsBadTargets() {
        let logits = Tensor<Float>(zeros: [1, 3])
        #expect(throws: TrainingError.self) { try CrossEntropy.evaluate(logits: logits, targets: [3]) }
        #expect(throws: TrainingError.self) { try CrossEntropy.evaluate(logits: logits, targets: [0, 1]) }
    }
}
