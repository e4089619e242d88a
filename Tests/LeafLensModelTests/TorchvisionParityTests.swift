import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// LeafLens's ResNet18 against torchvision's own resnet18 code (PyTorch 2.13, float32), on seeded weights
/// with non-trivial BatchNorm. Reference files come from `scripts/make_fixtures.py` (Fixtures/parity).
/// Tolerance, as stated in the issue: |Δ| ≤ 1e-4 · max(1, max|ref|) element-wise, in Float.
@Suite struct TorchvisionParityTests {
    struct Case: Codable, CustomTestStringConvertible, Sendable {
        let name: String
        let width: Int
        let classes: Int
        let weight_seed: UInt64
        let input_seed: UInt64
        let input_shape: [Int]
        let targets: [Int]
        var testDescription: String { "\(name) (width \(width), input \(input_shape))" }
    }

    struct Manifest: Codable { let cases: [Case] }

    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("parity/manifest.json")),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.cases
    }()

    func reference(_ c: Case, _ what: String) throws -> Tensor<Float> {
        try NPY.read(FixturePaths.fixture("parity/\(c.name).\(what).npy"), as: Float.self)
    }

    func expectParity(_ actual: Tensor<Float>, _ expected: Tensor<Float>, _ label: String) {
        let scale = max(1, expected.storage.map { abs(Double($0)) }.max() ?? 0)
        expectClose(actual, expected, atol: 1e-4 * scale, rtol: 0, label)
    }

    @Test func manifestIsPresent() {
        #expect(Self.cases.map(\.name) == ["small", "odd", "full"])
    }

    /// Our SplitMix64 inputs are bit-identical to the Python generator's.
    @Test(arguments: cases) func seededInputMatchesPython(_ c: Case) throws {
        let input = ResNet18<Float>.seededInput(seed: c.input_seed, shape: c.input_shape)
        #expect(input == (try reference(c, "input")))
    }

    @Test(arguments: cases) func logitsInputGradientAndLayer4(_ c: Case) throws {
        let model = try ResNet18<Float>.seeded(
            seed: c.weight_seed, configuration: ResNet18Configuration(classCount: c.classes, width: c.width))
        let x = ResNet18<Float>.seededInput(seed: c.input_seed, shape: c.input_shape)
        let seed = try ResNetProgram<Float>.oneHot(targets: c.targets, classCount: c.classes)
        // The classification program (BN folded; the packed AVX-512 kernel, or Winograd for 3×3
        // convolutions on other CPUs) gives the same logits.
        let fast = try model.program(for: .classification)
        expectParity(
            try fast.forward(x).outputs, try reference(c, "logits"), "\(c.name) logits, classification program")
        let winograd = fast.withWinogradConvolutions()
        expectParity(
            try winograd.forward(x).outputs, try reference(c, "logits"), "\(c.name) logits, folded with Winograd")
        for folded in [true, false] {
            let program = try model.program(for: folded ? .attribution : .training)
            let record = try program.forward(x, taps: ["layer4"], backward: .inputOnly)
            let grads = try program.backward(record, gradOutput: seed, input: true, layers: ["layer4"])
            let label = folded ? "folded" : "unfolded"
            expectParity(record.outputs, try reference(c, "logits"), "\(c.name) logits, \(label)")
            expectParity(
                try #require(grads.input), try reference(c, "input_grad"), "\(c.name) input gradient, \(label)")
            expectParity(
                try #require(record.layerActivations["layer4"]), try reference(c, "layer4"),
                "\(c.name) layer4, \(label)")
            expectParity(
                try #require(grads.layers["layer4"]), try reference(c, "layer4_grad"),
                "\(c.name) layer4 gradient, \(label)")
        }
    }
}
