import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

/// The pytorch-grad-cam family on the seeded full-width ResNet18 at 224×224 (Fixtures/methods_cam): each
/// method's raw 7×7 map and finished map against the float64 references (`methods_cam_float64.py`) under
/// issue 17's rule, `DerivedBound(noise: e_pt)`; so are the variants (several layers, eigen-smooth,
/// aug-smooth, aug-smooth on the argmax).
@Suite struct CAMFamilyResNetTests {
    func setup() throws -> (MethodsCAMManifest, ResNetClassifier<Float>, Tensor<Float>) {
        let manifest = try MethodsCAMManifest.load()
        let model = try SeededResNets.classifier(seed: manifest.camRequired.weight_seed, classes: 38, width: 64)
        let x = ResNet18<Float>.seededInput(
            seed: try manifest.camRequired.input_seed, shape: try manifest.camRequired.input_shape)
        return (manifest, model, x)
    }

    /// ScoreCAM is 512 forward passes of the full network: gated with the other slow sweeps.
    static let defaultCases = CAMMethods.names.filter { $0 != "score-cam" }

    @Test(arguments: defaultCases)
    func singleLayerParity(_ method: String) throws { try check(method) }

    @Test(.tags(.slow), .enabled(if: slowTestsEnabled))
    func scoreCAMParity() throws { try check("score-cam") }

    func check(_ method: String) throws {
        let (manifest, model, x) = try setup()
        let reference = try #require(try manifest.camRequired.cases.first { $0.name == method })
        var parameters = CAMParameters(layers: reference.layers)
        var finalTolerance = 1e-6  // the resize alone: cv2 vs half-pixel bilinear, ≤ 2.6e−7 (§C0)
        let target = try manifest.camRequired.target
        // The raw map at the layer, compared sign-invariantly for the projections (LAPACK's sign is arbitrary).
        if let rawFile = reference.raw_files?.first {
            let expected = try MethodsCAMManifest.array(rawFile)
            var raw = try CAMMethods.rawMap(method, model: model, input: x, targets: [target], parameters: parameters)
            raw = try raw.reshaped(expected.shape)
            if method.hasPrefix("eigen") {
                let negated = try Tensor(shape: raw.shape, storage: raw.storage.map { -$0 })
                if relativeL2Error(negated, expected) < relativeL2Error(raw, expected) {
                    parameters.projectionSign = .opposite
                    raw = negated
                    Issue.record("\(method): numpy's principal-component sign is the opposite of LeafLens's rule here")
                }
            }
            try CaptumFixtures.expectWithinDerivedBound(
                try raw.reshaped(expected.shape), network: "full", attribution: Self.float64Name(method) + "_raw",
                directory: "methods_cam")
            // A raw-map difference δ moves the min–max normalised map by up to ≈ 2δ/range.
            let relu = expected.storage.map { max($0, 0) }
            let range = Double((relu.max() ?? 0) - (relu.min() ?? 0))
            let delta = zip(raw.storage, expected.storage).map { Double(abs($0 - $1)) }.max() ?? 0
            if range > 0 { finalTolerance += 2 * delta / range }
        }
        let map = try CAMMethods.run(method, model: model, input: x, targets: [target], parameters: parameters)
        try CaptumFixtures.expectWithinDerivedBound(
            try map.reshaped([1, 224, 224]), network: "full", attribution: Self.float64Name(method),
            directory: "methods_cam")
        if let full = reference.final_file {
            let whole = try MethodsCAMManifest.array(full)
            expectClose(
                try map.reshaped(whole.shape), whole, atol: finalTolerance, rtol: 0, "\(method) final, element-wise")
        }
    }

    /// The float64 fixture's entry name: `cam_` + the method with `_` for `-`.
    static func float64Name(_ method: String) -> String { "cam_" + method.replacingOccurrences(of: "-", with: "_") }

    struct Variant: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        Variant(name: "grad-cam layer3+layer4", method: "grad-cam"),
        Variant(name: "layer-cam layer3+layer4", method: "layer-cam"),
        Variant(name: "grad-cam eigen-smooth", method: "grad-cam"),
        Variant(name: "grad-cam-plus-plus eigen-smooth", method: "grad-cam-plus-plus"),
        Variant(name: "grad-cam aug-smooth", method: "grad-cam"),
        Variant(name: "grad-cam aug-smooth argmax", method: "grad-cam"),
    ])
    func variantParity(_ variant: Variant) throws {
        let (manifest, model, x) = try setup()
        let reference = try #require(try manifest.camRequired.cases.first { $0.name == variant.name })
        let parameters = CAMParameters(
            layers: reference.layers, eigenSmooth: reference.eigen_smooth, augSmooth: reference.aug_smooth)
        let map = try CAMMethods.run(
            variant.method, model: model, input: x, targets: reference.targets, parameters: parameters)
        try CaptumFixtures.expectWithinDerivedBound(
            try map.reshaped([1, 224, 224]), network: "full",
            attribution: try #require(Self.float64Names[variant.name]),
            directory: "methods_cam")
    }

    /// The float64 fixture's entry of each variant.
    static let float64Names = [
        "grad-cam layer3+layer4": "cam_grad_cam_layer3_layer4", "grad-cam aug-smooth": "cam_grad_cam_aug_smooth",
        "grad-cam aug-smooth argmax": "cam_grad_cam_aug_smooth_argmax",
        "grad-cam eigen-smooth": "cam_grad_cam_eigen_smooth",
        "grad-cam-plus-plus eigen-smooth": "cam_grad_cam_plus_plus_eigen_smooth",
        "layer-cam layer3+layer4": "cam_layer_cam_layer3_layer4",
    ]

    /// ResNet18's layer4 feeds global average pooling and fc directly, so ∂logit/∂A is spatially constant:
    /// Grad-CAM, XGrad-CAM and HiResCAM coincide, and LayerCAM = Grad-CAM element-wise (A ≥ 0) (§C6).
    @Test func identitiesAtLayer4() throws {
        let (_, model, x) = try setup()
        let p = CAMParameters(layers: ["layer4"])
        let grad = try CAMMethods.run("grad-cam", model: model, input: x, targets: [5], parameters: p)
        for other in ["xgrad-cam", "hires-cam"] {
            expectClose(
                try CAMMethods.run(other, model: model, input: x, targets: [5], parameters: p), grad, atol: 1e-5,
                rtol: 0, other)
        }
        let layer = try CAMMethods.run("layer-cam", model: model, input: x, targets: [5], parameters: p)
        expectClose(
            try CAMMethods.run("grad-cam-element-wise", model: model, input: x, targets: [5], parameters: p), layer,
            atol: 1e-6, rtol: 0)
    }

    /// The replay above layer4 and layer3.1 reproduces the full network's logits (the fast path equals
    /// the slow one), and inner layers are refused.
    @Test func layerReplayEqualsTheFullForward() throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 5, shape: [2, 3, 64, 64])
        let logits = try model.outputs(x)
        for layer in ["maxpool", "layer1.0", "layer2", "layer3.1", "layer4", "avgpool"] {
            let replay = try #require(try model.layerReplay(x, layer: layer), "\(layer)")
            expectClose(try replay.outputs(replay.activation), logits, atol: 1e-5, rtol: 1e-4, layer)
        }
        #expect(try model.layerReplay(x, layer: "layer4.1.bn2") == nil)
        #expect(try model.layerReplay(x, layer: "fc") == nil)
    }
}

/// The eigen-decomposition and the projection it serves.
@Suite struct CAMProjectionTests {
    @Test func jacobiDiagonalisesSymmetricMatrices() {
        var random = SeededRandom(seed: 17)
        for n in [1, 2, 5, 17] {
            var b = (0..<(n * n)).map { _ in random.uniform(-1, 1) }
            for i in 0..<n { for j in 0..<i { b[i * n + j] = b[j * n + i] } }
            let (values, vectors) = SymmetricEigen.decompose(b, n: n)
            for k in 0..<n {
                for i in 0..<n {
                    var av = 0.0
                    for j in 0..<n { av += b[i * n + j] * vectors[j * n + k] }
                    #expect(abs(av - values[k] * vectors[i * n + k]) < 1e-10, "n \(n) k \(k)")
                }
            }
        }
    }

    /// Both Gram routes (h·w ≤ C and h·w > C) give the same projection, and the sign rule holds.
    @Test func bothGramRoutesAgree() {
        var random = SeededRandom(seed: 3)
        let (channels, area) = (6, 6)
        let values = (0..<(channels * area)).map { _ in random.uniform(0, 1) }
        let a = CAMProjection.firstComponent(values, channels: channels, area: area, sign: .alignedWithChannelSum)
        // Drop one channel's worth of equality: 5 channels forces the C < h·w route.
        let b = CAMProjection.firstComponent(
            Array(values.prefix(5 * area)), channels: 5, area: area, sign: .alignedWithChannelSum)
        let c = CAMProjection.firstComponent(
            Array(values.prefix(5 * area)) + [Double](repeating: 0, count: area), channels: 6, area: area,
            sign: .alignedWithChannelSum)
        expectClose(b, c, atol: 1e-9, rtol: 0)
        #expect(a.count == area)
        let opposite = CAMProjection.firstComponent(values, channels: channels, area: area, sign: .opposite)
        expectClose(opposite, a.map { -$0 }, atol: 0, rtol: 0)
    }
}
