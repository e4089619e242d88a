import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel

/// What `leaflens verify` checks, and how hard.
public struct VerificationSettings: Sendable {
    /// Methods whose float32 result is compared with float64 (`supportedMethods` only).
    public var methods: [AttributionMethod] = [.integratedGradients, .gradCAM, .saliency]
    /// Integrated Gradients' steps and rule for the float32/float64 comparison (Captum's defaults).
    public var steps = 50
    public var rule: IntegrationRule = .gaussLegendre
    /// Grad-CAM's layer (the pipeline's default).
    public var layer = "layer4"
    /// Finite-difference spot check: how many input elements, chosen by `seed`.
    public var finiteDifferencePositions = 8
    public var seed: UInt64 = 0
    /// Completeness: the relative delta to reach, and the step counts tried in order.
    public var completenessTarget = 0.01
    public var completenessSteps = [16, 32, 64, 128, 256]

    public init() {}

    /// 16, 32, 64, … up to `last` (and `last` itself when it is no power-of-two multiple of 16).
    public static func doublingSteps(upTo last: Int) -> [Int] {
        var steps: [Int] = []
        var n = 16
        while n < last {
            steps.append(n)
            n *= 2
        }
        return steps + [max(last, 16)]
    }

    /// The methods whose attribution functions run generically in float32 and float64.
    public static let supportedMethods: [AttributionMethod] = [
        .integratedGradients, .gradCAM, .saliency, .inputXGradient,
    ]
}

/// One network input to verify on: an image loaded as `explain` loads it, or a seeded tensor.
public struct VerificationInput: Sendable {
    public var name: String
    /// `[1, 3, H, W]`, normalized.
    public var tensor: Tensor<Float>

    public init(name: String, tensor: Tensor<Float>) {
        self.name = name
        self.tensor = tensor
    }

    /// Inputs at `paths`, through `loader` (images and `.npy`, as `explain` reads them).
    public static func load(_ paths: [String], loader: InputLoader) throws -> [VerificationInput] {
        try paths.map { VerificationInput(name: $0, tensor: try loader.load($0).tensor) }
    }

    /// Without images: `count` seeded inputs `[1, 3, side, side]`, uniform(−2, 2) in normalized units
    /// (`ResNet.seededInput`, the fixtures' documented input), named `seeded-0`, `seeded-1`, ….
    public static func seeded(count: Int, side: Int, seed: UInt64) -> [VerificationInput] {
        (0..<count).map {
            VerificationInput(
                name: "seeded-\($0)",
                tensor: ResNet<Float>.seededInput(seed: seed &+ UInt64($0), shape: [1, 3, side, side]))
        }
    }
}

/// One line of the report.
public struct VerificationCheck: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case pass = "PASS", fail = "FAIL"
        /// A finding that explains other numbers and has no bound (ReLUs near zero, max-pool near ties).
        case info = "INFO"
    }

    /// `weights`, `logits`, a method's name, `finite-differences`, `completeness`, `relu-near-zero`,
    /// `maxpool-near-tie`.
    public var name: String
    /// The input it concerns; nil for the weights.
    public var input: String?
    public var measured: Double
    /// The bound `measured` must not exceed; nil for `.info`.
    public var bound: Double?
    /// The noise estimate the bound derives from (`DerivedBound.noise`), when it has one.
    public var noise: Double?
    public var status: Status
    /// What was measured, in words.
    public var detail: String
}

/// ReLU inputs within float32 rounding of zero at one ReLU of one input.
public struct ReLUSite: Codable, Sendable, Equatable {
    /// The value the ReLU reads: `bn1`, `layer1.0.bn1`, or `layer4.1` for a block's final ReLU (its
    /// input is the residual sum `bn2 + identity`).
    public var name: String
    public var nearZero: Int
    public var total: Int
    /// max |v| over the ReLU's input, the scale of the threshold.
    public var maximum: Double
}

/// Everything `leaflens verify` measured (`verify.json`, snake_case keys).
public struct VerificationReport: Codable, Sendable {
    public struct Rule: Codable, Sendable {
        public var factor = DerivedBound.defaultFactor
        public var float32Floor = DerivedBound.float32Floor
        public var finiteDifferenceFloor = Verification.finiteDifferenceFloor
        public var finiteDifferenceStep = Verification.finiteDifferenceStep
        public var outlierRatio = Verification.outlierRatio
        public var reluThresholdUlps = Verification.reluThresholdUlps
    }

    public var weights: String
    public var architecture: String
    public var inputShape: [Int]
    public var inputs: [String]
    public var methods: [String]
    public var steps: Int
    public var rule = Rule()
    public var checks: [VerificationCheck]
    /// Per input, its ReLU sites with at least one input near zero, most first.
    public var reluNearZero: [String: [ReLUSite]]

    /// Every check within its bound (`.info` lines do not count).
    public var passed: Bool { !checks.contains { $0.status == .fail } }
    public var failures: [VerificationCheck] { checks.filter { $0.status == .fail } }

    enum CodingKeys: String, CodingKey {
        case weights, architecture, inputShape, inputs, methods, steps, rule, checks, reluNearZero, passed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weights, forKey: .weights)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(inputShape, forKey: .inputShape)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(methods, forKey: .methods)
        try c.encode(steps, forKey: .steps)
        try c.encode(rule, forKey: .rule)
        try c.encode(checks, forKey: .checks)
        try c.encode(reluNearZero, forKey: .reluNearZero)
        try c.encode(passed, forKey: .passed)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        weights = try c.decode(String.self, forKey: .weights)
        architecture = try c.decode(String.self, forKey: .architecture)
        inputShape = try c.decode([Int].self, forKey: .inputShape)
        inputs = try c.decode([String].self, forKey: .inputs)
        methods = try c.decode([String].self, forKey: .methods)
        steps = try c.decode(Int.self, forKey: .steps)
        rule = try c.decode(Rule.self, forKey: .rule)
        checks = try c.decode([VerificationCheck].self, forKey: .checks)
        reluNearZero = try c.decode([String: [ReLUSite]].self, forKey: .reluNearZero)
    }

    init(
        weights: String, architecture: String, inputShape: [Int], inputs: [String], methods: [String], steps: Int,
        checks: [VerificationCheck], reluNearZero: [String: [ReLUSite]]
    ) {
        self.weights = weights
        self.architecture = architecture
        self.inputShape = inputShape
        self.inputs = inputs
        self.methods = methods
        self.steps = steps
        self.checks = checks
        self.reluNearZero = reluNearZero
    }

    /// `verify.json` as a file set for `commit(into:)` (atomic, like every output).
    public var files: PendingFiles {
        get throws {
            var files = PendingFiles()
            files.add("verify.json", try ReportJSON.document(self))
            return files
        }
    }
}

/// `leaflens verify` as library code: can a user trust the explanations of their own weights?
///
/// Per input it compares the float32 result (the folded program the methods run) with a float64 copy of
/// the same weights, for the logits and each method, against `DerivedBound` with a measured float32 noise
/// (LeafLens's second float32 implementation, and the float64 result's move under a 1-ulp input
/// perturbation, see `compare`); spot
/// checks the float64 input gradient with central differences; measures Integrated Gradients'
/// completeness and the steps it needs for a 1% delta; and counts ReLU inputs within float32 rounding of
/// zero and stem max-pool windows whose two largest inputs are (a float32 disagreement between any two
/// libraries starts there). Once per model it checks the
/// weights themselves (`weightChecks`).
///
/// What it can and cannot detect: non-finite weights, negative BatchNorm variances and a weight blown up
/// by orders of magnitude over its tensor (`outlierRatio`) fail `weights`; wrong arithmetic (a backward
/// that is not the forward's derivative, float32 error beyond the second implementation's) fails the
/// comparisons. Weights of a plausible size that are simply wrong (swapped tensors of one shape, small
/// noise, a badly trained model) compute correctly and pass: verify proves the explanations are the
/// math of these weights, not that the weights are good.
public struct Verification {
    public let model: LoadedModel
    public var settings: VerificationSettings

    /// The finite-difference step in normalized input units, a power of two (x ± h is exact for |x| < 2).
    public static let finiteDifferenceStep = 0x1p-16
    /// The floor of the finite-difference bound, relative to max |∂F/∂x|: far above float64 rounding
    /// (eps64 · |F| / h ≈ 1e-11 · |F|), far below any backward bug (a sign or a dropped term is O(1)).
    public static let finiteDifferenceFloor = 1e-6
    /// `weights` fails when a weight tensor's max |w| exceeds this many times its median |w|. A tensor of
    /// n Gaussian values reaches ≈ 7 × its median at n = 10⁶, a Laplace-tailed one ≈ ln n / ln 2 ≈ 20; 1000
    /// leaves fifty times that for heavy-tailed trained weights and still catches an exponent gone wrong.
    public static let outlierRatio = 1000.0
    /// A ReLU input v is "within float32 rounding of zero" when |v| < this many ulps of float32 at the
    /// layer's magnitude: |v| < 8 · eps32 · max |layer| (a convolution's float32 result carries a few ulps
    /// of its largest terms).
    public static let reluThresholdUlps = 8.0

    public init(model: LoadedModel, settings: VerificationSettings = VerificationSettings()) throws {
        if let unsupported = settings.methods.first(where: { !VerificationSettings.supportedMethods.contains($0) }) {
            throw PipelineError(
                "verify compares \(VerificationSettings.supportedMethods.map(\.rawValue).joined(separator: ", ")); "
                    + "\(unsupported.rawValue) is not one of them")
        }
        self.model = model
        self.settings = settings
    }

    /// A Grad-CAM layer the model does not have, as a message naming the ones it has; nil when it has it.
    public var layerProblem: String? {
        let names: [String]
        do { names = try model.network.program(for: .training).availableLayers } catch { return nil }
        if names.contains(settings.layer) { return nil }
        return "--layer \(settings.layer): unknown layer; available: \(names.joined(separator: ", "))"
    }

    /// The three float32 views and the float64 copy of the weights (a Double conversion of the Float
    /// values, so both compute the same function).
    struct Models {
        var float32: ResNetClassifier<Float>
        /// LeafLens's second float32 implementation, the reference float32 noise is measured with: the
        /// unfolded program (BatchNorm its own step after each convolution, im2col convolutions, as
        /// training runs it) — other roundings than the folded program, the same function.
        var unfolded32: ResNetClassifier<Float>
        var float64: ResNetClassifier<Double>
    }

    func models() throws -> Models {
        do {
            let double = model.network.converted(to: Double.self)
            return Models(
                float32: try ResNetClassifier(model.network),
                unfolded32: try ResNetClassifier(model.network, foldingBatchNorm: false),
                float64: try ResNetClassifier(double))
        } catch { throw PipelineError("\(model.description): \(error.description)") }
    }

    /// Runs every check on `inputs`. `progress(label, done, total)` is called after each check.
    public func run(
        _ inputs: [VerificationInput], progress: (@Sendable (String, Int, Int) -> Void)? = nil
    ) throws -> VerificationReport {
        guard let first = inputs.first else { throw PipelineError("verify needs at least one input") }
        let models = try self.models()
        if settings.methods.contains(.gradCAM), let problem = layerProblem { throw PipelineError(problem) }
        var checks = weightChecks()
        var relu: [String: [ReLUSite]] = [:]
        let perInput = 5 + settings.methods.count
        let total = inputs.count * perInput
        var done = 0
        func step(_ label: String) {
            done += 1
            progress?(label, done, total)
        }
        for input in inputs {
            let x32 = input.tensor
            let x64 = x32.converted(to: Double.self)
            let target: Int
            do { target = argmax(try models.float64.outputs(x64).storage) } catch {
                throw PipelineError("\(input.name): \(error)")
            }
            checks.append(compare(nil, input: input, target: target, models: models))
            step("logits")
            for method in settings.methods {
                checks.append(compare(method, input: input, target: target, models: models))
                step(method.rawValue)
            }
            checks.append(finiteDifferences(input: input, x: x64, target: target, model: models.float64))
            step("finite differences")
            checks.append(completeness(input: input, x: x32, target: target, model: models.float32))
            step("completeness")
            let (line, sites) = reluNearZero(input: input, x: x64, model: models.float64)
            checks.append(line)
            relu[input.name] = sites
            step("relu near zero")
            checks.append(maxPoolNearTies(input: input, x: x64, model: models.float64))
            step("max-pool near ties")
        }
        return VerificationReport(
            weights: model.description, architecture: model.network.configuration.architecture,
            inputShape: first.tensor.shape, inputs: inputs.map(\.name), methods: settings.methods.map(\.rawValue),
            steps: settings.steps, checks: checks, reluNearZero: relu)
    }

    /// The logits (`method` nil) or one method's attributions of `input` for `target`, written once over the
    /// scalar type so the three implementations compute exactly the same thing.
    func compute<Model: AttributionModel>(
        _ method: AttributionMethod?, model: Model, input: Tensor<Model.Scalar>, target: Int
    ) throws -> [Model.Scalar] {
        switch method {
        case nil: return try model.outputs(input).storage
        case .integratedGradients:
            return try IntegratedGradients.attribute(
                model: model, input: input, targets: [target], steps: settings.steps, rule: settings.rule
            ).attributions.storage
        case .gradCAM:
            return try GradCAM.attribute(model: model, input: input, layer: settings.layer, targets: [target]).storage
        case .inputXGradient: return try InputXGradient.attribute(model: model, input: input, targets: [target]).storage
        case .saliency: return try Saliency.attribute(model: model, input: input, targets: [target]).storage
        case .some(let other): throw PipelineError("verify does not compare \(other.rawValue)")
        }
    }

    /// measured = relL2(folded float32, float64). The float32 noise it is judged against is the larger of
    /// two measurements, both against the same float64 result:
    /// - implementation: relL2(unfolded float32, float64) — another float32 rounding of the whole network;
    /// - input: relL2(float64 at x + δ, float64 at x), δᵢ = ±1 ulp of float32 at xᵢ (seeded signs) — a
    ///   float32 computation is the exact one on inputs perturbed by about that much (backward error), so
    ///   this is how far rounding alone can move the result; it grows where ReLUs sit near zero.
    /// The check passes when `DerivedBound(noise:)` admits the measurement. For Integrated Gradients over
    /// the bound, the path points the float32 program decided differently from float64 within float32
    /// rounding (a ReLU input or a max-pool window's two largest inputs) are found, and the measurement is
    /// the result with those points' terms from float64, the points named in the detail
    /// (Verification+DecisionFlips.swift). A computation that throws fails the check with the error as its
    /// detail.
    func compare(
        _ method: AttributionMethod?, input: VerificationInput, target: Int, models: Models
    ) -> VerificationCheck {
        let name = method?.rawValue ?? "logits"
        do {
            let x32 = input.tensor
            let x64 = x32.converted(to: Double.self)
            let exact = try compute(method, model: models.float64, input: x64, target: target)
            let result = try compute(method, model: models.float32, input: x32, target: target).map(Double.init)
            let other = try compute(method, model: models.unfolded32, input: x32, target: target).map(Double.init)
            let perturbed = try compute(
                method, model: models.float64, input: Self.ulpPerturbed(x32, seed: settings.seed), target: target)
            let measured = DerivedBound.relativeL2(result, exact)
            let implementation = DerivedBound.relativeL2(other, exact)
            let rounding = DerivedBound.relativeL2(perturbed, exact)
            let bound = DerivedBound(
                noise: implementation.isNaN || rounding.isNaN ? .nan : max(implementation, rounding))
            let g = { (v: Double) in String(format: "%.3g", v) }
            var detail =
                "float32 vs float64, relative L2; noise: unfolded float32 \(g(implementation)), 1-ulp input \(g(rounding))"
            var judged = measured
            // IG over the bound: path points decided differently within float32 rounding (DecisionFlips.swift).
            if method == .integratedGradients, !bound.admits(measured) {
                let flips = try integratedGradientsFlips(x32, models: models)
                if !flips.isEmpty {
                    let corrected = try replacingFlippedPoints(
                        result, flips, x32: x32, target: target, models: models)
                    judged = DerivedBound.relativeL2(corrected, exact)
                    let points = flips.map { "α = \(g($0.alpha)) (\($0.relu) ReLU, \($0.maxPool) max-pool)" }
                    detail +=
                        "; as computed \(g(measured)): float32 decided near-ties within float32 rounding other than "
                        + "float64 at \(flips.count) of \(settings.steps) path points, \(points.joined(separator: ", ")); "
                        + "with float64's gradients at those points \(g(judged))"
                }
            }
            return VerificationCheck(
                name: name, input: input.name, measured: judged, bound: bound.value, noise: bound.noise,
                status: bound.admits(judged) ? .pass : .fail, detail: detail)
        } catch {
            return VerificationCheck(
                name: name, input: input.name, measured: .nan, bound: nil, noise: nil, status: .fail,
                detail: "could not be computed: \(error)")
        }
    }

    /// x + δ in float64, δᵢ = ±ulp(Float(xᵢ)) with signs from `seed`.
    static func ulpPerturbed(_ x: Tensor<Float>, seed: UInt64) -> Tensor<Double> {
        var rng = SeededRandom(seed: seed &+ 0x0_11F)
        var values = x.storage.map(Double.init)
        for i in values.indices {
            let ulp = Double(x.storage[i].ulp)
            values[i] += rng.next() & 1 == 0 ? ulp : -ulp
        }
        return Tensor(uncheckedShape: x.shape, storage: values)
    }
}

func argmax(_ values: [some BinaryFloatingPoint]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}
