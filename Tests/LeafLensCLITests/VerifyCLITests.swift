import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite("leaflens verify")
struct VerifyCLITests {
    static let bundled = FixturePaths.repositoryRoot.appendingPathComponent(
        "Sources/leaflens/Resources/default.safetensors")
    /// Small and quick: one seeded 32×32 input, 8 IG steps, completeness tried at 16 and 32 steps.
    static let quick = ["--crop", "32", "--samples", "1", "--steps", "8", "--max-steps", "32", "--quiet"]

    @Test func bundledModelPasses() throws {
        let out = try FixturePaths.temporaryDirectory("leaflens-verify")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try CLI.run(["verify"] + Self.quick + ["--out", out.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for name in [
            "weights", "logits", "integrated-gradients", "grad-cam", "saliency", "finite-differences", "completeness",
            "relu-near-zero", "maxpool-near-tie",
        ] {
            #expect(lines.contains { $0.hasPrefix(name + " ") }, "no \(name) line in\n\(result.stdout)")
        }
        #expect(!lines.contains { $0.contains(" FAIL ") })
        #expect(lines.last?.hasPrefix("all 7 checks within their bounds") == true)
        let json = try Data(contentsOf: out.appendingPathComponent("verify.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["passed"] as? Bool == true)
        #expect((object["checks"] as? [Any])?.count == 9)
        #expect((try FileManager.default.contentsOfDirectory(atPath: out.path)) == ["verify.json"])
    }

    /// The sample leaf at the model's 128×128: IG's folded float32 result is 9.1e−5 from float64 as
    /// computed, over its bound, because at α = 0.61 (and three small α) of the 50 path points it decides a
    /// stem ReLU input at 5.2e−8 of the layer's maximum (and max-pool near-ties) the other way. The check
    /// names those points and passes with float64's gradients there (Verification+DecisionFlips.swift).
    /// That is the AVX-512 kernel's float32. Without AVX-512 (im2col + OpenBLAS, other summation orders)
    /// every path point decides as float64 does and the result passes the plain bound (6.2e−6 ≤ 1.25e−5,
    /// measured 2026-12-03 on an AMD EPYC without AVX-512).
    @Test func integratedGradientsNamesThePathPointsDecidedWithinRounding() throws {
        let sample = FixturePaths.repositoryRoot.appendingPathComponent("samples/rust.png")
        let result = try CLI.run(["verify", sample.path, "--method", "integrated-gradients", "--quiet"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let line = try #require(
            result.stdout.split(separator: "\n").first { $0.hasPrefix("integrated-gradients ") }, "\(result.stdout)")
        #expect(line.contains(" PASS "), "\(line)")
        if PackedMatrix.isAvailable {
            #expect(
                line.contains("decided near-ties within float32 rounding") && line.contains("α = 0.608"), "\(line)")
        }
    }

    @Test func jsonGoesToStandardOutput() throws {
        let result = try CLI.run(["verify"] + Self.quick + ["--method", "saliency", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["methods"] as? [String] == ["saliency"])
    }

    /// A copy of the bundled model with one convolution weight blown up to 1e4: verify exits 1 and the
    /// weights line fails, naming the tensor.
    @Test func corruptedWeightsAreFlagged() throws {
        let directory = try FixturePaths.temporaryDirectory("leaflens-verify-corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = try SafeTensorsFile.read(Self.bundled)
        var tensors: [String: Tensor<Float>] = [:]
        for name in file.tensorNames { tensors[name] = try file.tensor(name, as: Float.self) }
        var weight = try #require(tensors["layer2.1.conv2.weight"])
        weight.storage[100] = 1e4
        tensors["layer2.1.conv2.weight"] = weight
        let corrupted = directory.appendingPathComponent("corrupted.safetensors")
        try SafeTensorsFile.write(tensors, metadata: file.metadata, to: corrupted)

        let result = try CLI.run(["verify", "--weights", corrupted.path, "--method", "saliency"] + Self.quick)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let weightsLine = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("weights ") })
        #expect(weightsLine.contains(" FAIL "))
        #expect(weightsLine.contains("layer2.1.conv2.weight"))
        let summary = try #require(result.stdout.split(separator: "\n").last)
        #expect(summary.contains("checks failed:") && summary.contains("weights"), "\(summary)")
    }

    @Test(arguments: [["--method", "occlusion"], ["--steps", "1"], ["--samples", "0"], ["--layer", "layer9"]])
    func usageErrors(_ arguments: [String]) throws {
        let result = try CLI.run(["verify"] + Self.quick + arguments)
        #expect(result.status == 2, "\(result.stderr)")
    }
}
