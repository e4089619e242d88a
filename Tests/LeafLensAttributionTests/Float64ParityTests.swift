import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

/// Exact parity in float64 (issue 17): torchvision's ResNet18 and Captum 0.9 evaluated in double
/// (`model.double()`, double inputs; Fixtures/float64, `python3 scripts/make_fixtures.py --only float64`)
/// against LeafLens's Double path, and LeafLens's float32 path against the same float64 answers under
/// the project's one derived rule (`DerivedBound(noise: e_pt)`: at most twice PyTorch's own float32
/// distance e_pt, or 8 float32 ulps).
///
/// Cases: `seeded` (width 8, 38 classes, weights seed 1001, 2×3×40×48, targets [7, 10]) and `trained`
/// (the bundled model, trained by `leaflens train`, on samples/rust.png at 128×128: a trained network's
/// near-zero ReLU inputs), and `resnet34` / `resnet50` (the small seeded networks of the depth fixtures:
/// width 8, 10 classes, 2×3×64×48 — more BasicBlocks, and Bottleneck blocks). Every float64 result is held
/// to relative L2 ≤ `exactBound` (1e-10) over its kept elements; `LEAFLENS_REPORT_PARITY=1` prints each
/// measured distance.
///
/// The pytorch-grad-cam CAM family and Captum's segment methods are float32 in places even on a double
/// model (scripts/fixtures/float64_cams.py lists the casts): their float64 references are the libraries'
/// own code with those casts widened (CAMs) and the methods' definitions evaluated in float64 by brute
/// force (segment methods), each checked there against the library's own double run. The eigen methods'
/// principal-component sign is LAPACK's choice: each image's sign is taken from its raw map (the one of
/// the two that is closer), and the finished map computed with it.
@Suite struct Float64ParityTests {
    /// LeafLens in Double against PyTorch/Captum in float64: the issue's bound.
    static let exactBound = 1e-10

    struct Result: Codable, Sendable {
        var name: String
        var file: String
        var shape: [Int]
        var kept_stride: Int
        var torch_float32_rel_l2: Double
        /// PyTorch's float32 distance per draw (its backends and the case's reorderings).
        var torch_float32_rel_l2_by_draw: [String: Double]
        var torch_float32_rel_l2_earlier_cpu: Double?
        /// A PyTorch draw that made another discrete decision than float64 (see `float32WithinDerivedBound`),
        /// its result kept in `file`.
        var torch_float32_flip_draw: FlipDraw?
        var method: String?
        var n_steps: Int?
        var internal_batch_size: Int?
        var delta: [Double]?
        var sliding_window_shapes: [Int]?
        var strides: [Int]?
        var baseline_indices: [Int]?
        var alphas: [Double]?
        var layers: [String]?
        var aug_smooth: Bool?
        var segments: String?
        var samples: Int?
        var seed: UInt64?
        var permutations: [[Int]]?
        var coalitions: [[Int]]?
    }

    struct FlipDraw: Codable, Sendable {
        var label: String
        var file: String
        var rel_l2: Double
    }

    struct Case: Codable, Sendable {
        var name: String
        var input_shape: [Int]
        var targets: [Int]
        var depth: Int?
        var width: Int
        var classes: Int
        var weight_seed: UInt64?
        var input_seed: UInt64?
        var input_file: String?
        var reorderings: [Reordering]
        var results: [Result]

        func result(_ name: String) throws -> Result {
            try #require(results.first { $0.name == name }, "no '\(name)' in case '\(self.name)'")
        }
    }

    /// One reordering of the case's network (float64.py's `reordered`): per block (`layer3.1`), the
    /// permutation of its internal channels after conv1 (and, in a Bottleneck, after conv2). The same
    /// function in exact arithmetic; in float32 its sums run in another order.
    struct Reordering: Codable, Sendable {
        var label: String
        var seed: Int
        var blocks: [String: [[Int]]]
    }

    struct Manifest: Codable { var cases: [Case] }

    static let manifest: Manifest? = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("float64/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }()

    static let names =
        [
            "logits", "input_grad", "layer4", "layer4_grad",
            "ig_riemann_left", "ig_riemann_right", "ig_riemann_middle", "ig_riemann_trapezoid", "ig_gausslegendre",
            "ig_gausslegendre_ibs4", "gradcam_layer4_raw", "gradcam_layer3_relu_bilinear", "saliency",
            "input_x_gradient", "guided_backprop", "deconvolution", "guided_gradcam_layer4", "occlusion",
            "gradient_shap", "noise_tunnel_saliency",
        ] + camNames + ["feature_ablation", "shapley_value_sampling", "kernel_shap", "lime"]

    /// `cam_<method>_raw` (the raw map at layer4) and `cam_<method>` (the finished map) for each CAM method,
    /// and Grad-CAM over layer3 + layer4 and with aug-smooth.
    static let camNames =
        CAMMethods.names.flatMap { m in
            let stem = "cam_" + m.replacingOccurrences(of: "-", with: "_")
            return [stem + "_raw", stem]
        } + ["cam_grad_cam_layer3_layer4", "cam_grad_cam_aug_smooth"]

    struct Run: CustomTestStringConvertible, Sendable {
        var caseName: String
        var name: String
        var testDescription: String { "\(caseName).\(name)" }
    }

    static let caseNames = ["seeded", "trained", "resnet34", "resnet50"]

    static let runs: [Run] = caseNames.flatMap { c in names.map { Run(caseName: c, name: $0) } }

    static let reportParity = ProcessInfo.processInfo.environment["LEAFLENS_REPORT_PARITY"] == "1"

    // MARK: Setup

    static func `case`(_ name: String) throws -> Case {
        let m = try #require(manifest, "Fixtures/float64/manifest.json is missing or unreadable")
        return try #require(m.cases.first { $0.name == name }, "no case '\(name)' in Fixtures/float64")
    }

    /// The case's float32 weights with `reordering`'s permutations applied (rows of the producing conv and
    /// its BatchNorm, input channels of the consuming conv).
    static func floatModel(_ c: Case, reordering: Reordering?) throws -> ResNet18<Float> {
        var model = try floatModel(c)
        guard let reordering else { return model }
        for (block, orders) in reordering.blocks {
            for (k, order) in orders.enumerated() {
                let (producer, norm, consumer) = ("conv\(k + 1)", "bn\(k + 1)", "conv\(k + 2)")
                for name in [
                    "\(producer).weight", "\(norm).weight", "\(norm).bias", "\(norm).running_mean",
                    "\(norm).running_var",
                ] {
                    let key = "\(block).\(name)"
                    let t = try #require(model.parameters[key], "no \(key)")
                    try model.setParameter(key, try permuted(t, order, axis: 0))
                }
                let key = "\(block).\(consumer).weight"
                try model.setParameter(
                    key, try permuted(try #require(model.parameters[key], "no \(key)"), order, axis: 1))
            }
        }
        return model
    }

    /// `t` with index i of `axis` (0 or 1) taken from index order[i].
    static func permuted(_ t: Tensor<Float>, _ order: [Int], axis: Int) throws -> Tensor<Float> {
        let outer = axis == 0 ? 1 : t.shape[0]
        let n = t.shape[axis]
        let inner = t.count / (outer * n)
        try #require(order.count == n && Set(order) == Set(0..<n), "not a permutation of \(n) channels")
        var out = t.storage
        for a in 0..<outer {
            for (i, from) in order.enumerated() {
                for j in 0..<inner { out[(a * n + i) * inner + j] = t.storage[(a * n + from) * inner + j] }
            }
        }
        return try Tensor(shape: t.shape, storage: out)
    }

    /// The case's float32 weights, as LeafLens loads them (converted exactly for the Double path).
    static func floatModel(_ c: Case) throws -> ResNet18<Float> {
        if let seed = c.weight_seed {
            let configuration = try ResNetConfiguration(depth: c.depth ?? 18, width: c.width, classCount: c.classes)
            return try ResNet18<Float>.seeded(seed: seed, configuration: configuration)
        }
        return try ResNet18<Float>.load(
            contentsOf: FixturePaths.repositoryRoot.appendingPathComponent(
                "Sources/leaflens/Resources/default.safetensors"))
    }

    static func floatInput(_ c: Case) throws -> Tensor<Float> {
        if let seed = c.input_seed { return ResNet18<Float>.seededInput(seed: seed, shape: c.input_shape) }
        let file = try #require(c.input_file)
        return try NPY.read(FixturePaths.fixture("float64/\(file)"), as: Float.self)
    }

    static func reference(_ c: Case, _ r: Result) throws -> Tensor<Double> {
        try NPY.read(FixturePaths.fixture("float64/\(r.file)"), as: Double.self)
    }

    /// Every `stride`-th element of the flattened result, as the fixture keeps it.
    static func kept<T: TensorScalar>(_ t: Tensor<T>, stride: Int) throws -> Tensor<Double> {
        let values = Swift.stride(from: 0, to: t.count, by: stride).map { Double(t.storage[$0]) }
        return try Tensor(shape: [values.count], storage: values)
    }

    // MARK: LeafLens's result for one fixture entry, in T

    static func compute<T: TensorScalar>(
        _ c: Case, _ r: Result, as _: T.Type, reordering: Reordering? = nil
    ) throws -> Tensor<T> {
        let model = try ResNetClassifier(try floatModel(c, reordering: reordering).converted(to: T.self))
        let x = try floatInput(c).converted(to: T.self)
        let targets = c.targets
        let rules: [String: IntegrationRule] = [
            "riemann_left": .riemannLeft, "riemann_right": .riemannRight, "riemann_middle": .riemannMiddle,
            "riemann_trapezoid": .riemannTrapezoid, "gausslegendre": .gaussLegendre,
        ]
        switch r.name {
        case "logits": return try model.outputs(x)
        case "input_grad": return try model.inputGradient(x, targets: targets).gradient
        case "layer4": return try model.layerGradient(x, layer: "layer4", targets: targets).activation
        case "layer4_grad": return try model.layerGradient(x, layer: "layer4", targets: targets).gradient
        case let name where name.hasPrefix("ig_"):
            let method = try #require(r.method)
            let rule = try #require(rules[method], "rule \(method)")
            let steps = try #require(r.n_steps)
            let result = try IntegratedGradients.attribute(
                model: model, input: x, targets: targets, steps: steps, rule: rule,
                internalBatchSize: r.internal_batch_size)
            if let delta = r.delta {
                // Captum's delta in float64 is the same quantity: Σ attributions − (F(x) − F(0)).
                for (ours, theirs) in zip(result.convergenceDelta, delta) {
                    #expect(
                        T.self != Double.self || abs(Double(ours) - theirs) <= 1e-9 * max(1, abs(theirs)),
                        "\(c.name).\(name): delta \(ours) vs Captum's \(theirs)")
                }
            }
            return result.attributions
        case "gradcam_layer4_raw":
            return try GradCAM.attribute(model: model, input: x, layer: "layer4", targets: targets, relu: false)
        case "gradcam_layer3_relu_bilinear":
            return try GradCAM.attribute(
                model: model, input: x, layer: "layer3", targets: targets, relu: true, upsample: .bilinear)
        case "saliency": return try Saliency.attribute(model: model, input: x, targets: targets, absolute: true)
        case "input_x_gradient": return try InputXGradient.attribute(model: model, input: x, targets: targets)
        case "guided_backprop": return try GuidedBackprop.attribute(model: model, input: x, targets: targets)
        case "deconvolution": return try Deconvolution.attribute(model: model, input: x, targets: targets)
        case "guided_gradcam_layer4":
            return try GuidedGradCAM.attribute(
                model: model, input: x, targets: targets, parameters: .init(layer: "layer4", upsample: .nearest))
        case "occlusion":
            return try Occlusion.meanDrops(
                model: model, input: x, targets: targets, window: try #require(r.sliding_window_shapes),
                strides: try #require(r.strides), perturbationsPerEval: 8)
        case "gradient_shap":
            let (n, h, w) = (c.input_shape[0], c.input_shape[2], c.input_shape[3])
            let second = ResNet18<Float>.seededInput(seed: 2005, shape: [1, 3, h, w]).converted(to: T.self)
            let baselines = try Tensor.concatenate([Tensor<T>(zeros: [1, 3, h, w]), second])
            let parameters = GradientShap.Parameters<T>(baselines: .rows(baselines), samples: 4, stdev: 0.1, seed: 11)
            let size = 3 * h * w, rows = n * 4
            // The documented draws (Captum ran with the same, regenerated in Python from the spec):
            // float32 noise, as Captum's is, so that the Double run sees the numbers Captum saw.
            let noise = GaussianNoise(seed: 11 ^ GradientShap.noiseTag).noise(
                0..<rows * size, stdev: 0.1, as: Float.self)
            let draws = GradientShap.Draws<T>(
                baselineIndices: try #require(r.baseline_indices), alphas: try #require(r.alphas),
                noise: try Tensor(shape: [rows, 3, h, w], storage: noise.map { T(Double($0)) }))
            let seeded = try GradientShap.attribute(
                model: model, input: x, targets: targets, parameters: parameters,
                draws: T.self == Float.self ? nil : draws)
            return seeded.attributions
        case "noise_tunnel_saliency":
            let (n, h, w) = (c.input_shape[0], c.input_shape[2], c.input_shape[3])
            let rows = n * 3
            let noise = GaussianNoise(seed: 7).noise(0..<rows * 3 * h * w, stdev: 0.2, as: Float.self)
            let parameters = NoiseTunnel.Parameters(kind: .smoothGrad, samples: 3, stdev: 0.2, seed: 7)
            return try NoiseTunnel.attribute(
                model: model, input: x, targets: targets, method: .saliency(absolute: true), parameters: parameters,
                noise: T.self == Float.self
                    ? .seeded : .injected(try Tensor(shape: [rows, 3, h, w], storage: noise.map { T(Double($0)) })))
        case let name where name.hasPrefix("cam_"):
            return try camMap(c, r, model: model, x: x, raw: name.hasSuffix("_raw"))
        case "feature_ablation", "shapley_value_sampling", "kernel_shap", "lime":
            return try segmentValues(c, r, model: model, x: x)
        default:
            Issue.record("no LeafLens computation for fixture entry '\(r.name)'")
            return Tensor(zeros: [0])
        }
    }

    /// A CAM entry: the raw map `[N, 1, h, w]` at the entry's layer, or the finished map `[N, 1, H, W]`.
    /// For the eigen methods each image is computed on its own, with the principal-component sign whose
    /// raw map is closer to the fixture's (LAPACK's sign is arbitrary; `CAMFamilyResNetTests` checks that
    /// LeafLens's rule picks numpy's on its case).
    static func camMap<T: TensorScalar>(
        _ c: Case, _ r: Result, model: ResNetClassifier<T>, x: Tensor<T>, raw: Bool
    ) throws -> Tensor<T> {
        let method = try #require(r.method)
        let parameters = CAMParameters(layers: try #require(r.layers), augSmooth: r.aug_smooth ?? false)
        let targets = c.targets
        guard method.hasPrefix("eigen") else {
            return raw
                ? try CAMMethods.rawMap(method, model: model, input: x, targets: targets, parameters: parameters)
                : try CAMMethods.run(method, model: model, input: x, targets: targets, parameters: parameters)
        }
        let stem = "cam_" + method.replacingOccurrences(of: "-", with: "_")
        let rawReference = try reference(c, try c.result(stem + "_raw"))
        let plane = rawReference.count / c.input_shape[0]
        var parts: [Tensor<T>] = []
        for n in 0..<c.input_shape[0] {
            let image = x.slice(n..<(n + 1))
            let expected = try Tensor(
                shape: [plane], storage: Array(rawReference.storage[(n * plane)..<((n + 1) * plane)]))
            var chosen = parameters
            var best = Double.infinity
            for sign in [ProjectionSign.alignedWithChannelSum, .opposite] {
                var p = parameters
                p.projectionSign = sign
                let map = try CAMMethods.rawMap(
                    method, model: model, input: image, targets: [targets[n]], parameters: p)
                let error = relativeL2Error(try map.converted(to: Double.self).reshaped([plane]), expected)
                if error < best { (best, chosen) = (error, p) }
            }
            parts.append(
                raw
                    ? try CAMMethods.rawMap(
                        method, model: model, input: image, targets: [targets[n]], parameters: chosen)
                    : try CAMMethods.run(method, model: model, input: image, targets: [targets[n]], parameters: chosen))
        }
        return try Tensor.concatenate(parts)
    }

    /// A segment entry: the first image's per-segment values `[M]` (grid segments, zero baseline), with
    /// LeafLens's seeded samples — the ones the fixture injected into Captum (checked).
    static func segmentValues<T: TensorScalar>(
        _ c: Case, _ r: Result, model: ResNetClassifier<T>, x: Tensor<T>
    ) throws -> Tensor<T> {
        let spec = try #require(r.segments)
        let n = try #require(Int(spec.dropFirst("grid:".count)), "segments \(spec)")
        let segments = try FeatureSegments.grid(n, height: c.input_shape[2], width: c.input_shape[3])
        let (image, targets) = (x.slice(0..<1), [c.targets[0]])
        let values: [Double]
        switch r.name {
        case "feature_ablation":
            values = try FeatureAblation.attribute(model: model, input: image, targets: targets, segments: segments)
                .values[0]
        case "shapley_value_sampling":
            let (samples, seed) = (try #require(r.samples), try #require(r.seed))
            #expect(
                SegmentSampling.permutations(features: segments.count, count: samples, seed: seed) == r.permutations)
            values = try ShapleyValueSampling.attribute(
                model: model, input: image, targets: targets, segments: segments,
                parameters: .init(samples: samples, seed: seed)
            ).values[0]
        default:
            let (samples, seed) = (try #require(r.samples), try #require(r.seed))
            var random = SeededRandom(seed: seed)
            let drawn =
                r.name == "lime"
                ? SegmentSampling.limeCoalitions(features: segments.count, count: samples, random: &random)
                : SegmentSampling.kernelShapCoalitions(features: segments.count, count: samples, random: &random)
            #expect(drawn.map { $0.map { $0 ? 1 : 0 } } == r.coalitions, "\(c.name).\(r.name): coalitions")
            values =
                r.name == "lime"
                ? try Lime.attribute(
                    model: model, input: image, targets: targets, segments: segments,
                    parameters: .init(samples: samples, seed: seed)
                ).values[0]
                : try KernelShap.attribute(
                    model: model, input: image, targets: targets, segments: segments,
                    parameters: .init(samples: samples, seed: seed)
                ).values[0]
        }
        return try Tensor(shape: [values.count], storage: values.map { T($0) })
    }

    // MARK: Tests

    @Test func manifestCoversEveryMethod() throws {
        for name in Self.caseNames {
            let c = try Self.case(name)
            #expect(c.results.map(\.name).sorted() == Self.names.sorted(), "\(name)")
        }
    }

    /// LeafLens's Double path is PyTorch's and Captum's math: relative L2 ≤ 1e-10.
    @Test(arguments: runs) func exactInFloat64(_ run: Run) throws {
        let c = try Self.case(run.caseName)
        let r = try c.result(run.name)
        let expected = try Self.reference(c, r)
        let ours = try Self.kept(try Self.compute(c, r, as: Double.self), stride: r.kept_stride)
        #expect(ours.count == expected.count, "\(run): kept \(ours.count) elements, fixture \(expected.count)")
        let error = relativeL2Error(ours, expected)
        if Self.reportParity { print("float64 parity \(run): relative L2 \(error)") }
        #expect(error <= Self.exactBound, "\(run): LeafLens Double vs float64 reference: relative L2 \(error)")
    }

    /// LeafLens's float32 path is within the derived bound of the float64 answer, both libraries' float32
    /// error taken over the same draws: LeafLens's median over the case's network and its four reorderings
    /// against `DerivedBound(noise:)` of PyTorch's median over its eight draws (four backends, the same four
    /// reorderings; and an earlier CPU's, where recorded). Why medians: see `median`.
    ///
    /// **Decision flips.** Where the float64 run sits within float32 rounding of a discrete decision — a
    /// max-pool window whose two largest inputs, or a ReLU input and zero, are closer than float32 rounds
    /// them — a float32 run of either library may decide the other way, and its distance from float64 is
    /// then that decision's, orders of magnitude above rounding. The fixture script flags a PyTorch draw
    /// over 1000× its median draw's distance (`decision_flip` in float64.py) and keeps that draw's result.
    /// A LeafLens median over the bound is then compared with the PyTorch run that made the flipped decision:
    /// LeafLens passes if its median distance from that run is within the same bound, i.e. it made the
    /// decision PyTorch's own float32 run made and otherwise agrees to float32 rounding. The case that
    /// needs it (measured 2026-12-02, AMD EPYC with AVX-512): GradientShap on the trained case, where one
    /// stem max-pool window's two largest inputs differ by 1.4e−8 relative in float64 (0.361514738 and
    /// 0.361514733); two of PyTorch's eight draws (oneDNN off) and all of LeafLens's pick the second and are
    /// 4.37e−3 from float64. LeafLens's reorderings cannot move it: the stem's sums reduce over the image's
    /// three channels, which no reordering of the network changes. Without AVX-512 (im2col + OpenBLAS, the
    /// stem summed in another order; measured 2026-12-03, AMD EPYC) LeafLens picks float64's input and
    /// passes the ordinary bound.
    @Test(arguments: runs) func float32WithinDerivedBound(_ run: Run) throws {
        let c = try Self.case(run.caseName)
        let r = try c.result(run.name)
        let expected = try Self.reference(c, r)
        var results: [Tensor<Double>] = []
        for reordering in [nil] + c.reorderings.map(Optional.some) {
            results.append(
                try Self.kept(try Self.compute(c, r, as: Float.self, reordering: reordering), stride: r.kept_stride))
        }
        let ours = results.map { relativeL2Error($0, expected) }
        let theirs =
            Array(r.torch_float32_rel_l2_by_draw.values) + (r.torch_float32_rel_l2_earlier_cpu.map { [$0] } ?? [])
        let (error, noise) = (Self.median(ours), Self.median(theirs))
        let bound = DerivedBound(noise: noise)
        if Self.reportParity {
            print(
                "float32 \(run): LeafLens \(error) (median of \(ours.count); on the network itself \(ours[0])), "
                    + "PyTorch \(noise) (median of \(theirs.count); largest \(r.torch_float32_rel_l2)), bound \(bound.value); draws: LeafLens \(ours), PyTorch \(theirs.sorted())"
            )
        }
        if bound.admits(error) { return }
        guard let flip = r.torch_float32_flip_draw else {
            Issue.record(
                "\(run): LeafLens float32 \(error) from float64 (median over \(ours)) > bound \(bound.value) (PyTorch's median over \(theirs))"
            )
            return
        }
        let flipped = try NPY.read(FixturePaths.fixture("float64/\(flip.file)"), as: Double.self)
        let fromFlip = Self.median(results.map { relativeL2Error($0, flipped) })
        if Self.reportParity {
            print(
                "float32 \(run): LeafLens's median distance from PyTorch's \(flip.label) (\(flip.rel_l2) from float64): \(fromFlip)"
            )
        }
        #expect(
            bound.admits(fromFlip),
            "\(run): LeafLens float32 \(error) from float64 (median over \(ours)) > bound \(bound.value), and \(fromFlip) from PyTorch's \(flip.label) run, which decided a near-tie the other way (\(flip.rel_l2) from float64)"
        )
    }

    /// Causes of the kind this test finds, all fixed: BatchNorm folded in float32 (`BatchNorm2d.folded(into:)`,
    /// now in Double); the fully connected layer's one-chain float32 dot products (`Linear.forward`, now
    /// accumulated in Double), which had put Ablation-CAM's weights 2–4× PyTorch's distance from float64; and
    /// the AVX-512 convolution tile's sums in blocks of 256 (now 128), which had left the trained network's
    /// layer4 at 1.2× PyTorch's float32 error, and Score-CAM, which carries it into its masks, at 2–3× (all
    /// five of LeafLens's draws above all eight of PyTorch's).
    ///
    /// Why medians over draws. One float32 run is one draw of its error; how large a draw is depends on the
    /// order of every sum, which any kernel or summation change reshuffles. For a quantity of many numbers
    /// (a logit vector, an attribution map) draws differ little; for a quantity of a few numbers (a 2×2 CAM
    /// map, a segment value that is a difference of nearly equal logits) they differ severalfold: on the
    /// resnet50 case PyTorch's own eight draws span 3.7× on Ablation-CAM's raw map (1.5e−6 to 5.5e−6) and
    /// 69× on Score-CAM's (8.9e−7 to 6.2e−5), against 1.3× on layer4's activation; and one change that made
    /// LeafLens's float32 path more accurate overall (BatchNorm folded in Double: median error over these
    /// entries −9%) moved which of LeafLens's single draws fell outside twice PyTorch's largest. A
    /// per-entry verdict on one draw each is a coin toss there; on the median of draws over the same
    /// orderings it compares the two libraries' error sizes, which is the rule's question.
    static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    /// The decision-flip comparison can fail: every flagged PyTorch draw is as far from float64 as the manifest
    /// says (and flagged for a reason: over 1000× the median draw), and on the trained GradientShap case a
    /// result that made the flipped decision, moved by three bounds' worth of PyTorch's flipped run, is
    /// rejected by it. Which decision LeafLens's float32 path makes there depends on the CPU's kernels: the
    /// AVX-512 kernel sums the stem in oneDNN's order and makes PyTorch's flipped decision (its result is
    /// then the one perturbed); im2col + OpenBLAS (CPUs without AVX-512) sums it in another order and makes
    /// float64's, so the flip comparison must reject it as it stands, and the ordinary bound admit it (the
    /// flipped run itself is then the one perturbed).
    @Test func decisionFlipComparisonRejectsAPerturbedResult() throws {
        for c in try #require(Self.manifest).cases {
            for r in c.results {
                guard let flip = r.torch_float32_flip_draw else { continue }
                let flipped = try NPY.read(FixturePaths.fixture("float64/\(flip.file)"), as: Double.self)
                let distance = relativeL2Error(flipped, try Self.reference(c, r))
                #expect(
                    abs(distance - flip.rel_l2) <= 1e-9 * flip.rel_l2,
                    "\(c.name).\(r.name): \(distance) vs \(flip.rel_l2)")
                #expect(flip.rel_l2 > 1000 * Self.median(Array(r.torch_float32_rel_l2_by_draw.values)))
            }
        }
        let c = try Self.case("trained")
        let r = try c.result("gradient_shap")
        let flip = try #require(r.torch_float32_flip_draw, "trained.gradient_shap has no flipped draw")
        let flipped = try NPY.read(FixturePaths.fixture("float64/\(flip.file)"), as: Double.self)
        let ours = try Self.kept(try Self.compute(c, r, as: Float.self), stride: r.kept_stride)
        let bound = DerivedBound(noise: Self.median(Array(r.torch_float32_rel_l2_by_draw.values)))
        let madeFlippedDecision = bound.admits(relativeL2Error(ours, flipped))
        if !madeFlippedDecision {
            #expect(bound.admits(relativeL2Error(ours, try Self.reference(c, r))), "neither decision's answer")
        }
        if PackedMatrix.isAvailable {
            #expect(madeFlippedDecision, "the AVX-512 kernel made PyTorch's flipped decision when measured")
        }
        var perturbed = madeFlippedDecision ? ours : flipped
        for i in perturbed.storage.indices { perturbed.storage[i] += 3 * bound.value * flipped.storage[i] }
        #expect(!bound.admits(relativeL2Error(perturbed, flipped)))
    }

    /// The rule rejects a result perturbed past it: LeafLens's own float32 Grad-CAM and IG moved by
    /// three bounds' worth of the reference (relative L2 ≥ 2 bounds beyond the true error).
    @Test(arguments: ["gradcam_layer4_raw", "ig_gausslegendre"])
    func derivedBoundRejectsAPerturbedResult(_ name: String) throws {
        let c = try Self.case("trained")
        let r = try c.result(name)
        let expected = try Self.reference(c, r)
        let ours = try Self.kept(try Self.compute(c, r, as: Float.self), stride: r.kept_stride)
        let bound = DerivedBound(noise: r.torch_float32_rel_l2)
        #expect(bound.admits(relativeL2Error(ours, expected)))
        var perturbed = ours
        for i in perturbed.storage.indices { perturbed.storage[i] += 3 * bound.value * expected.storage[i] }
        let error = relativeL2Error(perturbed, expected)
        #expect(error >= 2 * bound.value, "perturbation moved the result by \(error)")
        #expect(!bound.admits(error), "\(name): \(error) accepted at \(bound.value)")
    }
}
