import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Grad-CAM on the whole ResNet18: map shapes at every named layer, the exact CAM answer at layer4,
/// and the ReLU's edge cases.
@Suite struct ResNetGradCAMTests {
    /// Spatial size of a ResNet18 value at `layer` for an H×W input, from the architecture table
    /// (out = ⌊(x + 2p − k)/s⌋ + 1): stem conv 7/2/3, max-pool 3/2/1, stages 2–4 halve with 3/2/1
    /// convolutions (the 1×1/2/0 downsample gives the same size). nil for `fc`, which has no spatial axes.
    static func spatialSize(of layer: String, height: Int, width: Int) -> [Int]? {
        func out(_ x: Int, _ k: Int, _ s: Int, _ p: Int) -> Int { (x + 2 * p - k) / s + 1 }
        if layer == "fc" { return nil }
        if layer == "avgpool" { return [1, 1] }
        var size = [out(height, 7, 2, 3), out(width, 7, 2, 3)]
        if ["conv1", "bn1", "relu"].contains(layer) { return size }
        size = size.map { out($0, 3, 2, 1) }
        guard layer.hasPrefix("layer"), let stage = Int(String(layer.dropFirst(5).prefix(1))) else { return size }
        for _ in 1..<stage { size = size.map { out($0, 3, 2, 1) } }
        return size
    }

    struct Size: Sendable, CustomTestStringConvertible {
        let height: Int, width: Int
        var testDescription: String { "\(height)×\(width)" }
    }

    /// Every layer name ResNetClassifier offers gives `[N, 1, h, w]` at the layer's resolution
    /// (`[N, 1]` for fc); upsampled (bilinear and nearest), one layer per resolution gives `[N, 1, H, W]`.
    static let upsampledLayers: Set = ["bn1", "maxpool", "layer2.0.downsample", "layer3.1.conv1", "layer4", "avgpool"]

    @Test(arguments: [Size(height: 224, width: 224), Size(height: 160, width: 192)])
    func shapesForEveryNamedLayer(_ size: Size) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 41, shape: [2, 3, size.height, size.width])
        #expect(model.layerNames.count == 67)  // 3 stem + maxpool + 4·(per-stage names) + avgpool + fc
        for layer in model.layerNames {
            let map = try GradCAM.attribute(model: model, input: x, layer: layer, targets: [1, 30], relu: false)
            guard let spatial = Self.spatialSize(of: layer, height: size.height, width: size.width) else {
                #expect(map.shape == [2, 1], "\(layer)")
                continue
            }
            #expect(map.shape == [2, 1] + spatial, "\(layer)")
            #expect(map.storage.allSatisfy { $0.isFinite }, "\(layer)")
            guard Self.upsampledLayers.contains(layer) else { continue }
            for mode in [UpsampleMode.bilinear, .nearest] {
                let up = try GradCAM.attribute(model: model, input: x, layer: layer, targets: [1, 30], upsample: mode)
                #expect(up.shape == [2, 1, size.height, size.width], "\(layer) \(mode)")
            }
        }
    }

    /// ResNet18 ends in global average pooling and a linear layer, so for logit t the gradient at
    /// layer4 is w_t/(h·w) at every position and Grad-CAM (without ReLU) is exactly the CAM map of
    /// Zhou et al.: cam[i, j] = Σₖ w_tk·Aₖ[i, j]/(h·w), w = fc.weight, A = layer4's activation (taken
    /// from a separate forward pass). Float against a Double reference, the tolerance scaled by the
    /// size of the terms being summed (512 channels at full width cancel heavily): atol
    /// 1e-5·max Σₖ|w_tk·Aₖ|/(h·w), rtol 1e-5.
    @Test(arguments: [("small", 8, [3, 17]), ("full", 64, [5])])
    func layer4IsTheClassActivationMap(_ name: String, _ width: Int, _ targets: [Int]) throws {
        let model = try SeededResNets.classifier(seed: width == 8 ? 1001 : 1003, width: width)
        let x = ResNet18<Float>.seededInput(seed: 2003, shape: [targets.count, 3, 224, 224])
        let cam = try GradCAM.attribute(model: model, input: x, layer: "layer4", targets: targets, relu: false)

        let activation = try #require(try model.unfolded.forward(x, taps: ["layer4"]).layerActivations["layer4"])
        let fc = try #require(model.model.parameters["fc.weight"])
        let (channels, h, w) = (activation.shape[1], activation.shape[2], activation.shape[3])
        var expected = [Double](repeating: 0, count: targets.count * h * w)
        var magnitude = expected
        for (n, t) in targets.enumerated() {
            for k in 0..<channels {
                let weight = Double(fc.storage[t * channels + k]) / Double(h * w)
                for p in 0..<(h * w) {
                    let term = weight * Double(activation.storage[(n * channels + k) * h * w + p])
                    expected[n * h * w + p] += term
                    magnitude[n * h * w + p] += abs(term)
                }
            }
        }
        let reference = try Tensor<Double>(shape: [targets.count, 1, h, w], storage: expected)
        let scale = magnitude.max() ?? 0
        #expect(scale > 0)
        expectClose(cam, reference, atol: 1e-5 * scale, rtol: 1e-5, "\(name) layer4 CAM")
    }

    /// With ReLU every value is ≥ 0 and equals max(raw, 0), at several depths.
    @Test(arguments: ["layer2", "layer3.1", "layer4", "layer4.0.conv2"])
    func reluMapIsNonNegativeRectifiedRawMap(_ layer: String) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 42, shape: [2, 3, 96, 96])
        let raw = try GradCAM.attribute(model: model, input: x, layer: layer, targets: [4, 9], relu: false)
        let rectified = try GradCAM.attribute(model: model, input: x, layer: layer, targets: [4, 9])
        #expect(
            raw.storage.contains { $0 < 0 }, "the raw map should have negative values for the test to mean anything")
        #expect(rectified.storage.allSatisfy { $0 >= 0 })
        #expect(rectified.storage == raw.storage.map { max($0, 0) })
    }

    /// Target row of fc.weight made negative: the layer4 map Σₖ w_tk·Aₖ/(hw) with A ≥ 0 (post-ReLU) is
    /// ≤ 0 everywhere, so the ReLU map is all zeros — at layer resolution and upsampled — never NaN.
    @Test func allNegativeMapGivesZeros() throws {
        var network = try SeededResNets.small().model
        var fc = try #require(network.parameters["fc.weight"])
        let (target, features) = (7, fc.shape[1])
        for k in 0..<features { fc.storage[target * features + k] = -abs(fc.storage[target * features + k]) - 0.01 }
        try network.setParameter("fc.weight", fc)
        let model = try ResNetClassifier(network)
        let x = ResNet18<Float>.seededInput(seed: 43, shape: [1, 3, 64, 64])

        let raw = try GradCAM.attribute(model: model, input: x, layer: "layer4", targets: [target], relu: false)
        #expect(raw.storage.allSatisfy { $0 <= 0 } && raw.storage.contains { $0 < 0 })
        for mode in UpsampleMode.allCases {
            let map = try GradCAM.attribute(model: model, input: x, layer: "layer4", targets: [target], upsample: mode)
            #expect(map.storage.allSatisfy { $0 == 0 }, "\(mode)")
            #expect(!map.storage.contains { $0.isNaN }, "\(mode)")
        }
    }
}
