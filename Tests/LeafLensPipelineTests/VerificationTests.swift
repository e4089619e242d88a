import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

@Suite("DerivedBound")
struct DerivedBoundTests {
    @Test func boundIsFactorTimesNoiseAboveTheFloor() {
        #expect(DerivedBound(noise: 1e-4).value == 2e-4)
        #expect(DerivedBound(noise: 0).value == DerivedBound.float32Floor)
        #expect(DerivedBound.float32Floor == 8 * Double(Float.ulpOfOne))
        #expect(DerivedBound(noise: .nan).value == .infinity)
    }

    /// The rule on a case where it must fail: a float32 result perturbed by 1e-4 relative, against a
    /// reference implementation whose own float32 distance is 1e-7.
    @Test func perturbedResultFails() {
        let exact: [Double] = (0..<1000).map { sin(Double($0) * 0.37) / 3 }
        let trusted = exact.map { Double(Float($0)) }  // float32 rounding only
        let noise = DerivedBound.relativeL2(trusted, exact)
        #expect(noise > 0 && noise < 1e-7)
        let bound = DerivedBound(noise: noise)
        let healthy = exact.map { Double(Float($0 * (1 + 1e-8))) }
        #expect(bound.admits(DerivedBound.relativeL2(healthy, exact)))
        var perturbed = trusted
        for i in stride(from: 0, to: perturbed.count, by: 10) { perturbed[i] *= 1 + 1e-3 }
        let measured = DerivedBound.relativeL2(perturbed, exact)
        #expect(measured > 1e-5)
        #expect(!bound.admits(measured))
        #expect(!bound.admits(.nan))
        #expect(!DerivedBound(noise: .nan).admits(0))
    }

    @Test func relativeL2EdgeCases() {
        #expect(DerivedBound.relativeL2([0, 0], [0, 0]) == 0)
        #expect(DerivedBound.relativeL2([1, 0], [0, 0]) == .infinity)
        #expect(DerivedBound.relativeL2([1], [1, 2]) == .infinity)
        #expect(DerivedBound.relativeL2([.nan, 0], [1, 1]).isNaN)
        #expect(abs(DerivedBound.relativeL2([3, 4], [0, 4]) - 0.75) < 1e-15)
    }
}

@Suite("Verification")
struct VerificationTests {
    static func settings() -> VerificationSettings {
        var settings = VerificationSettings()
        settings.methods = [.integratedGradients, .gradCAM, .saliency, .inputXGradient]
        settings.steps = 8
        settings.completenessSteps = [16, 32, 64]
        return settings
    }

    static func inputs() -> [VerificationInput] { VerificationInput.seeded(count: 1, side: 32, seed: 3) }

    @Test func tinyModelPassesEveryCheck() throws {
        let report = try Verification(model: PipelineFixtures.tinyModel(), settings: Self.settings()).run(Self.inputs())
        let names = report.checks.map(\.name)
        #expect(
            names == [
                "weights", "logits", "integrated-gradients", "grad-cam", "saliency", "input-x-gradient",
                "finite-differences", "completeness", "relu-near-zero", "maxpool-near-tie",
            ])
        for check in report.checks where check.status != .pass {
            #expect(check.status == .info, "\(check.name): \(check.measured) > \(check.bound ?? .nan): \(check.detail)")
        }
        #expect(report.passed)
        // The JSON round-trips and carries the rule.
        let data = try ReportJSON.document(report)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"float32_floor\""))
        #expect(text.contains("\"passed\" : true"))
        #expect(try JSONDecoder.verificationReport.decode(VerificationReport.self, from: data).checks == report.checks)
    }

    /// One conv weight blown up (finite): `weights` fails and names the tensor.
    @Test func spikedWeightFailsTheWeightsCheck() throws {
        let loaded = try PipelineFixtures.tinyModel()
        var network = loaded.network
        var weight = try #require(network.parameters["layer3.1.conv1.weight"])
        weight.storage[17] = 1e4
        try network.setParameter("layer3.1.conv1.weight", weight)
        let report = try Verification(model: LoadedModel(network, description: "spiked"), settings: Self.settings())
            .run(Self.inputs())
        let failed = report.failures.map(\.name)
        #expect(failed.contains("weights"))
        #expect(report.failures.first?.detail.contains("layer3.1.conv1.weight") == true)
        #expect(!report.passed)
    }

    /// NaN weights and a negative running variance fail `weights`; the NaN poisons every comparison too.
    @Test(arguments: ["nan", "variance"])
    func brokenWeightsFail(_ kind: String) throws {
        var network = try PipelineFixtures.tinyModel().network
        let name = kind == "nan" ? "layer2.0.conv2.weight" : "layer1.0.bn1.running_var"
        var tensor = try #require(network.parameters[name])
        tensor.storage[0] = kind == "nan" ? .nan : -1
        try network.setParameter(name, tensor)
        var settings = Self.settings()
        settings.methods = [.saliency]
        let report = try Verification(model: LoadedModel(network, description: kind), settings: settings)
            .run(Self.inputs())
        let weights = try #require(report.checks.first { $0.name == "weights" })
        #expect(weights.status == .fail)
        #expect(weights.detail.contains(name))
        if kind == "nan" { #expect(report.failures.map(\.name).contains("logits")) }
    }

    /// The finite-difference check can fail: a model whose input gradient is off by a sign.
    @Test func wrongGradientFailsFiniteDifferences() throws {
        let loaded = try PipelineFixtures.tinyModel()
        let verification = try Verification(model: loaded, settings: Self.settings())
        let x = Self.inputs()[0].tensor.converted(to: Double.self)
        let exact = try ResNetClassifier(loaded.network.converted(to: Double.self))
        let target = 5
        let good = verification.finiteDifferences(input: Self.inputs()[0], x: x, target: target, model: exact)
        #expect(good.status == .pass, "\(good.measured) > \(good.bound ?? .nan)")
        let bad = verification.finiteDifferences(
            input: Self.inputs()[0], x: x, target: target, model: NegatedGradient(base: exact))
        #expect(bad.status == .fail)
        #expect(bad.measured > 1000 * (bad.bound ?? .infinity))
    }

    @Test func stepsNeededIsTheFirstCountThatStaysWithinTheTarget() {
        let counts = [16, 32, 64, 128]
        #expect(Verification.stepsNeeded(counts: counts, deltas: [0.2, 0.005, 0.02, 0.001], target: 0.01) == 128)
        #expect(Verification.stepsNeeded(counts: counts, deltas: [0.2, 0.005, 0.002, 0.001], target: 0.01) == 32)
        #expect(Verification.stepsNeeded(counts: counts, deltas: [0.2, 0.1, 0.05, 0.02], target: 0.01) == nil)
        #expect(Verification.stepsNeeded(counts: counts, deltas: [0, 0, 0, .nan], target: 0.01) == nil)
        #expect(VerificationSettings.doublingSteps(upTo: 256) == [16, 32, 64, 128, 256])
        #expect(VerificationSettings.doublingSteps(upTo: 100) == [16, 32, 64, 100])
        #expect(VerificationSettings.doublingSteps(upTo: 16) == [16])
    }

    /// A window counts when its largest input is positive and the runner-up (another position) is within
    /// the threshold; padding never wins; a window of zeros does not count (its gradient is zero anyway).
    @Test func maxPoolNearTiesCountsWindowsWhoseTwoLargestInputsAreClose() throws {
        // One 1×1×4×4 plane, pool 2×2 stride 2 (4 windows): a near tie, a clear winner, all zeros, an exact tie.
        let plane: [Double] = [
            0.5, 0.5 + 1e-9, 0.9, 0.1,
            0.2, 0.1, 0.3, 0.2,
            0, 0, 0.7, 0,
            0, 0, 0, 0.7,
        ]
        let t = try Tensor(shape: [1, 1, 4, 4], storage: plane)
        let counted = Verification.nearTies(t, kernel: 2, stride: 2, padding: 0, threshold: 1e-6)
        #expect(counted.near == 2 && counted.windows == 4, "\(counted)")
        #expect(Verification.nearTies(t, kernel: 2, stride: 2, padding: 0, threshold: 1e-12).near == 1)
        // 3×3 stride 2 padding 1 over the same plane: 4 windows, padding excluded.
        let padded = Verification.nearTies(t, kernel: 3, stride: 2, padding: 1, threshold: 1e-6)
        #expect(padded.windows == 4)
        #expect(padded.near == 2, "\(padded)")  // (0, 0): 0.5 + 1e-9 against 0.5; (1, 1): 0.7 against 0.7
    }

    /// A max-pool window counts as decided differently only when the choices differ and float64's two
    /// candidates are within the threshold (8 float32 ulps of the layer's maximum, 1.0 here).
    @Test func maxPoolFlipsCountsOtherChoicesOfNearTiesOnly() throws {
        // One 1×1×2×2 plane: the stem pool (3×3, stride 2, padding 1) has one window over all four.
        let near = 1.0 + 1e-7, far = 1.5
        let double = try Tensor<Double>(shape: [1, 1, 2, 2], storage: [near, 1.0, 0, 0])
        let agrees = try Tensor<Float>(shape: [1, 1, 2, 2], storage: [Float(near) + 2e-7, 1.0, 0, 0])
        let flipped = try Tensor<Float>(shape: [1, 1, 2, 2], storage: [1.0, 1.0 + 2e-7, 0, 0])
        #expect(Verification.maxPoolFlips(agrees, double) == 0)
        #expect(Verification.maxPoolFlips(flipped, double) == 1)
        let clear = try Tensor<Double>(shape: [1, 1, 2, 2], storage: [far, 1.0, 0, 0])
        #expect(Verification.maxPoolFlips(flipped, clear) == 0, "a clear winner chosen otherwise is not a near-tie")
    }

    @Test func unsupportedMethodIsRefused() throws {
        var settings = VerificationSettings()
        settings.methods = [.occlusion]
        #expect(throws: PipelineError.self) {
            try Verification(model: PipelineFixtures.tinyModel(), settings: settings)
        }
    }
}

/// A model whose input gradient is the negative of the true one (a sign error in a backward).
struct NegatedGradient<Base: AttributionModel>: AttributionModel {
    typealias Scalar = Base.Scalar
    let base: Base
    var classCount: Int { base.classCount }
    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> { try base.outputs(input) }
    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        var (outputs, gradient) = try base.inputGradient(input, targets: targets)
        gradient.storage = gradient.storage.map { -$0 }
        return (outputs, gradient)
    }
    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        try base.layerGradient(input, layer: layer, targets: targets)
    }
}

extension JSONDecoder {
    static var verificationReport: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
