import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

/// `StructuralSimilarity` (Wang et al. 2004) against a direct reference written here — for every valid
/// position, the 11 × 11 window's Gaussian-weighted statistics summed in two nested loops with 2-D
/// weights exp(−(u² + v²)/2σ²)/Σ — and against scikit-image on one pinned case.
@Suite struct StructuralSimilarityTests {
    /// The definition, spelled out without separable filtering.
    static func naiveSSIM(_ x: [Double], _ y: [Double], height: Int, width: Int) -> Double {
        let range = (y.max() ?? 0) - (y.min() ?? 0)
        let l = range > 0 ? range : 1
        let (c1, c2) = (pow(0.01 * l, 2), pow(0.03 * l, 2))
        var w = [[Double]](repeating: [Double](repeating: 0, count: 11), count: 11)
        for u in 0..<11 {
            for v in 0..<11 { w[u][v] = exp(-Double((u - 5) * (u - 5) + (v - 5) * (v - 5)) / (2 * 1.5 * 1.5)) }
        }
        let norm = w.joined().reduce(0, +)
        var total = 0.0, count = 0
        for r in 0...(height - 11) {
            for c in 0...(width - 11) {
                var (mx, my, sxx, syy, sxy) = (0.0, 0.0, 0.0, 0.0, 0.0)
                for u in 0..<11 {
                    for v in 0..<11 {
                        let k = w[u][v] / norm
                        let (a, b) = (x[(r + u) * width + c + v], y[(r + u) * width + c + v])
                        mx += k * a
                        my += k * b
                        sxx += k * a * a
                        syy += k * b * b
                        sxy += k * a * b
                    }
                }
                let (vx, vy, cxy) = (sxx - mx * mx, syy - my * my, sxy - mx * my)
                total += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
                count += 1
            }
        }
        return total / Double(count)
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor<Float> {
        var random = SeededRandom(seed: seed)
        let values: [Float] = random.uniformArray(shape.reduce(1, *), -1, 1)
        return (try? Tensor(shape: shape, storage: values)) ?? Tensor(zeros: shape)
    }

    /// The reference map and a noisy, smoothed copy, so the SSIM is well inside (−1, 1).
    @Test(arguments: [[11, 11], [23, 17], [3, 13, 20], [1, 3, 16, 12]])
    func matchesNaiveReference(_ shape: [Int]) throws {
        let reference = Self.random(shape, seed: 91)
        var map = Self.random(shape, seed: 92)
        for i in map.storage.indices { map.storage[i] = 0.7 * reference.storage[i] + 0.4 * map.storage[i] }
        let (h, w) = (shape[shape.count - 2], shape[shape.count - 1])
        func summed(_ t: Tensor<Float>) -> [Double] {
            var s = [Double](repeating: 0, count: h * w)
            for (i, v) in t.storage.enumerated() { s[i % (h * w)] += Double(v) }
            return s
        }
        let expected = Self.naiveSSIM(summed(map), summed(reference), height: h, width: w)
        let actual = try StructuralSimilarity.index(map, reference: reference)
        expectClose([actual], [expected], atol: 1e-12, rtol: 1e-10, "\(shape)")
        #expect(expected > 0.2 && expected < 0.95)
    }

    /// skimage.metrics.structural_similarity(x, ref, gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False, data_range=ref.max() − ref.min()) on 23 × 31 maps, i and j the row
    /// and column, ref = sin(0.3i) + cos(0.2j) + 0.05i, x = ref + 0.3·sin(0.1ij), both rounded to float32:
    /// 0.8083667737576522 (scikit-image 0.26, numpy float64).
    @Test func matchesScikitImage() throws {
        let (h, w) = (23, 31)
        var ref = [Float](), x = [Float]()
        for i in 0..<h {
            for j in 0..<w {
                let r = sin(0.3 * Double(i)) + cos(0.2 * Double(j)) + 0.05 * Double(i)
                ref.append(Float(r))
                x.append(Float(r + 0.3 * sin(0.1 * Double(i * j))))
            }
        }
        let ssim = try StructuralSimilarity.index(
            try Tensor(shape: [h, w], storage: x), reference: try Tensor(shape: [h, w], storage: ref))
        expectClose([ssim], [0.8083667737576522], atol: 1e-9, rtol: 0)
    }

    @Test(arguments: [[11, 11], [3, 20, 14]])
    func identicalMapsScoreOne(_ shape: [Int]) throws {
        let map = Self.random(shape, seed: 93)
        expectClose([try StructuralSimilarity.index(map, reference: map)], [1.0], atol: 1e-12, rtol: 0)
        // A constant map (data range 0, so L = 1) compared with itself is 1 too.
        let constant = Tensor<Float>(repeating: 0.3, shape: shape)
        expectClose([try StructuralSimilarity.index(constant, reference: constant)], [1.0], atol: 1e-12, rtol: 0)
    }

    @Test func differentMapsScoreBelowOne() throws {
        let a = Self.random([20, 20], seed: 94), b = Self.random([20, 20], seed: 95)
        #expect(try StructuralSimilarity.index(a, reference: b) < 0.5)
    }

    @Test(arguments: [([10, 12], [10, 12]), ([12, 12], [12, 13]), ([2, 3, 12, 12], [2, 3, 12, 12]), ([12], [12])])
    func refusesBadShapes(_ shapes: ([Int], [Int])) throws {
        #expect(throws: AttributionError.self) {
            try StructuralSimilarity.index(Tensor(zeros: shapes.0), reference: Tensor(zeros: shapes.1))
        }
    }
}
