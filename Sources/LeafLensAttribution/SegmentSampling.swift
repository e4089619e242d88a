import LeafLensMath

/// The random samples LeafLens's segment methods draw, from `SeededRandom` (SplitMix64), specified
/// exactly so another language reproduces them (scripts/fixtures/methods_cam.py does, and injects
/// them into Captum for the parity tests). With `next()` the raw 64-bit draw and `unit()` = (next ≫ 40)·2⁻²⁴:
///
///     permutation(M):  p = [0, …, M−1]; for i = M−1 down to 1: j = next() mod (i + 1); swap p[i], p[j]
///     Lime coalition:  z_f = 1 if unit() < 0.5 else 0, for f = 0, …, M−1           (Captum: bernoulli(0.5))
///     KernelShap:      samples 1 and 2 are all ones and all zeros; each further one draws u = unit(),
///                      k = the first k in 1…M−1 with u < Σ_{i≤k} p_i, p_k ∝ (M−1)/(k(M−k)) (Double,
///                      the last partial sum set to 1), then a permutation(M), and z = 1 on its first k
///                      entries                                              (Captum: multinomial + randn top-k)
///
/// The distributions are Captum's; the streams are not (Captum draws from torch's generator).
public enum SegmentSampling {
    public static func permutation(_ m: Int, _ random: inout SeededRandom) -> [Int] {
        var p = Array(0..<m)
        var i = m - 1
        while i > 0 {
            let j = Int(random.next() % UInt64(i + 1))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }

    public static func permutations(features m: Int, count: Int, seed: UInt64) -> [[Int]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in permutation(m, &random) }
    }

    public static func limeCoalitions(features m: Int, count: Int, random: inout SeededRandom) -> [[Bool]] {
        (0..<count).map { _ in (0..<m).map { _ in random.unit() < 0.5 } }
    }

    public static func kernelShapCoalitions(features m: Int, count: Int, random: inout SeededRandom) -> [[Bool]] {
        var out: [[Bool]] = [Array(repeating: true, count: m), Array(repeating: false, count: m)]
        guard m >= 2 else { return Array(out.prefix(count)) }
        let weights = [0.0] + (1..<m).map { k in Double(m - 1) / Double(k * (m - k)) }
        let total = weights.reduce(0, +)
        var cumulative: [Double] = []
        var acc = 0.0
        for w in weights {
            acc += w / total
            cumulative.append(acc)
        }
        cumulative[m - 1] = 1
        while out.count < count {
            let u = random.unit()
            let k = (1..<m).first { u < cumulative[$0] } ?? (m - 1)
            let p = permutation(m, &random)
            var z = [Bool](repeating: false, count: m)
            for f in p.prefix(k) { z[f] = true }
            out.append(z)
        }
        return Array(out.prefix(count))
    }
}
