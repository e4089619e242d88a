import Dispatch
import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel

/// The second wave's methods as benchmark subjects, each timing exactly what `leaflens explain` runs for
/// that method (library defaults unless an option is given), on the seeded model and input of
/// `attributionSetup` — the computation scripts/bench_peer.py times on the PyTorch side.
///
/// FLOP conventions (nominal, as scripts/bench_pytorch.py counts them; F = one forward of one image):
/// a forward + backward to the input is 2F; a forward alone is F.
extension BenchmarkSetup {
    /// NoiseTunnel around Integrated Gradients (zero baseline): `samples` noisy copies, each an IG of
    /// `steps` steps. FLOPs: samples × steps × 2F.
    public func noiseTunnel(
        target: Int, samples: Int, steps: Int, kind: NoiseTunnelKind, stdev: Double, batchSize: Int?,
        internalBatchSize: Int?
    ) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        let parameters = NoiseTunnel.Parameters(kind: kind, samples: samples, stdev: stdev, batchSize: batchSize)
        let method = NoiseTunnel.Method<Float>.integratedGradients(
            baseline: .zero, steps: steps, rule: .gaussLegendre, internalBatchSize: internalBatchSize)
        let name =
            "noise-tunnel \(kind.rawValue) ig \(steps) steps, \(samples) samples"
            + (batchSize.map { ", nt batch \($0)" } ?? "") + (internalBatchSize.map { ", internal batch \($0)" } ?? "")
        return BenchmarkSubject(task: name, flopsPerRun: Double(samples * steps) * 2 * forwardFlops) {
            _ = try NoiseTunnel.attribute(
                model: model, input: input, targets: targets, method: method, parameters: parameters)
        }
    }

    /// GradientShap with one zero baseline row (Captum's `baselines=torch.zeros(1, …)`), σ = `stdev`.
    /// FLOPs: samples × 2F.
    public func gradientShap(
        target: Int, samples: Int, stdev: Double, internalBatchSize: Int?
    ) throws
        -> BenchmarkSubject
    {
        let (model, input, targets) = try attributionSetup(target: target)
        let zero = Tensor<Float>(zeros: [1] + Array(input.shape.dropFirst()))
        let parameters = GradientShap.Parameters<Float>(
            baselines: .rows(zero), samples: samples, stdev: stdev, internalBatchSize: internalBatchSize)
        let name = "gradient-shap \(samples) samples" + (internalBatchSize.map { ", internal batch \($0)" } ?? "")
        return BenchmarkSubject(task: name, flopsPerRun: Double(samples) * 2 * forwardFlops) {
            _ = try GradientShap.attribute(model: model, input: input, targets: targets, parameters: parameters)
        }
    }

    /// The channels of `layer`'s output (for the CAM FLOP counts).
    func channels(of layer: String) -> Int {
        let widths = network.configuration.stageWidths.map { $0 * network.configuration.blockKind.expansion }
        for stage in (1...4).reversed() where layer.hasPrefix("layer\(stage)") { return widths[stage - 1] }
        return network.configuration.width
    }

    /// Score-CAM at `layer`: one forward with the layer tapped, then one masked forward per channel.
    /// FLOPs: (channels + 1) × F.
    public func scoreCAM(target: Int, layer: String, batchSize: Int?) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        let parameters = CAMParameters(layers: [layer], batchSize: batchSize)
        let c = channels(of: layer)
        let name = "score-cam \(layer) (\(c) channels), batch \(batchSize ?? ScoreCAM.defaultBatchSize)"
        return BenchmarkSubject(task: name, flopsPerRun: Double(c + 1) * forwardFlops) {
            _ = try ScoreCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        }
    }

    /// Ablation-CAM at `layer`. LeafLens re-runs only the network above the layer for each ablated
    /// channel, so the nominal count is the peer's: (channels + 1) × F (a full forward per channel, as
    /// pytorch-grad-cam runs it) — a throughput figure, not LeafLens's own operation count.
    public func ablationCAM(target: Int, layer: String, batchSize: Int?) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        let parameters = CAMParameters(layers: [layer], batchSize: batchSize)
        let c = channels(of: layer)
        let name = "ablation-cam \(layer) (\(c) channels), batch \(batchSize ?? AblationCAM.defaultBatchSize)"
        return BenchmarkSubject(task: name, flopsPerRun: Double(c + 1) * forwardFlops) {
            _ = try AblationCAM.attribute(model: model, input: input, targets: targets, parameters: parameters)
        }
    }

    /// Deletion + insertion (RISE) of one image, as `explain --metrics deletion,insertion` scores it
    /// (`FaithfulnessEvaluator`, `step` pixels per step, default the image width; `batchSize` states per
    /// forward). The explanation ranked is Saliency's (|∂F/∂x|, computed once before timing: the metric's
    /// cost does not depend on the map's values). FLOPs: 2 × (⌈H·W/step⌉ + 2) forwards (each curve scores
    /// the clean image and n_steps + 1 states).
    public func deletionInsertion(target: Int, step: Int?, batchSize: Int) throws -> BenchmarkSubject {
        guard batch == 1 else { throw PipelineError("deletion and insertion score one image: use batch 1") }
        let (model, input, targets) = try attributionSetup(target: target)
        let saliency = try Saliency.attribute(model: model, input: input, targets: targets)
        var options = FaithfulnessOptions()
        options.step = step
        options.batchSize = batchSize
        let pixelStep = step ?? CausalMetric.defaultStep(width: size)
        let states = (size * size + pixelStep - 1) / pixelStep + 1
        return BenchmarkSubject(
            task: "deletion+insertion step \(pixelStep) (\(states) states each), batch \(batchSize)",
            flopsPerRun: Double(2 * (states + 1)) * forwardFlops
        ) {
            _ = try FaithfulnessEvaluator.evaluate(
                model: model, image: input, target: target, attribution: saliency, metrics: [.deletion, .insertion],
                options: options)
        }
    }
}

/// Timing of reading a weights file as every command does (`ModelSource.load`), optionally followed by
/// building the classification program (BatchNorm folded, convolution weights packed).
public enum LoadBenchmark {
    public static func subject(weights: String, program: Bool) -> BenchmarkSubject {
        let source = ModelSource(weights: weights, bundled: nil)
        return BenchmarkSubject(task: program ? "load + fold + pack \(weights)" : "load \(weights)", flopsPerRun: 0) {
            let model = try source.load()
            if program { _ = try model.network.program(fastConvolutions: true) }
        }
    }

    /// Runs `subject` `iterations` times after one warm-up (the page cache holds the file from then on):
    /// median, min and max in ms.
    public static func measure(_ subject: BenchmarkSubject, iterations: Int) throws -> BenchmarkReport {
        let t = try BenchmarkTimings(subject.body, warmups: 1, iterations: iterations)
        return BenchmarkReport(
            task: subject.task, batch: 1, size: 0, iterations: iterations, medianMs: t.median, minMs: t.min,
            maxMs: t.max, gflops: 0, blasCore: BLASRuntime.coreName, convKernel: PackedMatrix.kernelName)
    }
}

/// Wall times of `iterations` runs of a body after `warmups` untimed ones, in ms.
struct BenchmarkTimings {
    var median: Double
    var min: Double
    var max: Double

    init(_ body: () throws -> Void, warmups: Int, iterations: Int) throws {
        for _ in 0..<warmups { try body() }
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let n = times.count
        median = n == 0 ? 0 : n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2
        min = times.first ?? 0
        max = times.last ?? 0
    }
}
