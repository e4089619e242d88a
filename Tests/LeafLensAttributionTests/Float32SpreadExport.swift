import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

/// Not a check: the LeafLens half of `scripts/float32_spread.py`, which asks whether LeafLens's float32
/// error is PyTorch's size over many draws rather than on one fixture case. Runs only when the script
/// sets `LEAFLENS_FLOAT32_SPREAD_DIR`; writes, per float64-fixture network (seeded, resnet34, resnet50),
/// the float32 layer4 activation and logits of 16 seeded inputs (seed 3000, 16×3×64×48).
@Suite struct Float32SpreadExport {
    static let directory = ProcessInfo.processInfo.environment["LEAFLENS_FLOAT32_SPREAD_DIR"]

    @Test(.enabled(if: directory != nil)) func export() throws {
        let out = URL(fileURLWithPath: try #require(Self.directory))
        let x = ResNet18<Float>.seededInput(seed: 3000, shape: [16, 3, 64, 48])
        for name in ["seeded", "resnet34", "resnet50"] {
            let model = try ResNetClassifier(try Float64ParityTests.floatModel(try Float64ParityTests.case(name)))
            let layer4 = try model.layerGradient(x, layer: "layer4", targets: Array(repeating: 0, count: 16))
            try NPY.write(layer4.activation, to: out.appendingPathComponent("\(name).layer4.npy"))
            try NPY.write(try model.outputs(x), to: out.appendingPathComponent("\(name).logits.npy"))
        }
    }
}
