import Foundation
import Testing

@testable import LeafLensCheckpoint

/// Prefix stripping, Sequential heads and the errors of the key mapping, on synthetic key lists.
@Suite struct StateDictMappingTests {
    static let architecture = ResNetArchitecture(depth: .resnet18, width: 4, classCount: 7)

    func items(prefix: String = "", head: String = "fc", extra: [String] = []) -> [StateDictMapping.Item] {
        Self.architecture.parameterShapes.map { name, shape in
            StateDictMapping.Item(
                name: prefix + name.replacingOccurrences(of: "fc.", with: head + "."), shape: shape,
                dtype: "torch.float32", isFloatingPoint: true)
        } + extra.map { StateDictMapping.Item(name: $0, shape: [1], dtype: "torch.int64", isFloatingPoint: false) }
    }

    @Test(arguments: [
        "", "module.", "_orig_mod.", "model.", "net.", "backbone.", "resnet.", "module._orig_mod.", "model.backbone.",
    ])
    func prefixesAreStripped(_ prefix: String) throws {
        let result = try StateDictMapping(source: "t").map(
            items(prefix: prefix, extra: [prefix + "bn1.num_batches_tracked"]), architecture: nil)
        #expect(result.architecture == Self.architecture)
        #expect(result.renames.allSatisfy { $0.original == prefix + $0.expected })
        #expect(result.notes.contains { $0.contains("num_batches_tracked") })
        #expect(prefix.isEmpty || result.notes.contains { $0.contains("stripped the key prefix '\(prefix)'") })
    }

    @Test func sequentialHeadMapsToFc() throws {
        let result = try StateDictMapping(source: "t").map(items(prefix: "module.", head: "fc.1"), architecture: nil)
        #expect(result.renames.contains { $0.expected == "fc.weight" && $0.original == "module.fc.1.weight" })
        let twoLinears =
            items(head: "fc.1") + [
                StateDictMapping.Item(
                    name: "fc.4.weight", shape: [7, 7], dtype: "torch.float32", isFloatingPoint: true)
            ]
        #expect(throws: CheckpointError.self) { try StateDictMapping(source: "t").map(twoLinears, architecture: nil) }
    }

    @Test func unexpectedKeysNameTheNearestExpected() throws {
        var broken = items()
        broken[3] = StateDictMapping.Item(
            name: "bn1.runing_mean", shape: [4], dtype: "torch.float32", isFloatingPoint: true)
        let error = #expect(throws: CheckpointError.self) {
            try StateDictMapping(source: "t").map(broken, architecture: nil)
        }
        #expect(error?.description.contains("nearest expected: 'bn1.running_mean'") == true)
        #expect(error?.description.contains("missing 1: bn1.running_mean") == true)
    }

    @Test func wrongShapeAndIntegerWeightsAreRefused() {
        var shaped = items()
        shaped[1] = StateDictMapping.Item(name: "bn1.weight", shape: [5], dtype: "torch.float32", isFloatingPoint: true)
        #expect(throws: CheckpointError.self) { try StateDictMapping(source: "t").map(shaped, architecture: nil) }
        var integer = items()
        integer[1] = StateDictMapping.Item(name: "bn1.weight", shape: [4], dtype: "torch.int64", isFloatingPoint: false)
        #expect(throws: CheckpointError.self) { try StateDictMapping(source: "t").map(integer, architecture: nil) }
    }

    @Test func keysOutsideThePrefixAreIgnoredWithANote() throws {
        let result = try StateDictMapping(source: "t").map(
            items(prefix: "model.") + [
                StateDictMapping.Item(
                    name: "criterion.weight", shape: [7], dtype: "torch.float32", isFloatingPoint: true)
            ],
            architecture: nil)
        #expect(result.notes.contains { $0.contains("ignored 1 entries outside 'model.': criterion.weight") })
    }
}
