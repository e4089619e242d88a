import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensCheckpoint

/// Every layout people save, written by the real torch (Fixtures/checkpoints), read natively: the right
/// architecture, labels and decisions, the exact seeded values, and PyTorch's logits.
@Suite struct CheckpointImporterTests {
    @Test func manifestIsPresent() throws {
        let names = CheckpointFixtures.cases.map(\.name)
        #expect(names.count >= 19)
        for required in [
            "plain", "whole_model", "compiled", "half", "bfloat16", "noncontiguous", "shared_storage", "dropout_head",
        ] {
            #expect(names.contains(required))
        }
    }

    @Test(arguments: CheckpointFixtures.cases)
    func loadsWithTheDecisionsRecorded(_ c: CheckpointFixtures.Case) throws {
        let imported = try CheckpointImporter.load(contentsOf: CheckpointFixtures.url(c.file))
        #expect(
            imported.architecture
                == ResNetArchitecture(
                    depth: try #require(.init(rawValue: c.depth)), width: c.width, classCount: c.classes))
        #expect(imported.labels == (c.labels ?? (0..<c.classes).map { "class_\($0)" }))
        for fragment in c.notes {
            #expect(
                imported.notes.contains { $0.contains(fragment) },
                "no note containing \"\(fragment)\" in \(imported.notes)")
        }
        #expect(imported.notes.contains { $0.hasPrefix("architecture: ") })
        #expect(imported.notes.contains { $0.hasPrefix("labels: ") || c.labels == nil && $0.contains("class_0") })
    }

    /// F32 sources hold exactly the seeded values; F16/BF16 sources hold them rounded to that dtype.
    @Test(arguments: CheckpointFixtures.cases)
    func parametersAreTheSeededValues(_ c: CheckpointFixtures.Case) throws {
        let imported = try CheckpointImporter.load(contentsOf: CheckpointFixtures.url(c.file))
        let expected = CheckpointFixtures.seededParameters(imported.architecture, seed: c.weight_seed)
        #expect(Set(imported.parameters.keys) == Set(expected.keys))
        for (name, reference) in expected {
            let actual = try #require(imported.parameters[name])
            let rounded: [Float] =
                switch c.source_dtype {
                case "float16": reference.storage.map { Float(Float16($0)) }
                case "bfloat16": reference.storage.map { Float(bitPattern: UInt32(floatToBFloat16Bits($0)) << 16) }
                default: reference.storage
                }
            #expect(actual.shape == reference.shape, "\(name)")
            #expect(actual.storage == rounded, "\(c.name): \(name) differs from the seeded values")
        }
    }

    /// |Δ| ≤ 1e-5 · max(1, max|ref|) against torch's logits on the seeded input (every layout and depth).
    @Test(arguments: CheckpointFixtures.cases)
    func logitsMatchPyTorch(_ c: CheckpointFixtures.Case) throws {
        let manifest = try #require(CheckpointFixtures.manifest)
        let (model, _) = try CheckpointImporter.loadModel(contentsOf: CheckpointFixtures.url(c.file))
        #expect(model.configuration.depth == c.depth)
        let x = ResNet18<Float>.seededInput(seed: manifest.input_seed, shape: manifest.input_shape)
        let reference = try NPY.read(CheckpointFixtures.url("\(c.name).logits.npy"), as: Float.self)
        let logits = try ResNetProgram<Float>(model: model, foldingBatchNorm: false).forward(x).outputs
        let scale = max(1, reference.storage.map { abs(Double($0)) }.max() ?? 0)
        expectClose(logits, reference, atol: 1e-5 * scale, rtol: 0, "\(c.name) logits")
    }

    @Test func deeperArchitecturesConvertAndLoadBack() throws {
        let imported = try CheckpointImporter.load(contentsOf: CheckpointFixtures.url("resnet50.pth"))
        #expect(try imported.model().configuration.depth == 50)
        #expect(imported.safetensorsMetadata["architecture"] == "resnet50")
        let directory = try FixturePaths.temporaryDirectory("checkpoint-convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("r50.safetensors")
        try imported.write(to: out)
        let again = try CheckpointImporter.load(contentsOf: out)
        #expect(again.architecture == imported.architecture)
        #expect(again.parameters == imported.parameters)
        #expect(again.labels == imported.labels)
    }

    @Test func convertedFileLoadsAsTheSameResNet18() throws {
        let imported = try CheckpointImporter.load(contentsOf: CheckpointFixtures.url("model_state_dict.pth"))
        let directory = try FixturePaths.temporaryDirectory("checkpoint-convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("m.safetensors")
        try imported.write(to: out)
        let strict = try ResNet18<Float>.load(contentsOf: out)  // today's strict loader reads it as is
        #expect(strict.parameters == imported.parameters)
        #expect(strict.labels == imported.labels)
    }

    @Test func explicitKeyLabelsAndArchitecture() throws {
        let url = CheckpointFixtures.url("model_state_dict.pth")
        let chosen = try CheckpointImporter.load(
            contentsOf: url, options: .init(key: "model_state_dict", architecture: .resnet18))
        #expect(chosen.notes.contains { $0.contains("'model_state_dict' (--key)") })
        #expect(chosen.notes.contains { $0.contains("as --arch says") })
        let relabelled = try CheckpointImporter.load(contentsOf: url, options: .init(labels: ["a", "b", "c"]))
        #expect(relabelled.labels == ["a", "b", "c"])
        #expect(relabelled.notes.contains { $0.contains("from --labels, replacing the 3 found") })
        #expect(throws: CheckpointError.self) {
            try CheckpointImporter.load(contentsOf: url, options: .init(labels: ["a"]))
        }
        let wrongArch = #expect(throws: CheckpointError.self) {
            try CheckpointImporter.load(contentsOf: url, options: .init(architecture: .resnet50))
        }
        #expect(wrongArch?.description.contains("--arch resnet50") == true)
        let wrongKey = #expect(throws: CheckpointError.self) {
            try CheckpointImporter.load(contentsOf: url, options: .init(key: "weights"))
        }
        #expect(wrongKey?.description.contains("model_state_dict") == true)  // lists the keys found
    }

    @Test func aFileWithoutWeightsListsItsKeysAndTheNearestExpected() throws {
        let error = #expect(throws: CheckpointError.self) {
            try CheckpointImporter.load(contentsOf: CheckpointFixtures.url("hostile/no_weights.pth"))
        }
        #expect(error?.kind == .layout)
        let text = error?.description ?? ""
        #expect(text.contains("epoch") && text.contains("optimiser") && text.contains("modelstate"))
        #expect(text.contains("'model_state'") || text.contains("'model_state_dict'"))
    }
}

/// binary32 → bfloat16 bits, round to nearest even (as torch's `.bfloat16()`).
func floatToBFloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
}
