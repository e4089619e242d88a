import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

/// FeatureAblation, ShapleyValueSampling, KernelShap and Lime over segments: known answers on Captum's
/// ConvNet_One_Conv (methods-and-metrics.md A5–A8), axioms, and parity with Captum on the seeded
/// full ResNet18 with LeafLens's documented samples injected on Captum's side.
@Suite struct SegmentMethodsTests {
    let convNet = ConvNetModel<Float>(addend: nil)

    func quadrants() throws -> FeatureSegments { try FeatureSegments.grid(2, height: 4, width: 4) }

    @Test func gridMatchesCaptumsMask() throws {
        #expect(try quadrants().labels == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3])
    }

    @Test func featureAblationKnownAnswers() throws {
        let x = try arange16()
        let zero = try FeatureAblation.attribute(model: convNet, input: x, targets: [0], segments: try quadrants())
        #expect(zero.values == [[7, 4, 36, 47]])
        #expect(zero.attribution.storage == [7, 7, 4, 4, 7, 7, 4, 4, 36, 36, 47, 47, 36, 36, 47, 47])
        let five = try FeatureAblation.attribute(
            model: convNet, input: x, targets: [0], segments: try quadrants(), baseline: .constant(5),
            parameters: .init(batchSize: 3))
        #expect(five.values == [[-9, -2, 20, 27]])
    }

    /// grid:1 ablates everything at once: F(x) − F(baseline) everywhere.
    @Test func gridOneIsTheTotalDifference() throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 9, shape: [2, 3, 64, 64])
        let result = try FeatureAblation.attribute(
            model: model, input: x, targets: [3, 17], segments: try FeatureSegments.grid(1, height: 64, width: 64))
        let fx = try targetLogits(model.folded, x, targets: [3, 17])
        let f0 = try targetLogits(model.folded, Tensor(zeros: x.shape), targets: [3, 17])
        expectClose(result.values.map { $0[0] }, zip(fx, f0).map { $0 - $1 }, atol: 1e-5, rtol: 1e-5)
    }

    /// All 24 permutations of the quadrants are exact Shapley values (A6), which sum to F(x) − F(0) = 54.
    @Test func exactShapleyValuesAndEfficiency() throws {
        func permutations(_ items: [Int]) -> [[Int]] {
            items.count <= 1
                ? [items]
                : items.indices.flatMap { i in
                    permutations(items.enumerated().filter { $0.offset != i }.map(\.element)).map { [items[i]] + $0 }
                }
        }
        let all = permutations([0, 1, 2, 3])
        #expect(all.count == 24)
        let result = try ShapleyValueSampling.attribute(
            model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
            parameters: .init(permutations: all))
        expectClose(result.values[0], [4.25, 4.41667, 19.41667, 25.91667], atol: 1e-5, rtol: 0)
        expectClose([result.values[0].reduce(0, +)], [54.0], atol: 1e-9, rtol: 0)
        // A6's sampled run replayed from its permutations.
        let sampled = try ShapleyValueSampling.attribute(
            model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
            parameters: .init(permutations: [[0, 1, 3, 2], [0, 2, 3, 1], [3, 2, 0, 1]]))
        expectClose(sampled.values[0], [4, 2.66667, 25, 22.33333], atol: 1e-5, rtol: 0)
        // Seeded sampling: every sample's credits sum to 54 too.
        let seeded = try ShapleyValueSampling.attribute(
            model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
            parameters: .init(samples: 5, seed: 1))
        expectClose([seeded.values[0].reduce(0, +)], [54.0], atol: 1e-9, rtol: 0)
    }

    /// A7's injected coalitions (outputs [54, 0, 0, 0, 18, 0, 50, 0]) → float64 WLS [0, −3, 13, 44].
    @Test func kernelShapInjectedKnownAnswer() throws {
        let z: [[Int]] = [
            [1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 1, 1],
            [0, 1, 0, 0],
        ]
        let result = try KernelShap.attribute(
            model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
            parameters: .init(coalitions: z.map { $0.map { $0 == 1 } }))
        expectClose(result.values[0], [0.00002, -3, 13, 43.99997], atol: 1e-4, rtol: 0)
    }

    @Test func weightedLeastSquaresIsMinimumNormWhenUnderdetermined() {
        // y = 2·z0 + 1 with z1 = z0 always: the minimum-norm split is 1 + 1.
        let z: [[Double]] = [[0, 0], [1, 1], [0, 0], [1, 1]]
        let fit = WeightedLeastSquares.fit(z, [1, 3, 1, 3], weights: [1, 1, 1, 1])
        expectClose(fit.coefficients, [1.0, 1.0], atol: 1e-12, rtol: 0)
        expectClose([fit.intercept], [1.0], atol: 1e-12, rtol: 0)
    }

    /// Lasso with α = 0 is least squares; a large α zeroes everything (the intercept is ȳ).
    @Test func lassoLimits() {
        let z: [[Double]] = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]
        let y = [3.0, 5, 8.5, 0.2, 2.9], w = [1.0, 0.5, 2, 1, 0.7]
        let lasso = WeightedLasso.fit(z, y, weights: w, alpha: 0)
        let ls = WeightedLeastSquares.fit(z, y, weights: w)
        expectClose(lasso.coefficients, ls.coefficients, atol: 1e-10, rtol: 0)
        let zeroed = WeightedLasso.fit(z, y, weights: w, alpha: 100)
        #expect(zeroed.coefficients == [0, 0])
    }

    // MARK: Parity with Captum on the full ResNet18

    func resnet() throws -> (MethodsCAMManifest, ResNetClassifier<Float>, Tensor<Float>) {
        let manifest = try MethodsCAMManifest.load()
        let model = try SeededResNets.classifier(seed: MethodsCAMManifest.weightSeed, classes: 38, width: 64)
        return (
            manifest, model, ResNet18<Float>.seededInput(seed: MethodsCAMManifest.inputSeed, shape: [1, 3, 224, 224])
        )
    }

    func grid(_ spec: String) throws -> FeatureSegments {
        guard case .grid(let n) = try SegmentSpec(parsing: spec) else { throw SegmentError.invalidSpec(spec) }
        return try FeatureSegments.grid(n, height: 224, width: 224)
    }

    @Test func featureAblationParity() throws {
        let (manifest, model, x) = try resnet()
        let reference = try #require(manifest.segments.first { $0.method == "feature-ablation" })
        let result = try FeatureAblation.attribute(
            model: model, input: x, targets: [MethodsCAMManifest.target], segments: try grid(reference.segments))
        try CaptumFixtures.expectWithinDerivedBound(
            try Tensor(shape: [reference.values.count], storage: result.values[0].map { Float($0) }), network: "full",
            attribution: "feature_ablation", directory: "methods_cam")
    }

    @Test func shapleySamplingParity() throws {
        let (manifest, model, x) = try resnet()
        let reference = try #require(manifest.segments.first { $0.method == "shapley-value-sampling" })
        let segments = try grid(reference.segments)
        let samples = try #require(reference.samples), seed = try #require(reference.seed)
        // LeafLens's seeded permutations are the ones injected into Captum.
        #expect(
            SegmentSampling.permutations(features: segments.count, count: samples, seed: seed) == reference.permutations
        )
        let result = try ShapleyValueSampling.attribute(
            model: model, input: x, targets: [MethodsCAMManifest.target], segments: segments,
            parameters: .init(samples: samples, seed: seed))
        try CaptumFixtures.expectWithinDerivedBound(
            try Tensor(shape: [segments.count], storage: result.values[0].map { Float($0) }), network: "full",
            attribution: "shapley_value_sampling", directory: "methods_cam")
        let fx = try #require(reference.f_x), f0 = try #require(reference.f_baseline)
        expectClose([result.values[0].reduce(0, +)], [fx - f0], atol: 1e-4, rtol: 1e-4, "efficiency")
    }

    @Test(arguments: ["kernel-shap", "lime"])
    func surrogateParity(_ method: String) throws {
        let (manifest, model, x) = try resnet()
        let reference = try #require(manifest.segments.first { $0.method == method })
        let segments = try grid(reference.segments)
        let samples = try #require(reference.samples), seed = try #require(reference.seed)
        var random = SeededRandom(seed: seed)
        let drawn =
            method == "lime"
            ? SegmentSampling.limeCoalitions(features: segments.count, count: samples, random: &random)
            : SegmentSampling.kernelShapCoalitions(features: segments.count, count: samples, random: &random)
        #expect(drawn.map { $0.map { $0 ? 1 : 0 } } == reference.coalitions)
        let values: [Double]
        if method == "lime" {
            values = try Lime.attribute(
                model: model, input: x, targets: [MethodsCAMManifest.target], segments: segments,
                parameters: .init(samples: samples, seed: seed)
            ).values[0]
        } else {
            values = try KernelShap.attribute(
                model: model, input: x, targets: [MethodsCAMManifest.target], segments: segments,
                parameters: .init(samples: samples, seed: seed)
            ).values[0]
        }
        // The float64 reference is the exact fit (Lasso to tol 1e-12, as LeafLens's coordinate descent).
        try CaptumFixtures.expectWithinDerivedBound(
            try Tensor(shape: [segments.count], storage: values.map { Float($0) }), network: "full",
            attribution: method.replacingOccurrences(of: "-", with: "_"), directory: "methods_cam")
    }

    @Test func badInputsAreTypedErrors() throws {
        #expect(throws: SegmentError.self) {
            try FeatureAblation.attribute(
                model: convNet, input: try arange16(), targets: [0],
                segments: try FeatureSegments.grid(2, height: 8, width: 8))
        }
        #expect(throws: AttributionError.self) {
            try ShapleyValueSampling.attribute(
                model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
                parameters: .init(permutations: [[0, 1, 1, 2]]))
        }
        #expect(throws: AttributionError.self) {
            try KernelShap.attribute(
                model: convNet, input: try arange16(), targets: [0],
                segments: try FeatureSegments.grid(1, height: 4, width: 4))
        }
        #expect(throws: AttributionError.self) {
            try Lime.attribute(
                model: convNet, input: try arange16(), targets: [0], segments: try quadrants(),
                parameters: .init(samples: 0))
        }
    }
}

@Suite struct FeatureSegmentsTests {
    @Test func specParsing() throws {
        #expect(try SegmentSpec(parsing: "grid:7") == .grid(7))
        #expect(try SegmentSpec(parsing: "slic:50") == .slic(segments: 50, compactness: 10))
        #expect(try SegmentSpec(parsing: "slic:50,20") == .slic(segments: 50, compactness: 20))
        #expect(try SegmentSpec(parsing: "labels/leaf.PNG") == .labelImage(path: "labels/leaf.PNG"))
        for bad in ["grid:", "grid:0", "grid:x", "slic:", "slic:5,0", "slic:5,2,3", "voronoi:3", "mask.jpg"] {
            #expect(throws: SegmentError.self, "\(bad)") { try SegmentSpec(parsing: bad) }
        }
        #expect(throws: SegmentError.self) { try FeatureSegments.grid(9, height: 8, width: 8) }
    }

    @Test func boundariesOfAGrid() throws {
        let g = try FeatureSegments.grid(2, height: 4, width: 4)
        // Columns 1–2 and rows 1–2 touch another quadrant.
        #expect(g.boundaries.map { $0 ? 1 : 0 } == [0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0])
    }

    @Test func gridFormula() throws {
        let g = try FeatureSegments.grid(3, height: 5, width: 7)
        #expect(g.count == 9)
        for i in 0..<5 { for j in 0..<7 { #expect(Int(g.labels[i * 7 + j]) == (i * 3 / 5) * 3 + j * 3 / 7) } }
    }

    @Test func labelImagesRenumberDistinctValues() throws {
        let s = try FeatureSegments.labelImage(
            [0xFF0000, 7, 7, 0xFF0000, 9, 9], height: 2, width: 3,
            expectedHeight: 2, expectedWidth: 3, source: "seg.png")
        #expect(s.labels == [2, 0, 0, 2, 1, 1])
        #expect(s.count == 3)
        #expect(throws: SegmentError.wrongSize(expected: [4, 3], found: [2, 3], source: "seg.png")) {
            try FeatureSegments.labelImage(
                [1, 2, 3, 4, 5, 6], height: 2, width: 3, expectedHeight: 4, expectedWidth: 3, source: "seg.png")
        }
    }
}
