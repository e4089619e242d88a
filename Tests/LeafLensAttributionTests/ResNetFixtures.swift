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

    /// Fixtures/captum/float64.json (scripts/fixtures/captum_float64.py): each attribution's Captum call on
    /// the double model, kept at every `kept_stride`-th element, and Captum's own float32 distance from it.
    struct Float64Entry: Codable, Sendable {
        var name: String
        var file: String
        var shape: [Int]
        var kept_stride: Int
        var torch_float32_rel_l2: Double
    }
    struct Float64Case: Codable, Sendable {
        var name: String
        var attributions: [Float64Entry]
    }
    struct Float64Manifest: Codable { var cases: [Float64Case] }

    /// `Fixtures/<directory>/float64.json` (captum, methods_captum, methods_cam), read once each.
    static let float64: [String: Float64Manifest] = {
        var manifests: [String: Float64Manifest] = [:]
        for directory in ["captum", "methods_captum", "methods_cam"] {
            guard let data = try? Data(contentsOf: FixturePaths.fixture("\(directory)/float64.json")),
                let manifest = try? JSONDecoder().decode(Float64Manifest.self, from: data)
            else { continue }
            manifests[directory] = manifest
        }
        return manifests
    }()

    /// LeafLens's float32 `result` against the float64 reference of `attribution` under the project's rule,
    /// `DerivedBound(noise: e_pt)`: at most max(2·e_pt, 8 float32 ulps) from float64, relative L2 over the
    /// kept elements. `LEAFLENS_REPORT_PARITY=1` prints the three numbers.
    static func expectWithinDerivedBound(
        _ result: Tensor<Float>, network: String, attribution: String, directory: String = "captum",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let manifest = try #require(float64[directory], "Fixtures/\(directory)/float64.json is missing or unreadable")
        let entries = try #require(manifest.cases.first { $0.name == network }, "no case '\(network)'").attributions
        let entry = try #require(entries.first { $0.name == attribution }, "no float64 '\(attribution)'")
        #expect(result.shape == entry.shape, "\(network) \(attribution): shape", sourceLocation: sourceLocation)
        let reference = try NPY.read(FixturePaths.fixture("\(directory)/\(entry.file)"), as: Double.self)
        let kept = stride(from: 0, to: result.count, by: entry.kept_stride).map { Double(result.storage[$0]) }
        let ours = try Tensor(shape: [kept.count], storage: kept)
        guard reference.storage.contains(where: { $0 != 0 }) else {
            // A map that is zero everywhere in float64 (a ReLU'd Grad-CAM): float32 must give zeros too.
            #expect(
                kept.allSatisfy { $0 == 0 }, "\(network) \(attribution): not all zero", sourceLocation: sourceLocation)
            return
        }
        let error = relativeL2Error(ours, try reference.reshaped([reference.count]))
        let bound = DerivedBound(noise: entry.torch_float32_rel_l2)
        if ProcessInfo.processInfo.environment["LEAFLENS_REPORT_PARITY"] == "1" {
            print(
                "\(directory) float64 \(network) \(attribution): LeafLens \(error), Captum float32 \(entry.torch_float32_rel_l2), bound \(bound.value)"
            )
        }
        #expect(
            bound.admits(error),
            "\(network) \(attribution): LeafLens float32 \(error) from float64 > \(bound.value) (Captum's own \(entry.torch_float32_rel_l2))",
            sourceLocation: sourceLocation)
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
