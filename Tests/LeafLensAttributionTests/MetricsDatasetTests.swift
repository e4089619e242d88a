import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("Bootstrap")
struct BootstrapTests {
    func sample(_ n: Int, seed: UInt64) -> [Double] {
        var random = SeededRandom(seed: seed)
        return (0..<n).map { _ in random.uniform(0, 1) + random.uniform(0, 1) }
    }

    @Test func intervalsContainTheMeanAndShrinkWithMoreImages() throws {
        var previous = Double.infinity
        for n in [10, 100, 1000] {
            let values = sample(n, seed: UInt64(n))
            let r = try Bootstrap.interval(values, seed: 7)
            #expect(r.low <= r.mean && r.mean <= r.high, "n = \(n): \(r)")
            let width = r.high - r.low
            #expect(width < previous, "n = \(n): width \(width) did not shrink from \(previous)")
            previous = width
            // Close to the normal-theory width 2·1.96·σ/√n (σ² = 1/6 for a sum of two uniforms).
            let expected = 2 * 1.96 * (1.0 / 6).squareRoot() / Double(n).squareRoot()
            #expect(abs(width - expected) < 0.35 * expected, "n = \(n): width \(width) vs \(expected)")
        }
    }

    @Test func isSeededAndHandlesOneValue() throws {
        let values = sample(50, seed: 1)
        #expect(try Bootstrap.interval(values, seed: 3) == Bootstrap.interval(values, seed: 3))
        #expect(try Bootstrap.interval(values, seed: 3) != Bootstrap.interval(values, seed: 4))
        #expect(try Bootstrap.interval([0.25]) == MeanInterval(mean: 0.25, low: 0.25, high: 0.25, count: 1))
        #expect(throws: MetricError.self) { try Bootstrap.interval([]) }
        #expect(throws: MetricError.self) { try Bootstrap.interval([1, 2], level: 1) }
    }
}

@Suite("DatasetAggregator")
struct DatasetAggregatorTests {
    func record(
        _ image: String, _ label: String, _ method: String, deletion: Double, insertion: Double,
        curve: [Double] = [1, 0.5, 0]
    ) -> ImageMetricRecord {
        var s = FaithfulnessScores()
        s.deletionAUC = deletion
        s.insertionAUC = insertion
        return ImageMetricRecord(
            image: image, label: label, method: method, scores: s, deletionCurve: curve,
            insertionCurve: curve.reversed())
    }

    @Test func meansPerMethodAndClassBestMethodAndCurves() throws {
        let records = [
            record("a", "rust", "gradcam", deletion: 0.2, insertion: 0.8, curve: [1, 0.4, 0]),
            record("b", "rust", "gradcam", deletion: 0.4, insertion: 0.6, curve: [1, 0.6, 0]),
            record("c", "scab", "gradcam", deletion: 0.3, insertion: 0.7),
            record("a", "rust", "ig", deletion: 0.5, insertion: 0.9),
            record("b", "rust", "ig", deletion: 0.5, insertion: 0.9),
            record("c", "scab", "ig", deletion: 0.5, insertion: 0.9),
        ]
        let summary = try DatasetAggregator.summarize(
            records, agreement: ["a": 0.9, "b": -0.1, "c": 0.3], topDisagreements: 2, resamples: 500, seed: 1)
        expectClose([summary.overall["gradcam"]?["deletion_auc"]?.mean ?? .nan], [0.3], atol: 1e-12, rtol: 0)
        expectClose([summary.perClass["rust"]?["gradcam"]?["deletion_auc"]?.mean ?? .nan], [0.3], atol: 1e-12, rtol: 0)
        #expect(summary.perClass["scab"]?["ig"]?["insertion_auc"]?.count == 1)
        #expect(summary.best["deletion_auc"] == "gradcam")  // lower is better
        #expect(summary.best["insertion_auc"] == "ig")  // higher is better
        expectClose(summary.meanDeletionCurve["gradcam"] ?? [], [1, 0.5, 0], atol: 1e-12, rtol: 0)
        #expect(summary.disagreements.map(\.image) == ["b", "c"])
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains("\"per_class\"") && json.contains("\"mean_pairwise_spearman\""))
    }

    @Test func curvesOfDifferentLengthsAreAnError() {
        let records = [
            record("a", "x", "m", deletion: 0, insertion: 0, curve: [1, 0]),
            record("b", "x", "m", deletion: 0, insertion: 0, curve: [1, 0.5, 0]),
        ]
        #expect(throws: MetricError.self) { try DatasetAggregator.summarize(records) }
    }
}

@Suite("RankCorrelation")
struct RankCorrelationTests {
    @Test func spearmanKnownValues() {
        #expect(RankCorrelation.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(RankCorrelation.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
        expectClose(
            [RankCorrelation.spearman([1, 2, 2, 3], [1, 3, 2, 4])], [0.9486832980505138], atol: 1e-12, rtol: 0)
        #expect(RankCorrelation.spearman([1, 1, 1], [1, 2, 3]) == 0)
        #expect(RankCorrelation.meanPairwiseSpearman([[1, 2, 3]]) == nil)
        expectClose(
            [RankCorrelation.meanPairwiseSpearman([[1, 2, 3], [1, 2, 3], [3, 2, 1]]) ?? .nan], [-1.0 / 3], atol: 1e-12,
            rtol: 0)
    }
}

@Suite("RandomizationCurve")
struct RandomizationCurveTests {
    /// A "model" is the set of randomized stages; the map decorrelates by a known amount per stage.
    @Test func cascadingAndIndependentCurves() throws {
        let stages = ["fc", "layer4", "layer3"]
        let base: [Float] = (0..<64).map { Float($0) }
        let curve = try RandomizationCurve.compute(
            method: "m", stages: stages, trained: Set<String>(),
            randomize: { Set($0) },
            explain: { randomized in
                // Each randomized stage reverses a different third of the ranking.
                var m = base
                for (k, s) in stages.enumerated() where randomized.contains(s) {
                    let r = (k * 21)..<((k + 1) * 21)
                    let part = Array(m[r].reversed())
                    m.replaceSubrange(r, with: part)
                }
                return m
            })
        #expect(curve.cascading.count == 3 && curve.independent.count == 3)
        #expect(curve.cascading[0] == curve.independent[0])
        #expect(curve.cascading[0] > curve.cascading[1] && curve.cascading[1] > curve.cascading[2])
        expectClose([curve.independent[1]], [curve.independent[0]], atol: 1e-12, rtol: 0)
        #expect(throws: MetricError.self) {
            try RandomizationCurve.compute(
                method: "m", stages: [], trained: 0, randomize: { _ in 0 }, explain: { _ in [1] })
        }
    }
}

@Suite("LeafMask")
struct LeafMaskTests {
    /// A 20×20 segmented image: black background with JPEG-like noise (≤ 20), a 10×10 green leaf with
    /// a black 2×2 lesion inside it, and one bright 1-pixel speck in the background.
    func segmented() -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: 20 * 20 * 3)
        var random = SeededRandom(seed: 5)
        for i in 0..<(20 * 20) { for c in 0..<3 { rgb[3 * i + c] = UInt8(random.unit() * 20) } }
        for y in 5..<15 { for x in 5..<15 { rgb[3 * (y * 20 + x) + 1] = 150 } }
        for y in 9..<11 { for x in 9..<11 { for c in 0..<3 { rgb[3 * (y * 20 + x) + c] = 5 } } }
        for c in 0..<3 { rgb[3 * (1 * 20 + 1) + c] = 200 }
        return rgb
    }

    @Test func leafIsAboveNearBlackWithSpecksRemovedAndHolesFilled() throws {
        let leaf = try LeafMask.fromSegmented(rgb: segmented(), width: 20, height: 20, minimumSpeck: 3)
        let expected = (0..<400).map { p in (5..<15).contains(p / 20) && (5..<15).contains(p % 20) }
        #expect(leaf == expected)
        #expect(throws: MetricError.self) { try LeafMask.fromSegmented(rgb: [0, 0], width: 20, height: 20) }
    }

    @Test func namesAndMissingFiles() throws {
        #expect(
            LeafMask.maskFileName(forImage: "leaf_001.JPG", suffix: LeafMask.plantVillageSuffix)
                == "leaf_001_final_masked.jpg")
        #expect(LeafMask.maskFileName(forImage: "a.png", suffix: "") == "a.png")
        let dir = try FixturePaths.temporaryDirectory("leafmask")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("rust"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("rust/a_final_masked.jpg"))
        let found = try LeafMask.locateMasks(
            images: ["rust/a.JPG"], directory: dir, suffix: LeafMask.plantVillageSuffix)
        #expect(found.map(\.lastPathComponent) == ["a_final_masked.jpg"])
        #expect(
            throws: MetricError.missingMasks(
                directory: dir.path, missing: ["rust/b_final_masked.jpg", "scab/c_final_masked.jpg"],
                count: 2, total: 3)
        ) {
            try LeafMask.locateMasks(
                images: ["rust/a.JPG", "rust/b.JPG", "scab/c.jpg"], directory: dir, suffix: LeafMask.plantVillageSuffix)
        }
        let message = MetricError.missingMasks(directory: "/m", missing: ["x"], count: 7, total: 9).description
        #expect(message.contains("7 of 9") && message.contains("x"))
        #expect(
            throws: MetricError.maskSizeMismatch(
                file: "m.jpg", width: 10, height: 10, expectedWidth: 20, expectedHeight: 20)
        ) {
            try LeafMask.checkSize(file: "m.jpg", width: 10, height: 10, expectedWidth: 20, expectedHeight: 20)
        }
    }

    @Test func aSuffixWithoutExtensionTakesTheImagesThenTheUsualOnes() throws {
        #expect(
            LeafMask.maskFileCandidates(forImage: "a b.JPG", suffix: "_final_masked")
                == [
                    "a b_final_masked.JPG", "a b_final_masked.jpg", "a b_final_masked.jpeg", "a b_final_masked.png",
                    "a b_final_masked.PNG",
                ])
        #expect(LeafMask.maskFileName(forImage: "a.png", suffix: "_mask") == "a_mask.png")
        #expect(LeafMask.maskFileCandidates(forImage: "a.png", suffix: "_final_masked.JPG") == ["a_final_masked.JPG"])
        let dir = try FixturePaths.temporaryDirectory("leafmask-noext")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("rust"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("rust/a_final_masked.jpg"))
        let found = try LeafMask.locateMasks(images: ["rust/a.JPG"], directory: dir, suffix: "_final_masked")
        #expect(found.map(\.lastPathComponent) == ["a_final_masked.jpg"])
        #expect(
            throws: MetricError.missingMasks(
                directory: dir.path, missing: ["rust/b_final_masked.*"], count: 1, total: 2)
        ) {
            try LeafMask.locateMasks(images: ["rust/a.JPG", "rust/b.JPG"], directory: dir, suffix: "_final_masked")
        }
        let file = dir.appendingPathComponent("rust/a_final_masked.jpg")
        for notAFolder in [dir.appendingPathComponent("absent"), file] {
            #expect(
                throws: MetricError.invalidOption("mask folder '\(notAFolder.path)' does not exist or is not a folder")
            ) {
                try LeafMask.locateMasks(images: ["rust/a.JPG"], directory: notAFolder, suffix: "")
            }
        }
    }

    @Test func massOnLeafAndMaximumOnBackground() throws {
        let leaf = [true, true, false, false]
        let share = try LeafBackgroundShare.compute(map: [1, 2, 3, -4], leaf: leaf)
        expectClose([share.leafPositiveShare, share.leafAbsoluteShare], [0.5, 0.3], atol: 1e-12, rtol: 0)
        #expect(share.maximumOnBackground)
        #expect(try !LeafBackgroundShare.compute(map: [5, 2, 3, -4], leaf: leaf).maximumOnBackground)
        #expect(throws: MetricError.self) { try LeafBackgroundShare.compute(map: [1, 2], leaf: leaf) }
    }
}
