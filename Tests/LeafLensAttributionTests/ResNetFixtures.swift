import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Synchronization
import Testing

// Shared data for the ResNet18 attribution tests: the Captum 0.9 reference manifest
// (Fixtures/captum/manifest.json, written by scripts/fixtures/captum.py), the seeded models it was
// computed on, and the gate for slow sweeps.

extension Tag {
    /// Full-width sweeps that take tens of seconds in a debug build; they run only with
    /// LEAFLENS_SLOW_TESTS=1 (each parity item also has a default configuration that always runs).
    @Tag static var slow: Tag
}

/// `true` when LEAFLENS_SLOW_TESTS=1: enables the tests tagged `.slow`.
let slowTestsEnabled = ProcessInfo.processInfo.environment["LEAFLENS_SLOW_TESTS"] == "1"

/// The manifest's view of one Captum run. Fields that only some methods have are optional.
struct CaptumAttribution: Codable, Sendable {
    struct Parameters: Codable, Sendable {
        // IntegratedGradients
        var method: String?
        var n_steps: Int?
        var internal_batch_size: Int?
        // LayerGradCam
        var layer: String?
        var relu_attributions: Bool?
        var layer_shape: [Int]?
        var interpolate: Interpolation?
        // Occlusion
        var sliding_window_shapes: [Int]?
        var strides: [Int]?
        var perturbations_per_eval: Int?
        var window_counts: [Int]?
    }

    struct Interpolation: Codable, Sendable {
        var size: [Int]
        var mode: String
    }

    var name: String
    var file: String
    var shape: [Int]
    var method: String
    var params: Parameters
    var delta: [Double]?
    var f_x: [Double]?
    var f_baseline: [Double]?
}

struct CaptumCase: Codable, Sendable {
    var name: String
    var width: Int
    var classes: Int
    var weight_seed: UInt64
    var input_seed: UInt64
    var input_shape: [Int]
    var input_file: String
    var targets: [Int]
    var logits_at_targets: [Double]
    var attributions: [CaptumAttribution]

    func attribution(_ name: String) throws -> CaptumAttribution {
        try #require(attributions.first { $0.name == name }, "no attribution '\(name)' in case '\(self.name)'")
    }

    func reference(_ a: CaptumAttribution) throws -> Tensor<Float> {
        try NPY.read(FixturePaths.fixture("captum/\(a.file)"), as: Float.self)
    }

    var input: Tensor<Float> { ResNet18<Float>.seededInput(seed: input_seed, shape: input_shape) }
}

enum CaptumFixtures {
    struct Manifest: Codable { var cases: [CaptumCase] }

    static let cases: [CaptumCase] = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("captum/manifest.json")),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.cases
    }()

    static func `case`(_ name: String) throws -> CaptumCase {
        try #require(cases.first { $0.name == name }, "Fixtures/captum/manifest.json has no case '\(name)'")
    }

    static func classifier(_ c: CaptumCase) throws -> ResNetClassifier<Float> {
        try SeededResNets.classifier(seed: c.weight_seed, classes: c.classes, width: c.width)
    }
}

/// Seeded ResNet18 classifiers (Fixtures/README.md), built once per process and (seed, classes,
/// width): the full-width one has 11 M parameters.
enum SeededResNets {
    private static let cache = Mutex<[String: ResNetClassifier<Float>]>([:])

    static func classifier(seed: UInt64, classes: Int = 38, width: Int) throws -> ResNetClassifier<Float> {
        let key = "\(seed)/\(classes)/\(width)"
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let classifier = try ResNetClassifier(
            try ResNet18<Float>.seeded(
                seed: seed, configuration: ResNet18Configuration(classCount: classes, width: width)))
        cache.withLock { $0[key] = classifier }
        return classifier
    }

    /// The small-width network most axiom tests use (width 8, 38 classes): the full topology at
    /// 1/64 of the FLOPs.
    static func small() throws -> ResNetClassifier<Float> { try classifier(seed: 1001, width: 8) }
}

/// Relative L2 error against a reference with the shape checked first, recorded as an issue with
/// the worst element when it exceeds `bound`.
func expectRelativeL2(
    _ actual: Tensor<Float>, _ expected: Tensor<Float>, atMost bound: Double, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    let error = relativeL2Error(actual, expected)
    if !(error <= bound) {
        let worst = closeness(
            actual.storage.map(Double.init), expected.storage.map(Double.init), shape: expected.shape,
            atol: 0, rtol: 0)
        Issue.record(
            "\(label): relative L2 error \(error) > \(bound); \(worst)", sourceLocation: sourceLocation)
    }
}

/// Σ over each example's elements, in Double: `[N]`.
func rowSums<T: TensorScalar>(_ t: Tensor<T>) -> [Double] {
    let batch = t.shape[0], size = t.count / batch
    return (0..<batch).map { i in
        var s = 0.0
        for j in 0..<size { s += Double(t.storage[i * size + j]) }
        return s
    }
}

/// outputs[i, targets[i]] from an independent forward pass of `program` (not the method's own).
func targetLogits<T: TensorScalar>(_ program: ResNetProgram<T>, _ x: Tensor<T>, targets: [Int]) throws -> [Double] {
    let out = try program.forward(x).outputs
    let k = out.shape[1]
    return targets.enumerated().map { Double(out.storage[$0.offset * k + $0.element]) }
}
