import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Occlusion on the whole ResNet18 (seeded width 8): batching does not change the answer, and
/// windows that do not tile the input are clipped at the border as Captum clips them — checked
/// against a direct, window-by-window reference written here from the behaviour spec (§3).
@Suite struct ResNetOcclusionTests {
    /// ppe = 1 (one occluded copy per forward) against 2, 5, 16 and more than the window count:
    /// the forwards run in different batch sizes, so results agree to float rounding (atol
    /// 1e-5·max|attr|), not bit for bit.
    @Test(arguments: [2, 5, 16, 100])
    func independentOfPerturbationsPerEval(_ k: Int) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 51, shape: [2, 3, 48, 40])
        func run(_ k: Int) throws -> Tensor<Float> {
            try Occlusion.attribute(
                model: model, input: x, targets: [34, 8], window: [3, 12, 12], strides: [3, 8, 8],
                perturbationsPerEval: k)
        }
        let one = try run(1)
        let scale = one.storage.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(try run(k), one, atol: 1e-5 * scale, rtol: 0, "ppe \(k) vs 1")
    }

    /// ResNetClassifier's fast path (only the region a window can change is recomputed) against
    /// whole occluded batches through the unfolded network (an unfolded `ResNetClassifier` has no fast path), with
    /// baselines that are not 0 — a constant and a per-pixel noise tensor — and windows covering only
    /// some channels, two examples with different targets: |Δ| ≤ 1e-4·max|attr|.
    @Test(arguments: [Baseline<Float>.constant(0.5), .uniformNoise(low: -1, high: 1, seed: 7)])
    func fastPathMatchesWholeBatchForwards(_ baseline: Baseline<Float>) throws {
        let fast = try SeededResNets.small()
        let whole = try ResNetClassifier(fast.model, foldingBatchNorm: false)
        let x = ResNet18<Float>.seededInput(seed: 53, shape: [2, 3, 40, 36])
        let (window, strides) = ([2, 9, 9], [1, 5, 5])
        let a = try Occlusion.attribute(
            model: fast, input: x, targets: [34, 2], window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: 16)
        let b = try Occlusion.attribute(
            model: whole, input: x, targets: [34, 2], window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: 16)
        let scale = b.storage.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(a, b, atol: 1e-4 * scale, rtol: 0, "fast path vs whole forwards")
    }

    struct ClippingCase: Sendable, CustomTestStringConvertible {
        let height: Int, width: Int
        let window: [Int], strides: [Int]
        /// ⌈(D − W)/s⌉ + 1 per axis, written out by hand.
        let counts: [Int]
        var testDescription: String { "\(height)×\(width) window \(window) strides \(strides)" }
    }

    /// Windows that do not tile the input: the last one on an axis starts at (count − 1)·s and is cut
    /// at the border (never shifted back inside), so border positions are covered by fewer windows.
    static let clipping: [ClippingCase] = [
        // 64 = 7·8 + 8: the 8th window starts at 56 and keeps 8 of its 15 columns (as the full fixture's 224).
        ClippingCase(height: 64, width: 64, window: [3, 15, 15], strides: [3, 8, 8], counts: [1, 8, 8]),
        // Non-square, odd sizes: 37 → windows at 0, 5, …, 30 (the last keeps 7 of 9); 41 → 0, …, 35 (keeps 6).
        ClippingCase(height: 37, width: 41, window: [3, 9, 9], strides: [3, 5, 5], counts: [1, 7, 8]),
        // A channel window of 2 with stride 2: channels {0, 1} and {2} (clipped to one channel).
        ClippingCase(height: 32, width: 33, window: [2, 10, 10], strides: [2, 10, 10], counts: [2, 4, 4]),
    ]

    @Test(arguments: clipping)
    func borderClippingMatchesDirectReference(_ c: ClippingCase) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 52, shape: [1, 3, c.height, c.width])
        let targets = [21]
        let shape = [3, c.height, c.width]
        let counts = shape.indices.map { d in
            Int((Double(shape[d] - c.window[d]) / Double(c.strides[d])).rounded(.up)) + 1
        }
        #expect(counts == c.counts)

        let result = try Occlusion.attribute(
            model: model, input: x, targets: targets, window: c.window, strides: c.strides, perturbationsPerEval: 7)
        let reference = try Self.directOcclusion(
            model, x, target: targets[0], window: c.window, strides: c.strides, counts: counts)
        let scale = reference.storage.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(result, reference, atol: 1e-5 * scale, rtol: 0, c.testDescription)
    }

    /// Captum's rule, spelled out: for each window (start i·s, end min(D, i·s + W) per axis), one
    /// forward with the window set to 0; every covered position gets F(x) − F(occluded); the result is
    /// the sum divided by the number of windows covering each position. One image, one forward each.
    static func directOcclusion(
        _ model: ResNetClassifier<Float>, _ x: Tensor<Float>, target: Int, window: [Int], strides: [Int],
        counts: [Int]
    ) throws -> Tensor<Float> {
        let (channels, height, width) = (x.shape[1], x.shape[2], x.shape[3])
        let fx = try targetLogits(model.unfolded, x, targets: [target])[0]
        var total = [Double](repeating: 0, count: x.count)
        var covered = [Int](repeating: 0, count: x.count)
        for ci in 0..<counts[0] {
            for hi in 0..<counts[1] {
                for wi in 0..<counts[2] {
                    let cs = ci * strides[0], hs = hi * strides[1], ws = wi * strides[2]
                    let cr = cs..<min(channels, cs + window[0])
                    let hr = hs..<min(height, hs + window[1])
                    let wr = ws..<min(width, ws + window[2])
                    var occluded = x
                    var positions: [Int] = []
                    for ch in cr {
                        for h in hr {
                            for w in wr { positions.append((ch * height + h) * width + w) }
                        }
                    }
                    for p in positions { occluded.storage[p] = 0 }
                    let drop = fx - (try targetLogits(model.unfolded, occluded, targets: [target])[0])
                    for p in positions {
                        total[p] += drop
                        covered[p] += 1
                    }
                }
            }
        }
        return try Tensor(shape: x.shape, storage: zip(total, covered).map { Float($0 / Double($1)) })
    }
}
