import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// LeafLens's attributions on seeded torchvision ResNet18s against Captum 0.9's, from
/// Fixtures/captum (regenerate: `python3 scripts/make_fixtures.py`). Two networks: "small" (width 8,
/// two 64×64 images, targets [3, 17]) and "full" (torchvision's width 64, one 224×224 image, target 5).
///
/// Bounds (issue 17's derived rule): LeafLens's float32 result is within `DerivedBound(noise: e_pt)` of
/// Captum's float64 answer (Fixtures/captum/float64.json: the same call on the double model; e_pt =
/// Captum's own float32 distance from it), i.e. at most max(2·e_pt, 8 float32 ulps) relative L2 over the
/// kept elements — not a fixed 1e-3 / 1e-4. IG's convergence delta must match Captum's to within
/// 1e-3·|F(x) − F(0)| (it is a difference of two float32 sums of that size).
///
/// By default: IG on both networks (gauss-legendre 50 steps; gauss-legendre 16 steps with internal
/// batch 8 on the full one; riemann-trapezoid 50 on the small one), every Grad-CAM case, Occlusion
/// on the small network. Tagged `.slow` (LEAFLENS_SLOW_TESTS=1): full-width riemann-trapezoid IG
/// (≈13 s in a debug build) and full-width Occlusion (784 windows, ≈22 s in a debug build).
@Suite struct ResNetCaptumParityTests {
    struct Run: Sendable, CustomTestStringConvertible {
        let network: String
        let attribution: String
        var testDescription: String { "\(network) \(attribution)" }
    }

    static let defaultIG = [
        Run(network: "small", attribution: "ig_gl50"), Run(network: "small", attribution: "ig_trap50"),
        Run(network: "full", attribution: "ig_gl50"), Run(network: "full", attribution: "ig_gl16_ibs8"),
    ]
    static let slowIG = [Run(network: "full", attribution: "ig_trap50")]
    static let gradCAMRuns =
        [
            "gradcam_layer4_raw", "gradcam_layer4_relu", "gradcam_layer3_raw", "gradcam_layer2_relu_bilinear",
        ].map { Run(network: "small", attribution: $0) }
        + [
            "gradcam_layer4_raw", "gradcam_layer4_relu", "gradcam_layer3_raw", "gradcam_layer4_relu_bilinear",
            "gradcam_layer3_raw_nearest",
        ].map { Run(network: "full", attribution: $0) }

    @Test func manifestCoversTheIssuesCases() throws {
        #expect(Set(CaptumFixtures.cases.map(\.name)) == ["small", "full"])
        let all =
            (Self.defaultIG + Self.slowIG + Self.gradCAMRuns).map(\.testDescription)
            + ["small occlusion_w7_s4", "full occlusion_w15_s8"]
        let present = CaptumFixtures.cases.flatMap { c in c.attributions.map { "\(c.name) \($0.name)" } }
        #expect(Set(all) == Set(present))
    }

    /// The fixture's input is our SplitMix64 input, bit for bit.
    @Test(arguments: ["small", "full"])
    func seededInputMatchesFixture(_ network: String) throws {
        let c = try CaptumFixtures.case(network)
        let stored = try NPY.read(FixturePaths.fixture("captum/\(c.input_file)"), as: Float.self)
        #expect(c.input == stored)
    }

    // MARK: Integrated Gradients

    @Test(arguments: defaultIG)
    func integratedGradients(_ run: Run) throws { try checkIntegratedGradients(run) }

    @Test(.tags(.slow), .enabled(if: slowTestsEnabled), arguments: slowIG)
    func integratedGradientsFullWidthTrapezoid(_ run: Run) throws { try checkIntegratedGradients(run) }

    func checkIntegratedGradients(_ run: Run) throws {
        let c = try CaptumFixtures.case(run.network)
        let captum = try c.attribution(run.attribution)
        let rule: IntegrationRule = try #require(
            ["gausslegendre": .gaussLegendre, "riemann_trapezoid": .riemannTrapezoid][captum.params.method ?? ""])
        let result = try IntegratedGradients.attribute(
            model: try CaptumFixtures.classifier(c), input: c.input, targets: c.targets,
            steps: try #require(captum.params.n_steps), rule: rule,
            internalBatchSize: captum.params.internal_batch_size)
        try CaptumFixtures.expectWithinDerivedBound(
            result.attributions, network: run.network, attribution: run.attribution)

        let (fx, fb, delta) = (try #require(captum.f_x), try #require(captum.f_baseline), try #require(captum.delta))
        let scale = zip(fx, fb).map { abs($0 - $1) }
        let differences = zip(result.convergenceDelta, delta).map { abs(Double($0) - $1) }
        for i in delta.indices {
            #expect(
                differences[i] <= 1e-3 * scale[i],
                "\(run): delta \(result.convergenceDelta[i]) vs Captum's \(delta[i]) (|F(x) − F(0)| = \(scale[i]))")
        }
    }

    // MARK: Grad-CAM

    @Test(arguments: gradCAMRuns)
    func gradCAM(_ run: Run) throws {
        let c = try CaptumFixtures.case(run.network)
        let captum = try c.attribution(run.attribution)
        let upsample: UpsampleMode =
            try captum.params.interpolate.map {
                try #require(UpsampleMode(rawValue: $0.mode))
            } ?? .none
        let map = try GradCAM.attribute(
            model: try CaptumFixtures.classifier(c), input: c.input, layer: try #require(captum.params.layer),
            targets: c.targets, relu: try #require(captum.params.relu_attributions as Bool?), upsample: upsample)
        try CaptumFixtures.expectWithinDerivedBound(map, network: run.network, attribution: run.attribution)
    }

    // MARK: Occlusion

    @Test func occlusionSmall() throws { try checkOcclusion(network: "small", attribution: "occlusion_w7_s4") }

    @Test(.tags(.slow), .enabled(if: slowTestsEnabled))
    func occlusionFullWidth() throws { try checkOcclusion(network: "full", attribution: "occlusion_w15_s8") }

    func checkOcclusion(network: String, attribution: String) throws {
        let c = try CaptumFixtures.case(network)
        let captum = try c.attribution(attribution)
        let window = try #require(captum.params.sliding_window_shapes)
        let strides: [Int] = try #require(captum.params.strides)
        let result = try Occlusion.attribute(
            model: try CaptumFixtures.classifier(c), input: c.input, targets: c.targets,
            window: window, strides: strides,
            perturbationsPerEval: try #require(captum.params.perturbations_per_eval))
        try CaptumFixtures.expectWithinDerivedBound(result, network: network, attribution: attribution)
    }
}
