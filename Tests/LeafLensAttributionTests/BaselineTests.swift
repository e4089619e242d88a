import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct BaselineTests {
    @Test func constantAndBroadcastTensor() throws {
        let x = try tensor([2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        expectClose(
            try Baseline<Float>.constant(0.1).resolved(for: x), Tensor<Float>(repeating: Float(0.1), shape: x.shape))
        expectClose(try Baseline<Float>.zero.resolved(for: x), Tensor<Float>(zeros: x.shape))
        let one = try tensor([1, 1, 2, 2], [9, 8, 7, 6])
        expectClose(try Baseline.tensor(one).resolved(for: x), try tensor([2, 1, 2, 2], [9, 8, 7, 6, 9, 8, 7, 6]))
        #expect(try Baseline.tensor(x).resolved(for: x) == x)
        #expect(throws: AttributionError.self) {
            try Baseline.tensor(try tensor([1, 4], [1, 2, 3, 4])).resolved(for: x)
        }
        #expect(throws: AttributionError.self) { try Baseline<Float>.constant(.nan).resolved(for: x) }
    }

    /// Uniform noise is reproducible from its seed, in range, and follows SeededRandom's stream.
    @Test func uniformNoiseIsSeeded() throws {
        let x = Tensor<Float>(zeros: [2, 3, 4, 4])
        let a = try Baseline<Float>.uniformNoise(low: -0.5, high: 0.25, seed: 42).resolved(for: x)
        let b = try Baseline<Float>.uniformNoise(low: -0.5, high: 0.25, seed: 42).resolved(for: x)
        let c = try Baseline<Float>.uniformNoise(low: -0.5, high: 0.25, seed: 43).resolved(for: x)
        #expect(a == b && a != c)
        #expect(a.storage.allSatisfy { $0 >= -0.5 && $0 <= 0.25 })
        var random = SeededRandom(seed: 42)
        #expect(a.storage == random.uniformArray(96, -0.5, 0.25, as: Float.self))
        #expect(throws: AttributionError.self) {
            try Baseline<Float>.uniformNoise(low: 1, high: 1, seed: 0).resolved(for: x)
        }
    }

    struct BlurCase: Sendable, CustomTestStringConvertible {
        let border: BlurBorder
        let expected: @Sendable (_ k: [Double]) -> [Double]  // k = normalized kernel taps k₀, k₁, k₂
        var testDescription: String { border.rawValue }
    }

    /// An impulse at the left edge of a 1×5 row, σ = 0.5 (radius 2). Along H (size 1) both borders
    /// fold onto the row itself, so that pass is the identity. Reflect mirrors without repeating
    /// the edge; replicate piles the outside taps onto the edge pixel.
    @Test(arguments: [
        BlurCase(border: .reflect, expected: { k in [k[0], k[1], k[2], 0, 0] }),
        BlurCase(border: .replicate, expected: { k in [k[0] + k[1] + k[2], k[1] + k[2], k[2], 0, 0] }),
    ])
    func blurBorderHandling(_ c: BlurCase) throws {
        let raw = (0...2).map { exp(-Double($0 * $0) / (2 * 0.25)) }
        let total = raw[0] + 2 * raw[1] + 2 * raw[2]
        let k = raw.map { $0 / total }
        let x = try Tensor<Double>(shape: [1, 1, 1, 5], storage: [1, 0, 0, 0, 0])
        let blurred = try Baseline<Double>.gaussianBlur(sigma: 0.5, border: c.border).resolved(for: x)
        expectClose(blurred, try Tensor<Double>(shape: x.shape, storage: c.expected(k)), atol: 1e-15, rtol: 1e-12)
    }

    /// Separable blur of an interior impulse is the outer product of the 1-D kernel; constants stay
    /// constant; channels and examples are blurred independently.
    @Test func blurIsSeparableAndPreservesConstants() throws {
        let sigma = 1.3
        let r = Int((3 * sigma).rounded(.up))  // 4
        let raw = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let k = raw.map { $0 / raw.reduce(0, +) }
        let size = 4 * r + 1  // wide enough that no reflected tap reaches the impulse
        var impulse = [Double](repeating: 0, count: 2 * size * size)
        impulse[size * size + 2 * r * size + 2 * r] = 1  // channel 1 centre
        let x = try Tensor<Double>(shape: [1, 2, size, size], storage: impulse)
        let blurred = try Baseline<Double>.gaussianBlur(sigma: sigma).resolved(for: x)
        let expected =
            [Double](repeating: 0, count: size * size)
            + (0..<size * size).map { i in
                let (dy, dx) = (i / size - 2 * r, i % size - 2 * r)
                return abs(dy) <= r && abs(dx) <= r ? k[dy + r] * k[dx + r] : 0
            }
        expectClose(blurred, try Tensor<Double>(shape: x.shape, storage: expected), atol: 1e-15, rtol: 1e-12)

        for border in BlurBorder.allCases {
            let flat = Tensor<Float>(repeating: 0.7, shape: [2, 3, 5, 3])
            expectClose(
                try Baseline.gaussianBlur(sigma: 2.5, border: border).resolved(for: flat), flat, atol: 1e-6, rtol: 0)
        }
        #expect(throws: AttributionError.self) { try Baseline<Double>.gaussianBlur(sigma: 0).resolved(for: x) }
        #expect(throws: AttributionError.self) {
            try Baseline<Float>.gaussianBlur(sigma: 1).resolved(for: try tensor([2, 3], [1, 2, 3, 4, 5, 6]))
        }
    }
}
