import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Synchronization
import Testing

@testable import LeafLensAttribution

/// Attribution on resnet34 and resnet50 against Captum 0.9 and pytorch-grad-cam 1.5.7, on the seeded networks
/// of Fixtures/depths (`scripts/fixtures/depths_captum.py`; case names, seeds, shapes and targets from
/// depths.py's manifest): width 8 on two 64×48 images, and torchvision's full width on one 224×224 image.
///
/// The resnet18 tolerances (`ResNetCaptumParityTests`, `CAMFamilyResNetTests`): relative L2 error
/// ‖ours − ref‖₂/‖ref‖₂ ≤ 1e-3 for IG, with its convergence delta within 1e-3·|F(x) − F(0)| of the
/// reference's; ≤ 1e-4 for Grad-CAM, Occlusion and AblationCAM's raw map. IG and Grad-CAM references are
/// Captum run in float64 (these seeded deep networks are badly conditioned); the bound is `DerivedBound`'s
/// rule, max(2 · PyTorch's own float32 distance from float64 (`torch_float32_rel_l2`, measured by the
/// script), the tolerance), as `DepthParityTests` does for logits and input gradients. The 224×224 IG and Occlusion maps are compared at every `kept_stride`-th element.
///
/// By default: every small-width case, full-width Grad-CAM. Tagged `.slow` (LEAFLENS_SLOW_TESTS=1): the
/// full-width IG-50 and Occlusion (729 windows) of resnet34 and resnet50.
@Suite struct DepthAttributionParityTests {
    struct Parameters: Codable, Sendable {
        var layer: String?
        var relu_attributions: Bool?
        var n_steps: Int?
        var sliding_window_shapes: [Int]?
        var strides: [Int]?
        var perturbations_per_eval: Int?
        var window_counts: [Int]?
    }

    /// PyTorch's float32-vs-float64 distance on the logit drops of sampled windows (image 0).
    struct Sample: Codable, Sendable {
        var windows: [Int]
        var drops_float64: [Double]
        var rel_l2: Double
    }

    struct Attribution: Codable, Sendable {
        var name: String
        var file: String
        var shape: [Int]
        var kept_stride: Int
        var params: Parameters
        var delta: [Double]?
        var f_x: [Double]?
        var f_baseline: [Double]?
        var torch_float32_rel_l2: Double?
        var torch_float32_rel_l2_kept: Double?
        var torch_float32_sample: Sample?
    }

    struct AttributionCase: Codable, Sendable {
        var name: String
        var targets: [Int]
        var attributions: [Attribution]
    }

    struct NetworkCase: Codable, Sendable {
        var name: String
        var depth: Int
        var width: Int
        var classes: Int
        var weight_seed: UInt64
        var input_seed: UInt64
        var input_shape: [Int]
    }

    struct Manifest<Case: Codable>: Codable { var cases: [Case] }

    static func load<Case: Codable>(_ file: String, as: Case.Type) -> [Case] {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("depths/\(file)")),
            let manifest = try? JSONDecoder().decode(Manifest<Case>.self, from: data)
        else { return [] }
        return manifest.cases
    }

    static let attributionCases = load("captum-manifest.json", as: AttributionCase.self)
    static let networkCases = load("manifest.json", as: NetworkCase.self)

    struct Run: Sendable, CustomTestStringConvertible {
        let network: String
        let attribution: String
        var testDescription: String { "\(network) \(attribution)" }
    }

    static let small = ["resnet34-small", "resnet50-small"], full = ["resnet34-full", "resnet50-full"]
    static let gradCAMNames = ["gradcam_layer4_raw", "gradcam_layer4_relu", "gradcam_layer3_raw"]
    static func runs(_ networks: [String], _ names: [String]) -> [Run] {
        networks.flatMap { n in names.map { Run(network: n, attribution: $0) } }
    }

    private static let classifiers = Mutex<[String: ResNetClassifier<Float>]>([:])

    /// The seeded network, its input, targets and the reference for `run`.
    func setup(_ run: Run) throws -> (ResNetClassifier<Float>, Tensor<Float>, [Int], Attribution) {
        let network = try #require(Self.networkCases.first { $0.name == run.network }, "no network case \(run.network)")
        let attributions = try #require(
            Self.attributionCases.first { $0.name == run.network }, "no attribution case \(run.network)")
        let reference = try #require(attributions.attributions.first { $0.name == run.attribution }, "no \(run)")
        let model: ResNetClassifier<Float>
        if let hit = Self.classifiers.withLock({ $0[network.name] }) {
            model = hit
        } else {
            let configuration = try ResNetConfiguration(
                depth: network.depth, width: network.width, classCount: network.classes)
            model = try ResNetClassifier(
                try ResNet<Float>.seeded(seed: network.weight_seed, configuration: configuration))
            Self.classifiers.withLock { $0[network.name] = model }
        }
        let x = ResNet<Float>.seededInput(seed: network.input_seed, shape: network.input_shape)
        return (model, x, attributions.targets, reference)
    }

    func stored(_ a: Attribution) throws -> Tensor<Float> {
        try NPY.read(FixturePaths.fixture("depths/\(a.file)"), as: Float.self)
    }

    /// Every `stride`-th element of `t` in C order, as the fixture keeps them (`t` itself for stride 1).
    func kept(_ t: Tensor<Float>, _ a: Attribution) throws -> Tensor<Float> {
        #expect(t.shape == a.shape, "shape \(t.shape), reference \(a.shape)")
        guard a.kept_stride > 1 else { return t }
        let values = Swift.stride(from: 0, to: t.count, by: a.kept_stride).map { t.storage[$0] }
        return Tensor(uncheckedShape: [values.count], storage: values)
    }

    /// The resnet18 bound, or twice PyTorch's own float32 distance from the float64 reference when that is
    /// larger (`float32Bound`).
    func bound(_ tolerance: Double, _ a: Attribution) -> Double {
        Self.float32Bound(
            torch: a.kept_stride > 1 ? a.torch_float32_rel_l2_kept ?? 0 : a.torch_float32_rel_l2 ?? 0,
            floor: tolerance)
    }

    /// The float32 bound against a float64 reference: `DerivedBound`'s rule with PyTorch's own float32
    /// distance as the noise and the resnet18 tolerance as the floor, max(2 · torch, floor) — LeafLens's
    /// float32 error may be as large as PyTorch's own and no more than about twice it.
    static func float32Bound(torch: Double, floor: Double) -> Double {
        DerivedBound(noise: torch, floor: floor).value
    }

    @Test func manifestCoversEveryCase() {
        #expect(Self.attributionCases.map(\.name) == Self.small + Self.full)
        for c in Self.attributionCases {
            var expected = ["ig_gl50", "occlusion"] + Self.gradCAMNames
            if Self.small.contains(c.name) { expected += ["ablation_layer4_raw", "ablation_layer3_raw"] }
            #expect(Set(c.attributions.map(\.name)) == Set(expected), "\(c.name)")
        }
    }

    // MARK: Integrated Gradients (gauss-legendre, 50 steps)

    @Test(arguments: runs(small, ["ig_gl50"])) func integratedGradients(_ run: Run) throws {
        try checkIntegratedGradients(run)
    }

    @Test(.tags(.slow), .enabled(if: slowTestsEnabled), arguments: runs(full, ["ig_gl50"]))
    func integratedGradientsFullWidth(_ run: Run) throws { try checkIntegratedGradients(run) }

    func checkIntegratedGradients(_ run: Run) throws {
        let (model, x, targets, reference) = try setup(run)
        let steps = try #require(reference.params.n_steps)
        let result = try IntegratedGradients.attribute(
            model: model, input: x, targets: targets, steps: steps, rule: .gaussLegendre)
        let expected = try stored(reference)
        let ours = try kept(result.attributions, reference)
        report(run, kept: ours, expected)
        let torchFloat32 =
            (reference.kept_stride > 1 ? reference.torch_float32_rel_l2_kept : reference.torch_float32_rel_l2) ?? 0
        if torchFloat32 > 1e-3 {
            // PyTorch's own float32 IG misses the bound against float64 (ReLU decisions near zero along the
            // path flip with rounding in this badly conditioned network): float32 cannot be held to it. The
            // same code in Double must meet it; the float32 result is reported beside PyTorch's distance.
            let double = try ResNetClassifier(model.model.converted(to: Double.self))
            let exact = try IntegratedGradients.attribute(
                model: double, input: x.converted(to: Double.self), targets: targets, steps: steps, rule: .gaussLegendre
            )
            let exactKept = try kept(exact.attributions.converted(to: Float.self), reference)
            report(run, kept: exactKept, expected, note: "(Double)")
            expectRelativeL2(exactKept, expected, atMost: 1e-3, "\(run) in Double")
            // Float32 is held to the bound float32 itself allows here: twice PyTorch's own distance.
            expectRelativeL2(
                ours, expected, atMost: Self.float32Bound(torch: torchFloat32, floor: 1e-3),
                "\(run) in Float (PyTorch's float32: \(torchFloat32))")
        } else {
            expectRelativeL2(ours, expected, atMost: 1e-3, run.testDescription)
        }
        let (fx, fb, delta) = (
            try #require(reference.f_x), try #require(reference.f_baseline), try #require(reference.delta)
        )
        for i in delta.indices {
            let scale = abs(fx[i] - fb[i])
            #expect(
                abs(Double(result.convergenceDelta[i]) - delta[i]) <= 1e-3 * scale,
                "\(run): delta \(result.convergenceDelta[i]) vs Captum's \(delta[i]) (|F(x) − F(0)| = \(scale))")
        }
    }

    // MARK: Grad-CAM

    @Test(arguments: runs(small + full, gradCAMNames)) func gradCAM(_ run: Run) throws {
        let (model, x, targets, reference) = try setup(run)
        let map = try GradCAM.attribute(
            model: model, input: x, layer: try #require(reference.params.layer), targets: targets,
            relu: try #require(reference.params.relu_attributions as Bool?), upsample: .none)
        let expected = try stored(reference)
        report(run, kept: try kept(map, reference), expected)
        expectRelativeL2(try kept(map, reference), expected, atMost: bound(1e-4, reference), run.testDescription)
    }

    // MARK: Occlusion

    @Test(arguments: runs(small, ["occlusion"])) func occlusion(_ run: Run) throws { try checkOcclusion(run) }

    @Test(.tags(.slow), .enabled(if: slowTestsEnabled), arguments: runs(full, ["occlusion"]))
    func occlusionFullWidth(_ run: Run) throws { try checkOcclusion(run) }

    /// The reference is Captum in float32 (float64 over 729 windows was too slow to generate); its
    /// float32-vs-float64 distance on sampled windows' logit drops is recorded and reported.
    func checkOcclusion(_ run: Run) throws {
        let (model, x, targets, reference) = try setup(run)
        let p = reference.params
        let stridesGiven: [Int] = try #require(p.strides)
        let result = try Occlusion.attribute(
            model: model, input: x, targets: targets, window: try #require(p.sliding_window_shapes),
            strides: stridesGiven, perturbationsPerEval: try #require(p.perturbations_per_eval))
        let expected = try stored(reference)
        let sample = try #require(reference.torch_float32_sample)
        report(
            run, kept: try kept(result, reference), expected,
            note: "torch float32 vs float64 on sampled drops: \(sample.rel_l2)")
        guard sample.rel_l2 > 1e-4 else {
            expectRelativeL2(try kept(result, reference), expected, atMost: 1e-4, run.testDescription)
            return
        }
        // The float32 reference is itself further than the bound from float64 (logit drops of a few units
        // on logits of ~1e3–1e4): the same windows in Double must meet it against PyTorch's float64 drops.
        let window = try #require(p.sliding_window_shapes), strides = try #require(p.strides)
        let columns = try #require(p.window_counts)[1]
        let program = try model.model.converted(to: Double.self).program(for: .attribution)
        let example = x.slice(0..<1).converted(to: Double.self)
        var copies: [Double] = []
        for index in sample.windows {
            var copy = example.storage
            let (row, column) = (index / columns * strides[1], index % columns * strides[2])
            let (h, w) = (example.shape[2], example.shape[3])
            for c in 0..<window[0] {
                for i in row..<min(h, row + window[1]) {
                    for j in column..<min(w, column + window[2]) { copy[(c * h + i) * w + j] = 0 }
                }
            }
            copies += copy
        }
        let occluded = try program.forward(
            try Tensor(shape: [sample.windows.count] + Array(example.shape.dropFirst()), storage: copies)
        ).outputs
        let classes = occluded.shape[1], target = targets[0]
        let clean = try program.forward(example).outputs.storage[target]
        let drops = (0..<sample.windows.count).map { clean - occluded.storage[$0 * classes + target] }
        let ours = try Tensor(shape: [drops.count], storage: drops.map { Float($0) })
        let theirs = try Tensor(shape: [drops.count], storage: sample.drops_float64.map { Float($0) })
        report(run, kept: ours, theirs, note: "(Double, sampled windows' drops)")
        expectRelativeL2(ours, theirs, atMost: 1e-4, "\(run) sampled windows in Double")
        // The stored map is PyTorch's float32 result: two float32 results, each about PyTorch's own distance
        // from float64, are held to twice that distance.
        expectRelativeL2(
            try kept(result, reference), expected, atMost: Self.float32Bound(torch: sample.rel_l2, floor: 1e-4),
            "\(run) in Float (PyTorch's float32 on sampled drops: \(sample.rel_l2))")
    }

    // MARK: AblationCAM (pytorch-grad-cam's raw map, through the layer replay)

    @Test(arguments: runs(small, ["ablation_layer4_raw", "ablation_layer3_raw"])) func ablationCAM(_ run: Run) throws {
        let (model, x, targets, reference) = try setup(run)
        let layer = try #require(reference.params.layer)
        let raw = try CAMEngine.rawMap(
            model, x, targets, layer: layer, CAMParameters(layers: [layer]), project: false,
            weighting: { CAMEngine.channelWeighted($0, weights: try AblationCAM.weights(model, $0, batchSize: 32)) })
        let expected = try stored(reference)
        report(run, kept: raw, expected)
        expectRelativeL2(raw, expected, atMost: 1e-4, run.testDescription)
    }

    /// LEAFLENS_REPORT_PARITY=1 prints each case's measured error (for Fixtures/README.md and reports).
    func report(_ run: Run, kept actual: Tensor<Float>, _ expected: Tensor<Float>, note: String = "") {
        guard ProcessInfo.processInfo.environment["LEAFLENS_REPORT_PARITY"] == "1", actual.shape == expected.shape
        else { return }
        print("parity \(run): relative L2 \(relativeL2Error(actual, expected)) \(note)")
    }
}

/// The layer replay AblationCAM runs on, at every depth: derived from the program's steps, it resumes at
/// every block boundary and reproduces the full network's logits there; inner values are refused.
@Suite struct ResNetLayerReplayTests {
    static func classifier(depth: Int) throws -> ResNetClassifier<Float> {
        try ResNetClassifier(
            try ResNet<Float>.seeded(
                seed: 1300 + UInt64(depth),
                configuration: try ResNetConfiguration(depth: depth, width: 4, classCount: 6)))
    }

    /// The boundaries are exactly the stem's outputs (bn1, relu, maxpool), every block output with its stage
    /// alias, and avgpool.
    @Test(arguments: [18, 34, 50, 101]) func boundariesFollowTheBlockTable(_ depth: Int) throws {
        let configuration = try ResNetConfiguration(depth: depth, width: 2, classCount: 3)
        let program = try ResNet<Float>.seeded(seed: 1, configuration: configuration).program(for: .attribution)
        var expected = ["bn1", "relu", "maxpool"]
        for block in configuration.blocks {
            expected.append(block.name)
            if block.index + 1 == configuration.stageBlocks[block.stage - 1] { expected.append("layer\(block.stage)") }
        }
        expected.append("avgpool")
        #expect(program.boundaryLayers == expected)
    }

    @Test(arguments: [34, 50]) func replayEqualsTheFullForward(_ depth: Int) throws {
        let model = try Self.classifier(depth: depth)
        let x = ResNet<Float>.seededInput(seed: 7, shape: [2, 3, 64, 48])
        let logits = try model.outputs(x)
        let scale = max(1, logits.storage.map { abs(Double($0)) }.max() ?? 0)
        for layer in model.folded.boundaryLayers {
            let replay = try #require(try model.layerReplay(x, layer: layer), "\(layer)")
            expectClose(
                try replay.outputs(replay.activation), logits, atol: 1e-5 * scale, rtol: 0,
                "resnet\(depth) above \(layer)")
        }
        for inner in ["layer4.2.relu", "layer2.0.downsample", "fc", "layer1.0.conv1"] {
            #expect(try model.layerReplay(x, layer: inner) == nil, "\(inner)")
        }
        if depth == 50 { #expect(try model.layerReplay(x, layer: "layer3.5.bn3") == nil) }
    }

    /// AblationCAM runs at block outputs of both block kinds (finite maps of the input's size) and refuses a
    /// value inside a block with a typed error.
    @Test(arguments: [34, 50]) func ablationCAMRunsAtBottleneckAndBasicLayers(_ depth: Int) throws {
        let model = try Self.classifier(depth: depth)
        let x = ResNet<Float>.seededInput(seed: 8, shape: [1, 3, 64, 48])
        for layer in ["layer4", "layer3.1", "layer2"] {
            let map = try AblationCAM.attribute(
                model: model, input: x, targets: [2], parameters: CAMParameters(layers: [layer]))
            #expect(map.shape == [1, 1, 64, 48])
            #expect(map.storage.allSatisfy { $0.isFinite })
        }
        #expect(throws: AttributionError.self) {
            try AblationCAM.attribute(
                model: model, input: x, targets: [2], parameters: CAMParameters(layers: ["layer4.0.bn2"]))
        }
    }
}
