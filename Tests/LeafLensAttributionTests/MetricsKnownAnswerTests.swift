import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

// Known answers for the per-image faithfulness metrics (reference: shared methods-and-metrics.md §B, D, E).

/// RISE's worked example (reference §E): image arange(48)/47 − 0.5 as 1×3×4×4 and a 4×4 saliency map.
enum RISEExample {
    static let image = try! Tensor<Double>(shape: [1, 3, 4, 4], storage: (0..<48).map { Double($0) / 47 - 0.5 })  // safe: 48 values
    static let saliency: [Float] = [0.1, 0.9, 0.3, 0.3, 0.5, 0.0, 0.7, 0.2, 0.8, 0.4, 0.6, 0.3, 0.05, 0.95, 0.15, 0.35]
}

@Suite("CausalMetric (RISE deletion and insertion)")
struct CausalMetricTests {
    let model = DenseModel<Double>.riseExample

    @Test func deletionReproducesRISEsWorkedExample() throws {
        // The reference run ordered the three 0.3 ties as 2, 3, 11: ascending index.
        let curve = try Deletion.curve(
            model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: 3, ties: .ascendingIndex)
        #expect(curve.scoredClass == 1)
        expectClose(
            curve.scores, [0.3891843, 0.2903531, 0.2732616, 0.2591809, 0.3114709, 0.3586153, 0.3671654], atol: 1e-7,
            rtol: 0)
        expectClose([curve.auc], [0.31184277683496475], atol: 1e-7, rtol: 0)
        let short = try Deletion.curve(model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: 5)
        expectClose(short.scores, [0.3891843, 0.2840416, 0.2675557, 0.3586153, 0.3671654], atol: 1e-7, rtol: 0)
        expectClose([short.auc], [0.3220968581736088], atol: 1e-7, rtol: 0)
    }

    @Test func insertionReproducesRISEsWorkedExample() throws {
        let curve = try Insertion.curve(model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: 3)
        expectClose(
            curve.scores, [0.3707109, 0.4607307, 0.4811615, 0.4769692, 0.4342458, 0.3978586, 0.3891843], atol: 1e-7,
            rtol: 0)
        expectClose([curve.auc], [0.43848557273546857], atol: 1e-7, rtol: 0)
    }

    @Test func batchingDoesNotChangeTheCurve() throws {
        let one = try Deletion.curve(
            model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: 2, batchSize: 1)
        let many = try Deletion.curve(
            model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: 2, batchSize: 4)
        #expect(one == many)
        #expect(one.scores.count == 9)
    }

    /// A model that only looks at pixel 5 (all channels): ranking that pixel first drops the probability
    /// at step 1, and nothing changes afterwards.
    @Test func deletingTheOnlyInformativePixelFirstDropsAtStepOne() throws {
        var w = [[Double]](repeating: [Double](repeating: 0, count: 48), count: 2)
        for c in 0..<3 { w[0][c * 16 + 5] = 4 }
        let model = DenseModel(weights: w, bias: [0, 0])
        let image = try Tensor<Double>(shape: [1, 3, 4, 4], storage: (0..<48).map { $0 % 16 == 5 ? 1 : 0.25 })
        var map = [Float](repeating: 0.1, count: 16)
        map[5] = 1
        let curve = try Deletion.curve(model: model, image: image, ranking: map, step: 1)
        let p0 = 1 / (1 + exp(-12.0))
        expectClose([curve.scores[0]], [p0], atol: 1e-7, rtol: 0)
        expectClose(Array(curve.scores.dropFirst()), [Double](repeating: 0.5, count: 16), atol: 1e-7, rtol: 0)
        // The reverse map deletes pixel 5 last: the probability holds until the final step.
        let late = try Deletion.curve(model: model, image: image, ranking: map.map { 1 - $0 }, step: 1)
        expectClose(Array(late.scores.prefix(16)), [Double](repeating: p0, count: 16), atol: 1e-7, rtol: 0)
        #expect(curve.auc < late.auc)
    }

    @Test func aucIsRISEsTrapezoid() {
        #expect(CausalCurve.trapezoidAUC([1, 0]) == 0.5)
        #expect(CausalCurve.trapezoidAUC([1, 1, 0]) == 0.75)
        #expect(CausalCurve.trapezoidAUC([0.5]) == 0)
    }

    @Test func badStepsAreRejected() {
        for step in [0, -1, 17] {
            #expect(throws: MetricError.invalidStep(step: step, pixels: 16)) {
                try Deletion.curve(model: model, image: RISEExample.image, ranking: RISEExample.saliency, step: step)
            }
        }
        #expect(throws: MetricError.self) {
            try Deletion.curve(model: model, image: RISEExample.image, ranking: [0, 1], step: 1)
        }
    }
}

@Suite("RISEBlur")
struct RISEBlurTests {
    @Test func kernelIsTheReflectedGaussian() {
        // Reference §E: k1 values and the float32 centre/corner of gkern(11, 5).
        expectClose(
            RISEBlur.kernel1D,
            [
                0.0879581458, 0.0888961198, 0.0904741965, 0.0921911178, 0.0934893884, 0.0939820633,
                0.0934893884, 0.0921911178, 0.0904741965, 0.0888961198, 0.0879581458,
            ], atol: 1e-10, rtol: 0)
        #expect(RISEBlur.kernel2D[60] == Float(0.008832628))
        #expect(RISEBlur.kernel2D[0] == Float(0.0077366354))
        expectClose([RISEBlur.kernel1D.reduce(0, +)], [1.0], atol: 1e-15, rtol: 0)
    }

    @Test func zeroPaddingPullsBordersDown() throws {
        let ones = Tensor<Double>(repeating: 1, shape: [1, 1, 11, 11])
        let blurred = try RISEBlur.blur(ones)
        // The centre sees the whole kernel; a corner only its 6×6 quarter.
        expectClose(
            [blurred.storage[60]], [Double(RISEBlur.kernel2D.reduce(0) { $0 + Double($1) })], atol: 1e-12, rtol: 0)
        #expect(blurred.storage[0] < 0.35)
    }
}

@Suite("NoisyLinearImputer")
struct NoisyLinearImputerTests {
    /// 1×3×3 image arange(9) (reference §D2).
    let image = try! Tensor<Double>(shape: [1, 3, 3], storage: (0..<9).map(Double.init))  // safe: 9 values
    let imputer = NoisyLinearImputer(noise: 0)

    func impute(missing: [Int]) throws -> [Double] {
        var random = SeededRandom(seed: 0)
        let known = (0..<9).map { !missing.contains($0) }
        return try imputer.impute(image, known: known, random: &random).storage
    }

    @Test func knownAnswers() throws {
        expectClose([try impute(missing: [4])[4]], [4.0], atol: 1e-6, rtol: 0)
        expectClose([try impute(missing: [0])[0]], [2.4], atol: 1e-6, rtol: 0)
        expectClose(Array(try impute(missing: [0, 1, 2]).prefix(3)), [3.6, 4, 4.4], atol: 1e-6, rtol: 0)
        #expect(try impute(missing: []) == image.storage)
        #expect(try impute(missing: Array(0..<9)) == [Double](repeating: 0, count: 9))
    }

    @Test func imputedValuesSolveTheSystem() throws {
        // Every imputed pixel is the weighted mean of its in-image neighbours (a direct check of the
        // equations on a 7×9 image with a scattered missing set).
        let (h, w) = (7, 9)
        var random = SeededRandom(seed: 9)
        let x = try Tensor<Double>(shape: [2, h, w], storage: (0..<(2 * h * w)).map { _ in random.uniform(-1, 1) })
        let known = (0..<(h * w)).map { _ in random.unit() > 0.6 }
        let out = try imputer.impute(x, known: known, random: &random).storage
        let weights: [(Int, Int, Double)] = [
            (1, 1, 1.0 / 12), (0, 1, 1.0 / 6), (-1, 1, 1.0 / 12), (1, -1, 1.0 / 12),
            (0, -1, 1.0 / 6), (-1, -1, 1.0 / 12), (1, 0, 1.0 / 6), (-1, 0, 1.0 / 6),
        ]
        var worst = 0.0
        for c in 0..<2 {
            for p in 0..<(h * w) where !known[p] {
                var s = 0.0, total = 0.0
                for (dy, dx, wt) in weights {
                    let (y, x) = (p / w + dy, p % w + dx)
                    guard y >= 0, x >= 0, y < h, x < w else { continue }
                    s += wt
                    total += wt * out[c * h * w + y * w + x]
                }
                worst = max(worst, abs(out[c * h * w + p] - total / s))
            }
        }
        #expect(worst < 1e-9, "largest residual \(worst)")
    }

    @Test func noiseIsSeededAndOnlyOnImputedPixels() throws {
        let noisy = NoisyLinearImputer(noise: 0.01)
        var a = SeededRandom(seed: 3), b = SeededRandom(seed: 3)
        let known = (0..<9).map { $0 != 4 }
        let x = try noisy.impute(image, known: known, random: &a).storage
        let y = try noisy.impute(image, known: known, random: &b).storage
        #expect(x == y)
        #expect(x[4] != 4)
        #expect(abs(x[4] - 4) < 0.06)
        for p in 0..<9 where p != 4 { #expect(x[p] == image.storage[p]) }
    }
}

@Suite("ROAD")
struct ROADTests {
    @Test func percentileIsNumpyLinear() {
        // np.percentile([3, 1, 2, 4], 80) = 3.4; p = 10 of 0…9 = 0.9; p = 0 / 100 = the extremes.
        #expect(ROAD.percentile([3, 1, 2, 4], 80) == Float(3.4))
        #expect(ROAD.percentile((0..<10).map(Float.init), 10) == Float(0.9))
        #expect(ROAD.percentile([5, 2, 9], 0) == 2)
        #expect(ROAD.percentile([5, 2, 9], 100) == 9)
    }

    @Test func morfRemovesTheTopAndLerfKeepsTheTop() {
        let map = (0..<10).map { Float($0) / 10 }
        let morf = ROAD.keptPixels(map, removal: .init(percentile: 80, leastRelevantFirst: false))
        #expect(morf == (0..<10).map { $0 < 8 })  // threshold 0.72: 0.8 and 0.9 imputed
        let lerf = ROAD.keptPixels(map, removal: .init(percentile: 20, leastRelevantFirst: true))
        #expect(lerf == (0..<10).map { $0 >= 8 })  // 1 − map < 0.28 keeps 0.8 and 0.9
    }

    /// A toy model whose class-0 logit is the mean of a smooth image: a random map carries no
    /// information, so LeRF and MoRF remove equally harmful pixels on average and combined ≈ 0.
    @Test func combinedOfARandomMapIsNearZero() throws {
        let (h, w) = (12, 12)
        let weights = [
            [Double](repeating: 8.0 / Double(3 * h * w), count: 3 * h * w), [Double](repeating: 0, count: 3 * h * w),
        ]
        let model = DenseModel(weights: weights, bias: [0, 0])
        let image = try Tensor<Double>(
            shape: [1, 3, h, w], storage: (0..<(3 * h * w)).map { i in 0.5 + 0.1 * sin(Double(i % (h * w)) / 7) })
        var total = 0.0
        for seed in 1...8 as ClosedRange<UInt64> {
            var random = SeededRandom(seed: seed)
            let map = (0..<(h * w)).map { _ in Float(random.unit()) }
            let r = try ROAD.evaluate(model: model, image: image, map: map, target: 0, noise: 0)
            #expect(abs(r.combined) < 0.02, "seed \(seed): combined \(r.combined)")
            total += r.combined
        }
        #expect(abs(total / 8) < 0.01)
    }

    @Test func rejectsBadInputs() throws {
        let model = DenseModel<Double>.riseExample
        #expect(throws: MetricError.self) {
            try ROAD.evaluate(model: model, image: RISEExample.image, map: [1, 2, 3], target: 0)
        }
        #expect(throws: MetricError.self) {
            try ROAD.evaluate(model: model, image: RISEExample.image, map: RISEExample.saliency, target: 7)
        }
        #expect(throws: MetricError.self) {
            try ROAD.evaluate(model: model, image: RISEExample.image, map: RISEExample.saliency, target: 0, noise: -1)
        }
    }
}

@Suite("Infidelity")
struct InfidelityTests {
    /// Exact attributions of a linear model (its gradient, perturbation I, x_pert = x − I) score 0.
    @Test func exactAttributionsOfALinearModelScoreZero() throws {
        let model = DenseModel<Double>.riseExample
        let gradient = try Saliency.attribute(model: model, input: RISEExample.image, targets: [1], absolute: false)
        let perturbations = try Infidelity.gaussianPerturbations(
            shape: [1, 3, 4, 4], samples: 10, stdev: 0.003, seed: 1, as: Double.self)
        let value = try Infidelity.evaluate(
            model: model, input: RISEExample.image, attributions: gradient, target: 1, perturbations: perturbations)
        #expect(abs(value) < 1e-20)
        // Scaled attributions are no longer exact, unless normalised (β rescales them back).
        var doubled = gradient
        doubled.storage = doubled.storage.map { 2 * $0 }
        #expect(
            try Infidelity.evaluate(
                model: model, input: RISEExample.image, attributions: doubled, target: 1,
                perturbations: perturbations) > 1e-8)
        #expect(
            try Infidelity.evaluate(
                model: model, input: RISEExample.image, attributions: doubled, target: 1,
                perturbations: perturbations, normalize: true) < 1e-20)
    }

    /// Reference §B1, Quad-free form: with two fixed perturbations the value is the closed formula.
    @Test func closedFormOnFixedPerturbations() throws {
        let model = DenseModel<Double>(weights: [[1, 2, 3]], bias: [0])
        let x = try Tensor<Double>(shape: [1, 3], storage: [2, 0, 1])
        let attr = try Tensor<Double>(shape: [1, 3], storage: [2, 0, 3])  // IG = w·x
        let ones = try Tensor<Double>(shape: [1, 3], storage: [1, 1, 1])
        // s = 5, d = 6 → (s − d)² = 1 (Captum: [0, 1] for this example).
        #expect(
            try Infidelity.evaluate(model: model, input: x, attributions: attr, target: 0, perturbations: [ones]) == 1)
    }

    @Test func perturbationsAreSeededNormals() throws {
        let a = try Infidelity.gaussianPerturbations(
            shape: [1, 3, 8, 8], samples: 200, stdev: 0.5, seed: 4, as: Double.self)
        let b = try Infidelity.gaussianPerturbations(
            shape: [1, 3, 8, 8], samples: 200, stdev: 0.5, seed: 4, as: Double.self)
        #expect(a == b)
        let values = a.flatMap(\.storage)
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(mean) < 0.01)
        #expect(abs(sd - 0.5) < 0.01)
    }
}

@Suite("SensitivityMax")
struct SensitivityMaxTests {
    /// Reference §B2: Quad at x = [1, 2], Saliency (2x) → max_j ‖2U_j‖/‖2x‖ = max_j ‖U_j‖/‖x‖.
    @Test func gradientOfAQuadraticIsTheRelativePerturbation() throws {
        let x = try Tensor<Double>(shape: [1, 2], storage: [1, 2])
        let u = try SensitivityMax.uniformPerturbations(shape: [1, 2], samples: 4, seed: 0, as: Double.self)
        let value = try SensitivityMax.evaluate(input: x, perturbations: u) { batch in
            var g = batch
            g.storage = g.storage.map { 2 * $0 }
            return g
        }
        let expected = u.map { ($0.storage.map { $0 * $0 }.reduce(0, +)).squareRoot() / 5.0.squareRoot() }.max() ?? 0
        expectClose([value], [expected], atol: 0, rtol: 1e-12)
        for p in u { #expect(p.storage.allSatisfy { abs($0) <= 0.02 }) }
    }

    @Test func constantExplanationScoresZeroAndZeroExplanationDividesByOne() throws {
        let x = try Tensor<Double>(shape: [1, 2], storage: [0, 0])
        let shift = try Tensor<Double>(shape: [1, 2], storage: [0.1, 0.1])
        #expect(
            try SensitivityMax.evaluate(input: x, perturbations: [shift]) { b in
                Tensor(repeating: 3, shape: b.shape)
            } == 0)
        let v = try SensitivityMax.evaluate(input: x, perturbations: [shift]) { b in
            var g = b
            g.storage = g.storage.map { 2 * $0 }
            return g
        }
        expectClose([v], [0.28284271247461906], atol: 1e-12, rtol: 0)
    }
}

@Suite("ConfidenceChange")
struct ConfidenceChangeTests {
    @Test func unitMapIsGradCAMsScaling() {
        let m = ConfidenceChange.unitMap([-1, 0, 2, 4])
        expectClose(m, [0, 0, 0.5, 4 / (4 + 1e-7)], atol: 1e-7, rtol: 0)
    }

    @Test func anAllOnesMapChangesNothingAndDropAndIncreaseFollowTheSign() throws {
        let model = DenseModel<Double>.riseExample
        let none = try ConfidenceChange.evaluate(
            model: model, image: RISEExample.image, cam: [Float](repeating: 1, count: 16), target: 1)
        #expect(none == .init(change: 0, drop: 0, increase: 0))
        let zero = try ConfidenceChange.evaluate(
            model: model, image: RISEExample.image, cam: [Float](repeating: 0, count: 16), target: 1)
        // x ⊙ 0 = 0: logits = bias [0, 0.1, −0.1].
        let p0 = exp(0.1) / (1 + exp(0.1) + exp(-0.1))
        expectClose([zero.change], [Double(Float(p0) - Float(0.3891843))], atol: 1e-6, rtol: 0)
        #expect(
            zero.change < 0 ? (zero.drop == -zero.change && zero.increase == 0) : (zero.drop == 0 && zero.increase == 1)
        )
    }
}

@Suite("FaithfulnessMetric names and FaithfulnessEvaluator")
struct FaithfulnessEvaluatorTests {
    @Test func parsesListsAndAll() throws {
        #expect(try FaithfulnessMetric.parseList("road, deletion,road") == [.deletion, .road])
        #expect(try FaithfulnessMetric.parseList("all") == FaithfulnessMetric.allCases)
        #expect(throws: MetricError.unknownMetric("faithful", available: FaithfulnessMetric.allCases.map(\.rawValue))) {
            try FaithfulnessMetric.parseList("deletion,faithful")
        }
        #expect(throws: MetricError.self) { try FaithfulnessMetric.parseList("") }
    }

    @Test func fillsEveryKeyAskedForAndWritesTheIssuesJSONKeys() throws {
        let model = DenseModel<Double>.riseExample
        let attribution = try Saliency.attribute(model: model, input: RISEExample.image, targets: [1], absolute: false)
        var options = FaithfulnessOptions()
        options.step = 4
        options.roadNoise = 0
        let (scores, curves) = try FaithfulnessEvaluator.evaluate(
            model: model, image: RISEExample.image, target: 1, attribution: attribution,
            metrics: FaithfulnessMetric.allCases,
            options: options,
            explain: { b in
                try Saliency.attribute(
                    model: model, input: b, targets: Array(repeating: 1, count: b.shape[0]), absolute: false)
            },
            method: "saliency")
        for key in FaithfulnessScores.keys { #expect(scores[key] != nil, "\(key) missing") }
        #expect(abs(scores.infidelity ?? 1) < 1e-20)
        #expect(scores.sensitivityMax == 0)  // a linear model's gradient does not move
        #expect(curves.deletion?.scores.count == 5)
        let json = String(decoding: try JSONEncoder().encode(scores), as: UTF8.self)
        for key in [
            "deletion_auc", "insertion_auc", "road_morf", "road_lerf", "road_combined", "infidelity",
            "sensitivity_max", "confidence_drop", "confidence_increase",
        ] {
            #expect(json.contains("\"\(key)\""), "\(key) not in \(json)")
        }
        #expect(CausalCurves.fileName(stem: "leaf_1", method: "gradcam") == "leaf_1.gradcam.curves.json")
        let curvesJSON = String(decoding: try curves.jsonData(), as: UTF8.self)
        #expect(curvesJSON.contains("\"class\" : 1"))
        #expect(throws: MetricError.invalidStep(step: 17, pixels: 16)) {
            var bad = options
            bad.step = 17
            _ = try FaithfulnessEvaluator.evaluate(
                model: model, image: RISEExample.image, target: 1, attribution: attribution,
                metrics: [.deletion], options: bad)
        }
    }

    @Test func camMapsAreUpsampledForRanking() throws {
        let small = try Tensor<Float>(shape: [1, 1, 2, 2], storage: [0, 1, 2, 3])
        let map = try PixelRanking.map(small, height: 4, width: 4)
        #expect(map.count == 16)
        #expect(PixelRanking.order(map).first == 15)
        #expect(throws: MetricError.self) { try PixelRanking.map(small, height: 4, width: 4, upsample: .none) }
        #expect(PixelRanking.order([1, 2, 2, 0], ties: .ascendingIndex) == [1, 2, 0, 3])
        #expect(PixelRanking.order([1, 2, 2, 0], ties: .reversedStableArgsort) == [2, 1, 0, 3])
    }
}

@Suite("CAMFusion")
struct CAMFusionTests {
    @Test func averagesTheScaledMapsAndRescales() throws {
        // ReLU then scaled: [0, 0.5, 1] and [1, 0, 0.25] (up to the 1e−7 of the scaling);
        // mean [0.5, 0.25, 0.625] → rescaled [2/3, 0, 1].
        let fused = try CAMFusion.fuse([[0, 1, 2], [4, -2, 1]])
        expectClose(fused, [2.0 / 3, 0, 1], atol: 1e-6, rtol: 0)
        #expect(throws: MetricError.self) { try CAMFusion.fuse([[1, 2], [1]]) }
        #expect(throws: MetricError.self) { try CAMFusion.fuse([]) }
    }
}

@Suite("ROAD noise")
struct ROADNoiseTests {
    @Test func seededNoiseIsReproducibleAndSmall() throws {
        let model = DenseModel<Double>.riseExample
        let a = try ROAD.evaluate(
            model: model, image: RISEExample.image, map: RISEExample.saliency, target: 1, noise: 0.01, seed: 5)
        let b = try ROAD.evaluate(
            model: model, image: RISEExample.image, map: RISEExample.saliency, target: 1, noise: 0.01, seed: 5)
        let exact = try ROAD.evaluate(
            model: model, image: RISEExample.image, map: RISEExample.saliency, target: 1, noise: 0)
        #expect(a == b)
        #expect(a != exact)
        expectClose([a.morf, a.lerf, a.combined], [exact.morf, exact.lerf, exact.combined], atol: 0.02, rtol: 0)
    }
}
