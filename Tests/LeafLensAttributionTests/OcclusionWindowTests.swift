import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// Rectangular and channel windows (Captum's `sliding_window_shapes` with a channel extent < C).
@Suite struct OcclusionWindowTests {
    @Test func parametersMapToCaptumsWindows() throws {
        let rect = Occlusion.Parameters<Float>(height: 15, width: 25)
        #expect(try rect.captumWindow(channelCount: 3) == ([3, 15, 25], [3, 15, 25]))
        let each = Occlusion.Parameters<Float>(height: 8, strideHeight: 4, channels: .each)
        #expect(try each.captumWindow(channelCount: 3) == ([1, 8, 8], [1, 4, 8]))
        let groups = Occlusion.Parameters<Float>(
            height: 5, width: 7, strideHeight: 2, strideWidth: 3, channels: .groups(size: 2, stride: 1))
        #expect(try groups.captumWindow(channelCount: 3) == ([2, 5, 7], [1, 2, 3]))
        #expect(throws: AttributionError.self) {
            try Occlusion.Parameters<Float>(channels: .groups(size: 4, stride: 1)).captumWindow(channelCount: 3)
        }
    }

    @Test func parsesWindowSpecs() throws {
        #expect(try Occlusion.parseWindow("15x25") == (15, 25))
        #expect(try Occlusion.parseWindow("15X25") == (15, 25))
        #expect(try Occlusion.parseWindow("9") == (9, 9))
        for bad in ["", "x", "15x", "0x3", "3x-1", "1x2x3", "a"] {
            #expect(throws: AttributionError.self, "\(bad)") { try Occlusion.parseWindow(bad) }
        }
    }

    /// Reference §7.2 O10 (ConvNet with second input ones, windows (1,2,3) strides (1,2,1)): rectangular
    /// windows through the generic path.
    @Test func convNetRectangularWindowKnownAnswer() throws {
        let result = try Occlusion.attribute(
            model: ConvNetModel<Float>(addend: Tensor(repeating: 1, shape: [1, 1, 4, 4])), input: try arange16(),
            targets: [0],
            window: [1, 2, 3], strides: [1, 2, 1])
        expectClose(
            result,
            try tensor([1, 1, 4, 4], [17, 17, 17, 17, 17, 17, 17, 17, 64, 65.5, 65.5, 67, 64, 65.5, 65.5, 67]),
            atol: 1e-4, rtol: 0)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let parameters: Occlusion.Parameters<Float>
        var testDescription: String { name }
    }

    static let resNetCases = [
        Case(name: "15x25 all channels", parameters: .init(height: 15, width: 25, strideHeight: 7, strideWidth: 9)),
        Case(
            name: "6x10 each channel",
            parameters: .init(height: 6, width: 10, strideHeight: 5, strideWidth: 8, channels: .each)),
        Case(
            name: "2-channel groups",
            parameters: .init(height: 9, strideHeight: 9, channels: .groups(size: 2, stride: 1))),
    ]

    /// The ResNet fast path (regional recomputation) against the generic batched path, which
    /// forwards whole occluded images (`RecordingModel` offers no fast path).
    @Test(arguments: resNetCases)
    func fastPathMatchesTheGenericPath(_ c: Case) throws {
        let model = try SeededResNets.small()
        let x = ResNet18<Float>.seededInput(seed: 51, shape: [2, 3, 40, 48])
        let fast = try Occlusion.attribute(model: model, input: x, targets: [0, 5], parameters: c.parameters)
        var generic = c.parameters
        generic.perturbationsPerEval = 16
        let slow = try Occlusion.attribute(
            model: RecordingModel(model), input: x, targets: [0, 5], parameters: generic)
        // A drop is F(x) − F(occluded): its float32 rounding is relative to the logits it is the difference
        // of, not to the (much smaller) drop, so the scale is the explained logits' magnitude.
        let logits = try model.outputs(x)
        let scale = Double(max(abs(logits.storage[0]), abs(logits.storage[logits.shape[1] + 5])))
        expectClose(fast, slow, atol: 1e-5 * scale, rtol: 1e-4, c.name)
    }
}
