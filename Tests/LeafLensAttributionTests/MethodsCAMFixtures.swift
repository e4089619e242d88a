import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

// Fixtures/methods_cam/manifest.json (scripts/fixtures/methods_cam.py): pytorch-grad-cam 1.5.7 and
// Captum 0.9 on the seeded full ResNet18, TinyCAM known answers, scikit-image SLIC.

struct MethodsCAMManifest: Codable, Sendable {
    struct CAMCase: Codable, Sendable {
        var name: String
        var method: String
        var layers: [String]
        var targets: [Int]?
        var eigen_smooth: Bool
        var aug_smooth: Bool
        var raw_files: [String]?
        var final_sub_file: String
        var final_sub_shape: [Int]
        var final_file: String?
        var final_sum: Double
    }
    struct CAM: Codable, Sendable {
        var weight_seed: UInt64
        var input_seed: UInt64
        var input_shape: [Int]
        var target: Int
        var argmax: Int
        var subsample: Subsample
        var numpy_vt0_sum_eigen_cam_layer4: Double
        var cases: [CAMCase]
    }
    struct Subsample: Codable, Sendable { var start: Int; var step: Int }
    struct Tiny: Codable, Sendable {
        var method: String
        var variant: String?
        var layers: [String]
        var raw: [[Double]]?
        var final: [[Double]]
    }
    struct Segment: Codable, Sendable {
        var method: String
        var segments: String
        var values: [Double]
        var samples: Int?
        var seed: UInt64?
        var permutations: [[Int]]?
        var coalitions: [[Int]]?
        var f_x: Double?
        var f_baseline: Double?
    }
    struct Slic: Codable, Sendable {
        var image_file: String
        var labels_file: String
        var n_segments: Int
        var compactness: Double
        var segments: Int
    }
    var cam: CAM?
    var camRequired: CAM { get throws { try #require(cam, "manifest has no cam section") } }
    /// scripts/fixtures/methods_cam.py's WEIGHT_SEED, INPUT_SEED and TARGET (all sections use them).
    static let weightSeed: UInt64 = 1003, inputSeed: UInt64 = 2003, target = 5
    var tiny: [Tiny]
    var segments: [Segment]
    var slic: Slic

    static let shared: MethodsCAMManifest? = {
        guard let data = try? Data(contentsOf: FixturePaths.fixture("methods_cam/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(MethodsCAMManifest.self, from: data)
    }()

    static func load() throws -> MethodsCAMManifest {
        try #require(shared, "Fixtures/methods_cam/manifest.json is missing or unreadable")
    }

    static func array(_ file: String) throws -> Tensor<Float> {
        try NPY.read(FixturePaths.fixture("methods_cam/\(file)"), as: Float.self)
    }
}

/// The CAM entry points by their CLI names.
enum CAMMethods {
    static let names = [
        "grad-cam", "grad-cam-plus-plus", "xgrad-cam", "layer-cam", "hires-cam", "grad-cam-element-wise",
        "eigen-cam", "eigen-grad-cam", "score-cam", "ablation-cam",
    ]

    static func run<Model: AttributionModel>(
        _ method: String, model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters
    ) throws -> Tensor<Model.Scalar> {
        switch method {
        case "grad-cam":
            try NormalizedGradCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "grad-cam-plus-plus":
            try GradCAMPlusPlus.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "xgrad-cam": try XGradCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "layer-cam": try LayerCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "hires-cam": try HiResCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "grad-cam-element-wise":
            try GradCAMElementWise.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "eigen-cam": try EigenCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "eigen-grad-cam":
            try EigenGradCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "score-cam": try ScoreCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        case "ablation-cam":
            try AblationCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        default: throw AttributionError.invalidOption("unknown CAM method \(method)")
        }
    }

    /// The method's raw map at `parameters.layers[0]` through the engine's own per-layer step (before
    /// ReLU and normalisation), `[N, 1, h, w]` in the model's precision.
    static func rawMap<Model: AttributionModel>(
        _ method: String, model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters p: CAMParameters
    ) throws -> Tensor<Model.Scalar> {
        let weighting: CAMWeighting<Model.Scalar>
        switch method {
        case "grad-cam": weighting = { CAMEngine.channelWeighted($0, weights: NormalizedGradCAM.gradientMeans($0)) }
        case "grad-cam-plus-plus": weighting = { CAMEngine.channelWeighted($0, weights: GradCAMPlusPlus.weights($0)) }
        case "xgrad-cam": weighting = { CAMEngine.channelWeighted($0, weights: XGradCAM.weights($0)) }
        case "layer-cam": weighting = { CAMEngine.elementWise($0) { g, a in max(g, 0) * a } }
        case "hires-cam": weighting = { CAMEngine.elementWise($0) { g, a in g * a } }
        case "grad-cam-element-wise": weighting = { CAMEngine.elementWise($0) { g, a in max(g * a, 0) } }
        case "eigen-cam": weighting = { CAMEngine.elementWise($0) { _, a in a } }
        case "eigen-grad-cam": weighting = { CAMEngine.elementWise($0) { g, a in g * a } }
        case "score-cam":
            weighting = { CAMEngine.channelWeighted($0, weights: try ScoreCAM.weights(model, $0, batchSize: 16)) }
        case "ablation-cam":
            weighting = { CAMEngine.channelWeighted($0, weights: try AblationCAM.weights(model, $0, batchSize: 32)) }
        default: throw AttributionError.invalidOption("unknown CAM method \(method)")
        }
        return try CAMEngine.rawMap(
            model, input, targets, layer: p.layers[0], p, project: method.hasPrefix("eigen"), weighting: weighting)
    }
}

/// Rows/columns start, start + step, … of `[N, 1, H, W]` → `[N, h', w']`.
func subsampled(_ map: Tensor<Float>, start: Int, step: Int) throws -> Tensor<Float> {
    let (n, h, w) = (map.shape[0], map.shape[2], map.shape[3])
    let rows = Array(stride(from: start, to: h, by: step)), cols = Array(stride(from: start, to: w, by: step))
    var out: [Float] = []
    for i in 0..<n { for r in rows { for c in cols { out.append(map.storage[(i * h + r) * w + c]) } } }
    return try Tensor(shape: [n, rows.count, cols.count], storage: out)
}

/// `expectRelativeL2`, and with LEAFLENS_REPORT_PARITY=1 also prints the measured error (to quote
/// measured numbers in docs and reports; off by default, tests stay quiet).
func expectParity(
    _ actual: Tensor<Float>, _ expected: Tensor<Float>, atMost bound: Double, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if ProcessInfo.processInfo.environment["LEAFLENS_REPORT_PARITY"] == "1", actual.shape == expected.shape {
        print("parity \(label): relative L2 \(relativeL2Error(actual, expected))")
    }
    expectRelativeL2(actual, expected, atMost: bound, label, sourceLocation: sourceLocation)
}
