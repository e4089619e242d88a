import Foundation
import LeafLensModel
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// The FLOP counts `leaflens bench` divides by (and so the fraction of peak it prints): F = 2 × the
/// model's multiply–accumulates (as `leaflens info` prints `macs`) × images; forward F, IG steps × 2F,
/// Grad-CAM 2F. Formulas only — nothing is timed.
@Suite struct BenchmarkFlopCountTests {
    static let (batch, size, width) = (2, 32, 8)

    static func setup() throws -> BenchmarkSetup {
        try BenchmarkSetup(model: nil, seededWidth: width, batch: batch, size: size)
    }

    /// One forward of the batch: 2 FLOPs per MAC of the architecture at the benchmark's size.
    static var forwardFlops: Double {
        let macs = ResNet18Configuration(classCount: 38, width: width).multiplyAccumulates(height: size, width: size)
        return 2 * Double(macs) * Double(batch)
    }

    @Test func torchvisionResNet18IsTheKnown1Point81GMAC() {
        // torchvision's resnet18 at 224×224: 1.814 GMAC (its model card's 1.81 GFLOPS), 38 classes here.
        let macs = ResNet18Configuration(classCount: 38, width: 64).multiplyAccumulates(height: 224, width: 224)
        expectClose([Double(macs)], [1.814e9], atol: 0, rtol: 1e-3)
    }

    @Test func forwardCountsOneForward() throws {
        #expect(try Self.setup().forward().flopsPerRun == Self.forwardFlops)
    }

    @Test(arguments: [1, 16, 50])
    func integratedGradientsCountsTwoForwardsPerStep(_ steps: Int) throws {
        let subject = try Self.setup().integratedGradients(
            target: 5, steps: steps, rule: .gaussLegendre, internalBatchSize: nil)
        #expect(subject.flopsPerRun == Double(steps) * 2 * Self.forwardFlops)
    }

    @Test func gradCAMCountsTwoForwards() throws {
        let subject = try Self.setup().gradCAM(target: 5, layer: "layer4", upsample: .bilinear)
        #expect(subject.flopsPerRun == 2 * Self.forwardFlops)
    }

    @Test func infoPrintsTheMACsTheCountsUse() throws {
        let model = try PipelineFixtures.tinyModel()
        let crop = InputSize.resolve(metadata: model.metadata).crop
        let printed = try #require(ModelFacts.all(model).first { $0.key == "macs" }?.value)
        #expect(printed == "\(model.network.configuration.multiplyAccumulates(height: crop, width: crop))")
    }

    @Test func fractionOfPeakIsTheRateOverTheAllCoresPeak() {
        var report = BenchmarkReport(
            task: "forward", batch: 1, size: 32, iterations: 1, medianMs: 1, minMs: 1, maxMs: 1, gflops: 25,
            blasCore: "x", convKernel: "y")
        report.compare(with: PeakFLOPRate(isa: "avx2-fma", perCoreGflops: 50, allCoresGflops: 100, threads: 2))
        #expect(report.fractionOfPeak == 0.25)
        report.gflops = 0
        report.compare(with: PeakFLOPRate(isa: "avx2-fma", perCoreGflops: 50, allCoresGflops: 100, threads: 2))
        #expect(report.fractionOfPeak == nil)
    }
}
