import Foundation
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport

@testable import LeafLensCheckpoint

/// Fixtures/checkpoints/manifest.json, written by scripts/fixtures/checkpoints.py with the real torch.
enum CheckpointFixtures {
    struct Case: Codable, Sendable, CustomStringConvertible {
        let name: String
        let file: String
        let depth: Int
        let width: Int
        let classes: Int
        let weight_seed: UInt64
        let source_dtype: String
        let labels: [String]?
        let notes: [String]
        var description: String { name }
    }

    struct Hostile: Codable, Sendable, CustomStringConvertible {
        let name: String
        let file: String
        let kind: String
        var description: String { name }
    }

    struct Manifest: Codable {
        let input_seed: UInt64
        let input_shape: [Int]
        let cases: [Case]
        let hostile: [Hostile]
        let hostile_marker: String
    }

    static let manifest: Manifest? = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("checkpoints/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }()

    static var cases: [Case] { manifest?.cases ?? [] }
    static var hostile: [Hostile] { manifest?.hostile ?? [] }

    static func url(_ file: String) -> URL { FixturePaths.fixture("checkpoints/\(file)") }

    /// The seeded fill of Fixtures/README.md over any ResNet's state_dict order (fc bound 1/√features);
    /// for resnet18 this is `ResNet18.seeded`.
    static func seededParameters(_ architecture: ResNetArchitecture, seed: UInt64) -> [String: Tensor<Float>] {
        var rng = SeededRandom(seed: seed)
        var result: [String: Tensor<Float>] = [:]
        for (name, shape) in architecture.parameterShapes {
            let count = shape.reduce(1, *)
            let (low, high): (Double, Double)
            if name.hasPrefix("fc.") {
                let bound = 1 / Double(architecture.featureCount).squareRoot()
                (low, high) = (-bound, bound)
            } else if shape.count == 4 {
                let bound = (6 / Double(shape[1] * shape[2] * shape[3])).squareRoot()
                (low, high) = (-bound, bound)
            } else if name.hasSuffix(".weight") || name.hasSuffix("running_var") {
                (low, high) = (0.5, 1.5)
            } else {
                (low, high) = (-0.2, 0.2)
            }
            result[name] = Tensor(uncheckedShape: shape, storage: rng.uniformArray(count, low, high))
        }
        return result
    }
}
