import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Attribution on resnet34 and resnet50 (seeded, small widths): the occlusion fast path (derived from the
/// folded program's steps, Bottleneck blocks included) against whole occluded batches, Grad-CAM at
/// torchvision module paths inside Bottlenecks, and IG's completeness.
@Suite struct ResNetDepthTests {
    static func classifier(depth: Int) throws -> ResNetClassifier<Float> {
        try ResNetClassifier(
            try ResNet<Float>.seeded(
                seed: 1200 + UInt64(depth),
                configuration: try ResNetConfiguration(depth: depth, width: 4, classCount: 6)))
    }

    /// |Δ| ≤ 1e-4·max|attr|, as for resnet18 (ResNetOcclusionTests).
    @Test(arguments: [34, 50]) func occlusionFastPathMatchesWholeBatchForwards(_ depth: Int) throws {
        let fast = try Self.classifier(depth: depth)
        let whole = try ResNetClassifier(fast.model, foldingBatchNorm: false)
        let x = ResNet<Float>.seededInput(seed: 61, shape: [2, 3, 40, 36])
        let (window, strides) = ([3, 9, 9], [3, 5, 5])
        let a = try Occlusion.attribute(
            model: fast, input: x, targets: [1, 4], window: window, strides: strides, baseline: .constant(0.25),
            perturbationsPerEval: 8)
        let b = try Occlusion.attribute(
            model: whole, input: x, targets: [1, 4], window: window, strides: strides, baseline: .constant(0.25),
            perturbationsPerEval: 8)
        let scale = b.storage.map { abs(Double($0)) }.max() ?? 0
        #expect(scale > 0)
        expectClose(a, b, atol: 1e-4 * scale, rtol: 0, "resnet\(depth) fast path vs whole forwards")
    }

    @Test(arguments: [
        ("layer4", [2, 128, 2, 2]), ("layer4.2.conv3", [2, 128, 2, 2]), ("layer3.5.relu", [2, 16, 3, 3]),
        ("layer1.0.downsample", [2, 16, 10, 9]),
    ])
    func gradCAMAtBottleneckLayers(_ layer: String, _ shape: [Int]) throws {
        let model = try Self.classifier(depth: 50)
        let x = ResNet<Float>.seededInput(seed: 62, shape: [2, 3, 40, 36])
        let (_, activation, gradient) = try model.layerGradient(x, layer: layer, targets: [0, 5])
        #expect(activation.shape == shape && gradient.shape == shape)
        let cam = try GradCAM.attribute(model: model, input: x, layer: layer, targets: [0, 5])
        #expect(cam.shape == [2, 1, shape[2], shape[3]])
    }

    /// IG's convergence delta Σ attributions − (F(x) − F(b)) as the method reports it equals the one
    /// recomputed here from forward passes of the unfolded program (50 Gauss–Legendre steps).
    @Test(arguments: [34, 50]) func integratedGradientsDeltaIsRecomputed(_ depth: Int) throws {
        let model = try Self.classifier(depth: depth)
        let x = ResNet<Float>.seededInput(seed: 63, shape: [1, 3, 64, 64])
        let result = try IntegratedGradients.attribute(model: model, input: x, targets: [3], steps: 50)
        let fx = try model.unfolded.forward(x).outputs.storage[3]
        let fb = try model.unfolded.forward(Tensor(zeros: x.shape)).outputs.storage[3]
        let difference = Double(fx) - Double(fb)
        let delta = result.attributions.storage.reduce(0.0) { $0 + Double($1) } - difference
        #expect(abs(difference) > 1)
        #expect(
            abs(delta - Double(result.convergenceDelta[0])) <= 1e-4 * abs(difference) + 1e-4,
            "recomputed delta \(delta), method's \(result.convergenceDelta[0]), F(x) − F(b) = \(difference)")
    }
}
