import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct GradCAMTests {
    struct KnownCase: Sendable, CustomTestStringConvertible {
        let name: String
        let layer: String
        var addend: [Double]? = nil  // Captum's second input, as a fixed addend
        var sumOverChannels = true
        var relu = false
        var upsample: UpsampleMode = .none
        let shape: [Int]
        let expected: [Double]
        var testDescription: String { name }
    }

    /// ConvNet_One_Conv on arange(16), target 0 (spec §7.2 G3–G5, G8 and the interpolate examples).
    static let convNetCases: [KnownCase] = [
        .init(name: "G3 conv1", layer: "conv1", shape: [1, 1, 2, 2], expected: [11.25, 13.5, 20.25, 22.5]),
        .init(
            name: "G4 conv1 per channel", layer: "conv1", sumOverChannels: false, shape: [1, 2, 2, 2],
            expected: [-3.75, 3, 23.25, 30, 15, 10.5, -3, -7.5]),
        .init(name: "G5 relu1", layer: "relu1", shape: [1, 1, 2, 2], expected: [0, 4, 28, 32.5]),
        .init(
            name: "G8 conv1 with second input ones", layer: "conv1", addend: Array(repeating: 1, count: 16),
            shape: [1, 1, 2, 2], expected: [14.5, 19, 32.5, 37]),
        .init(
            name: "G3 relu (paper Grad-CAM), all positive already", layer: "conv1", relu: true,
            shape: [1, 1, 2, 2], expected: [11.25, 13.5, 20.25, 22.5]),
        .init(
            name: "G3 nearest 2→4", layer: "conv1", upsample: .nearest, shape: [1, 1, 4, 4],
            expected: [
                11.25, 11.25, 13.5, 13.5, 11.25, 11.25, 13.5, 13.5,
                20.25, 20.25, 22.5, 22.5, 20.25, 20.25, 22.5, 22.5,
            ]),
        .init(
            name: "G3 bilinear 2→4", layer: "conv1", upsample: .bilinear, shape: [1, 1, 4, 4],
            expected: [
                11.25, 11.8125, 12.9375, 13.5, 13.5, 14.0625, 15.1875, 15.75,
                18, 18.5625, 19.6875, 20.25, 20.25, 20.8125, 21.9375, 22.5,
            ]),
    ]

    @Test(arguments: convNetCases)
    func convNet(_ c: KnownCase) throws {
        let model = ConvNetModel<Float>(addend: try c.addend.map { try tensor([1, 1, 4, 4], $0) })
        let cam = try GradCAM.attribute(
            model: model, input: try arange16(), layer: c.layer, targets: [0], relu: c.relu,
            sumOverChannels: c.sumOverChannels, upsample: c.upsample)
        expectClose(cam, try tensor(c.shape, c.expected), atol: 1e-5, rtol: 1e-6)
    }

    /// G1: a 2-D layer output uses the gradient as is (no averaging): Σ grad·act.
    @Test(arguments: [("linear0", 400.0), ("linear1", 393.0)])
    func multiLayerLinear(_ layer: String, _ expected: Double) throws {
        let cam = try GradCAM.attribute(
            model: MultiLayerModel<Float>(), input: try tensor([1, 3], [0, 100, 0]), layer: layer, targets: [0],
            relu: false)
        expectClose(cam, try tensor([1, 1], [expected]))
    }

    /// With ReLU every value is ≥ 0 and equals max(0, ·) of Captum's unrectified map.
    @Test func reluMapIsRectifiedCaptumMap() throws {
        var random = SeededRandom(seed: 17)
        let x = try Tensor<Float>(shape: [4, 1, 4, 4], storage: random.uniformArray(64, -10, 20))
        for layer in ["conv1", "relu1"] {
            for target in 0..<4 {
                let targets = [Int](repeating: target, count: 4)
                let raw = try GradCAM.attribute(
                    model: ConvNetModel<Float>(), input: x, layer: layer, targets: targets, relu: false)
                let rectified = try GradCAM.attribute(
                    model: ConvNetModel<Float>(), input: x, layer: layer, targets: targets)
                #expect(rectified.storage.allSatisfy { $0 >= 0 })
                expectClose(
                    rectified, try Tensor(shape: raw.shape, storage: raw.storage.map { max($0, 0) }), atol: 0, rtol: 0)
            }
        }
    }

    /// A map with no positive value becomes zeros (not NaN), at layer and at input resolution.
    @Test(arguments: UpsampleMode.allCases)
    func allNegativeMapGivesZeros(_ upsample: UpsampleMode) throws {
        let model = LinearModel<Float>(weights: Array(repeating: -1, count: 3 * 4 * 4))
        var random = SeededRandom(seed: 2)
        let x = try Tensor<Float>(shape: [2, 3, 4, 4], storage: random.uniformArray(96, 0.5, 2))
        let raw = try GradCAM.attribute(
            model: model, input: x, layer: "identity", targets: [0, 0], relu: false, upsample: upsample)
        #expect(raw.storage.allSatisfy { $0 < 0 })
        let cam = try GradCAM.attribute(model: model, input: x, layer: "identity", targets: [0, 0], upsample: upsample)
        expectClose(cam, Tensor<Float>(zeros: [2, 1, 4, 4]), atol: 0, rtol: 0)
    }

    @Test func invalidArgumentsThrow() throws {
        let model = ConvNetModel<Float>()
        let x = try arange16()
        #expect(throws: AttributionError.unknownLayer("fc9", available: model.layerNames)) {
            try GradCAM.attribute(model: model, input: x, layer: "fc9", targets: [0])
        }
        #expect(throws: AttributionError.targetOutOfRange(target: 4, classCount: 4)) {
            try GradCAM.attribute(model: model, input: x, layer: "conv1", targets: [4])
        }
        #expect(throws: AttributionError.self) {
            try GradCAM.attribute(model: model, input: x, layer: "conv1", targets: [0, 0])
        }
        // a 2-D layer map cannot be upsampled to an image
        #expect(throws: AttributionError.self) {
            try GradCAM.attribute(model: model, input: x, layer: "fc1", targets: [0], upsample: .bilinear)
        }
    }
}

@Suite struct UpsampleTests {
    /// Legacy nearest: 2→5 reads sources [0, 0, 0, 1, 1]; 2→4 doubles each pixel.
    @Test func nearestMatchesPyTorchLegacyIndices() throws {
        let map = try tensor([1, 1, 1, 2], [7, 9])
        expectClose(try Upsample.resize(map, to: [1, 5], mode: .nearest), try tensor([1, 1, 1, 5], [7, 7, 7, 9, 9]))
        expectClose(try Upsample.resize(map, to: [1, 4], mode: .nearest), try tensor([1, 1, 1, 4], [7, 7, 9, 9]))
        // downsampling 5→2 picks floor(dst·2.5) = [0, 2]
        let five = try tensor([1, 1, 5, 1], [1, 2, 3, 4, 5])
        expectClose(try Upsample.resize(five, to: [2, 1], mode: .nearest), try tensor([1, 1, 2, 1], [1, 3]))
    }

    /// §2's numeric example, plus the index rule on a 3→7 resize checked against a Double reference.
    @Test func bilinearAlignCornersFalse() throws {
        let map = try tensor([1, 1, 2, 2], [11.25, 13.5, 20.25, 22.5])
        expectClose(
            try Upsample.resize(map, to: [4, 4], mode: .bilinear),
            try tensor(
                [1, 1, 4, 4],
                [
                    11.25, 11.8125, 12.9375, 13.5, 13.5, 14.0625, 15.1875, 15.75,
                    18, 18.5625, 19.6875, 20.25, 20.25, 20.8125, 21.9375, 22.5,
                ]), atol: 0, rtol: 0)

        let row: [Double] = [1, 4, 2]
        let out = try Upsample.resize(try tensor([1, 1, 1, 3], row), to: [1, 7], mode: .bilinear)
        let reference: [Double] = (0..<7).map { dst in
            let src = max((Double(dst) + 0.5) * 3 / 7 - 0.5, 0)
            let i0 = Int(src), i1 = min(i0 + 1, 2)
            let l = src - Double(i0)
            return (1 - l) * row[i0] + l * row[i1]
        }
        expectClose(out, try tensor([1, 1, 1, 7], reference), atol: 1e-6, rtol: 1e-6)
    }

    @Test func noneAndInvalidSizes() throws {
        let map = try tensor([1, 1, 2, 2], [1, 2, 3, 4])
        #expect(try Upsample.resize(map, to: [8, 8], mode: .none) == map)
        #expect(throws: AttributionError.self) { try Upsample.resize(map, to: [4], mode: .nearest) }
        #expect(throws: AttributionError.self) { try Upsample.resize(map, to: [0, 4], mode: .bilinear) }
        #expect(throws: AttributionError.self) {
            try Upsample.resize(try tensor([1, 1, 2], [1, 2]), to: [4], mode: .bilinear)
        }
    }
}
