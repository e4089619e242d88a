import Dispatch
import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel

#if canImport(Glibc)
import Glibc
#endif

/// One timing of `leaflens bench` (keys on disk: snake_case).
public struct BenchmarkReport: Codable, Sendable {
    public var task: String
    public var batch: Int
    public var size: Int
    public var iterations: Int
    public var medianMs: Double
    public var minMs: Double
    public var maxMs: Double
    public var gflops: Double
    public var blasCore: String
    public var convKernel: String
    /// `bench ig --steps auto`: the count the step search chose, and every count it tried (in order).
    public var chosenSteps: Int? = nil
    public var stepsTried: [Int]? = nil
    /// The all-cores peak the run is compared with (`leaflens bench peak`), when one was measured or given.
    public var peak: PeakFLOPRate? = nil
    /// gflops / peak.allCoresGflops (nil without a peak).
    public var fractionOfPeak: Double? = nil

    /// Records `peak` and the fraction of it this run reached.
    public mutating func compare(with peak: PeakFLOPRate) {
        self.peak = peak
        fractionOfPeak = gflops > 0 && peak.allCoresGflops > 0 ? gflops / peak.allCoresGflops : nil
    }
}

public typealias PeakFLOPRate = LeafLensMath.PeakFLOPRate

/// Peak memory around one run (getrusage ru_maxrss, KiB on Linux, reported in MiB).
public struct PeakMemoryReport: Sendable {
    public var task: String
    public var before: Double
    public var after: Double
    public var seconds: Double
}

/// Something to time: a name, its FLOPs per run and the work itself. Benchmarks are not tests: these
/// produce numbers; BENCHMARKS.md records them.
public struct BenchmarkSubject {
    public var task: String
    public var flopsPerRun: Double
    public var body: () throws -> Void
    /// For a step search: the count chosen and the counts tried (the same every run: the search is
    /// deterministic).
    public var stepSearch: (chosen: Int, tried: [Int])? = nil
}

/// The model, input and FLOP count a benchmark runs on.
public struct BenchmarkSetup {
    public var batch: Int
    public var size: Int
    let network: ResNet18<Float>

    /// `model`, or the seeded torchvision-width ResNet18 of scripts/bench_pytorch.py (seed 1003, 38
    /// classes) at `seededWidth` when `model` is nil.
    public init(model: LoadedModel?, seededWidth: Int = 64, batch: Int, size: Int) throws {
        if let model {
            network = model.network
        } else {
            network = try ResNet18<Float>.seeded(
                seed: 1003, configuration: ResNet18Configuration(classCount: 38, width: seededWidth))
        }
        self.batch = batch
        self.size = size
    }

    public var classCount: Int { network.configuration.classCount }

    /// One forward at the benchmark's size, in FLOPs (2 per multiply–accumulate), for all images.
    var forwardFlops: Double {
        2 * Double(network.configuration.multiplyAccumulates(height: size, width: size)) * Double(batch)
    }

    /// The classification forward pass (BatchNorm folded, fastest convolutions), as `classify` runs it.
    public func forward() throws -> BenchmarkSubject {
        let program = try network.program(fastConvolutions: true)
        let x = ResNet18<Float>.seededInput(seed: 1, shape: [batch, 3, size, size])
        return BenchmarkSubject(task: "forward", flopsPerRun: forwardFlops) { _ = try program.forward(x) }
    }

    /// Forward + gradient of one logit per image w.r.t. the input. Backward costs about twice the
    /// forward (input gradient only: no weight gradients).
    public func inputGradient() throws -> BenchmarkSubject {
        let program = try network.program(fastConvolutions: false)
        let x = ResNet18<Float>.seededInput(seed: 1, shape: [batch, 3, size, size])
        let seed = try ResNetProgram<Float>.oneHot(
            targets: Array(repeating: 0, count: batch), classCount: network.configuration.classCount)
        return BenchmarkSubject(task: "forward+input-gradient", flopsPerRun: 3 * forwardFlops) {
            let record = try program.forward(x, backward: .inputOnly)
            _ = try program.backward(record, gradOutput: seed, input: true)
        }
    }

    /// The attribution model, input `seededInput(seed: 2003)` and targets of the attribution benchmarks.
    func attributionSetup(target: Int) throws -> (ResNetClassifier<Float>, Tensor<Float>, [Int]) {
        let input = ResNet18<Float>.seededInput(seed: 2003, shape: [batch, 3, size, size])
        return (try ResNetClassifier(network), input, Array(repeating: target, count: batch))
    }

    /// Integrated Gradients (zero baseline); FLOPs: steps × (forward + backward to the input) = steps × 2
    /// forwards, the script's convention.
    public func integratedGradients(
        target: Int, steps: Int, rule: IntegrationRule, internalBatchSize: Int?
    ) throws
        -> BenchmarkSubject
    {
        let (model, input, targets) = try attributionSetup(target: target)
        let name = "ig \(rule.rawValue) \(steps) steps" + (internalBatchSize.map { ", internal batch \($0)" } ?? "")
        return BenchmarkSubject(task: name, flopsPerRun: Double(steps) * 2 * forwardFlops) {
            _ = try IntegratedGradients.attribute(
                model: model, input: input, targets: targets, steps: steps, rule: rule,
                internalBatchSize: internalBatchSize)
        }
    }

    /// Integrated Gradients with `--steps auto` (zero baseline): the whole step search, ladder and
    /// bisection, as `explain --steps auto` runs it. The search is run once here to learn its counts; FLOPs:
    /// (Σ tried counts) × 2 forwards for the attributions + 2 forwards for F(x) and F(baseline).
    public func integratedGradientsStepSearch(
        target: Int, search: IntegratedGradientsStepSearch, rule: IntegrationRule, internalBatchSize: Int?
    ) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        func run() throws -> IntegratedGradients.StepSearchResult<Float> {
            try IntegratedGradients.attribute(
                model: model, input: input, targets: targets, stepSearch: search, rule: rule,
                internalBatchSize: internalBatchSize)
        }
        let first = try run()
        let tried = first.trials.map(\.steps)
        let name =
            "ig \(rule.rawValue) auto (delta within \(String(format: "%g%%", search.relativeTolerance * 100)) of |F(x) − F(0)|): "
            + "\(first.steps) steps\(first.converged ? "" : " (not converged)"), tried \(tried.map(String.init).joined(separator: ", "))"
            + (internalBatchSize.map { ", internal batch \($0)" } ?? "")
        var subject = BenchmarkSubject(
            task: name, flopsPerRun: (Double(tried.reduce(0, +)) * 2 + 2) * forwardFlops
        ) { _ = try run() }
        subject.stepSearch = (first.steps, tried)
        return subject
    }

    /// The layers Grad-CAM can use.
    public func layerNames() throws -> [String] { try ResNetClassifier(network).layerNames }

    /// Grad-CAM with ReLU and upsampling; FLOPs: one forward and one full backward (2 forwards).
    public func gradCAM(target: Int, layer: String, upsample: UpsampleMode) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        return BenchmarkSubject(task: "grad-cam \(layer) \(upsample.rawValue)", flopsPerRun: 2 * forwardFlops) {
            _ = try GradCAM.attribute(model: model, input: input, layer: layer, targets: targets, upsample: upsample)
        }
    }

    /// Occlusion (window over all channels, zero baseline); FLOPs: (windows + 1) forwards, also for an
    /// `approximation` (Krypton's τ and drill-down), so its GFLOP/s is the exact work per second.
    public func occlusion(
        target: Int, window: Int, stride: Int, perturbationsPerEval: Int, approximation: Occlusion.Approximation? = nil
    ) throws -> BenchmarkSubject {
        let (model, input, targets) = try attributionSetup(target: target)
        let perAxis = (size - window + stride - 1) / stride + 1
        let name =
            "occlusion window \(window) stride \(stride) ppe \(perturbationsPerEval) (\(perAxis * perAxis) windows)"
        if let approximation {
            try approximation.validate()
            let drill = approximation.drillDown.map { ", drill-down \($0) by \(approximation.ranking.rawValue)" } ?? ""
            return BenchmarkSubject(
                task: name + ", tau \(approximation.projectiveFieldThreshold)" + drill,
                flopsPerRun: Double(perAxis * perAxis + 1) * forwardFlops
            ) {
                _ = try Occlusion.attribute(
                    model: model, input: input, targets: targets, window: [3, window, window],
                    strides: [3, stride, stride], perturbationsPerEval: perturbationsPerEval,
                    approximation: approximation)
            }
        }
        return BenchmarkSubject(
            task: name,
            flopsPerRun: Double(perAxis * perAxis + 1) * forwardFlops
        ) {
            _ = try Occlusion.attribute(
                model: model, input: input, targets: targets, window: [3, window, window],
                strides: [3, stride, stride],
                perturbationsPerEval: perturbationsPerEval)
        }
    }

    /// Runs `subject` `warmups` times (default twice) to warm up, then `iterations` times: median, min and max.
    public func measure(_ subject: BenchmarkSubject, iterations: Int, warmups: Int = 2) throws -> BenchmarkReport {
        let t = try BenchmarkTimings(subject.body, warmups: warmups, iterations: iterations)
        var report = BenchmarkReport(
            task: subject.task, batch: batch, size: size, iterations: iterations, medianMs: t.median,
            minMs: t.min, maxMs: t.max, gflops: subject.flopsPerRun / (t.median / 1000) / 1e9,
            blasCore: BLASRuntime.coreName, convKernel: PackedMatrix.kernelName)
        report.chosenSteps = subject.stepSearch?.chosen
        report.stepsTried = subject.stepSearch?.tried
        return report
    }

    /// Runs `subject` once and reads the process's peak RSS before and after it. The model is already
    /// loaded, so the increase is what the work needs.
    public func peakMemory(_ subject: BenchmarkSubject) throws -> PeakMemoryReport {
        func peakMiB() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_maxrss) / 1024
        }
        let before = peakMiB()
        let start = Date()
        try subject.body()
        let seconds = Date().timeIntervalSince(start)
        return PeakMemoryReport(task: subject.task, before: before, after: peakMiB(), seconds: seconds)
    }
}

/// Runtime facts `leaflens info` prints, as (key, value) in order.
/// `leaflens info --weights W`: what a weights file holds, as `key: value` pairs.
public enum ModelFacts {
    public static func all(_ model: LoadedModel) -> [(key: String, value: String)] {
        let size = InputSize.resolve(metadata: model.metadata)
        let summary = model.network.summary(inputSize: size.crop)
        let labels =
            model.labels.count <= 8
            ? model.labels.joined(separator: ", ")
            : model.labels.prefix(6).joined(separator: ", ") + ", … (\(model.labels.count) in all)"
        var facts: [(key: String, value: String)] = [
            ("architecture", summary.architecture), ("width", "\(summary.width)"), ("classes", "\(summary.classCount)"),
            ("labels", labels),
            ("input-size", "resize \(size.resize.map(String.init) ?? "none"), crop \(size.crop)"),
            ("parameters", "\(summary.parameterCount)"), ("macs", "\(summary.multiplyAccumulates)"),
            ("source", model.description),
        ]
        facts += preparedWeights(model.network)
        facts += model.notes.map { ("note", $0) }
        return facts
    }

    /// What each kind of run prepares beyond the weights: `classify` (forward only) and `explain`
    /// (forward and input gradients); each is built only when a run needs it.
    static func preparedWeights(_ network: ResNet<Float>) -> [(key: String, value: String)] {
        func describe(_ purpose: ProgramPurpose) -> String {
            guard let program = try? network.program(for: purpose) else { return "cannot be built" }
            let algorithms = program.convolutionAlgorithms
            let prepared = algorithms.filter { $0 != .im2col }
            guard !prepared.isEmpty else { return "none (im2col over the folded weights)" }
            let kinds = Dictionary(grouping: prepared, by: \.rawValue).map { "\($0.key) for \($0.value.count)" }
            let megabytes = Double(program.preparedWeightBytes) / 1_000_000
            let summary =
                "\(kinds.sorted().joined(separator: ", ")) of \(algorithms.count) convolutions, "
                + String(format: "%.1f MB", megabytes)
            program.prepareInputGradients()
            let later = Double(program.preparedWeightBytes) / 1_000_000 - megabytes
            guard later > 0 else { return summary }
            return summary
                + String(
                    format: " (+ %.1f MB for the input gradient, packed when a backward pass first needs it: "
                        + "not for Grad-CAM at layer4 or occlusion)", later)
        }
        return [("prepared-classify", describe(.classification)), ("prepared-explain", describe(.attribution))]
    }
}

public enum RuntimeFacts {
    public static func all(defaultModel: URL?) -> [(key: String, value: String)] {
        [
            ("blas-core", BLASRuntime.coreName), ("blas-core-selection", BLASRuntime.selection),
            ("blas-threads", "\(BLASRuntime.threads)"), ("cpu-simd", BLASRuntime.cpuSIMD),
            ("conv-kernel", PackedMatrix.kernelName),
            (
                "conv-panel-groups",
                "above \((PackedMatrix.panelGroupThreshold * MemoryLayout<Float>.size) >> 10) KiB of packed weights per call"
            ),
            ("workers", "\(Parallel.workers)"),
            (
                "huge-page-heap",
                ProcessSettings.hugePageHeapBytes > 0
                    ? "\(ProcessSettings.hugePageHeapBytes >> 20) MiB" : "off (LEAFLENS_HUGE_PAGES=1 turns it on)"
            ),
            ("default-model", defaultModel?.path ?? "not found"),
        ]
    }
}

/// The deterministic seeded ResNets documented in Fixtures/README.md (SplitMix64 weights).
public enum SeededModel {
    /// Writes it as safetensors; 38 classes get the PlantVillage labels.
    public static func write(seed: UInt64, depth: Int = 18, width: Int, classes: Int, to url: URL) throws {
        let labels = classes == PlantVillage.labels.count ? PlantVillage.labels : nil
        let configuration: ResNetConfiguration
        do { configuration = try ResNetConfiguration(depth: depth, width: width, classCount: classes) } catch {
            throw PipelineError(error.description)
        }
        let model = try ResNet<Float>.seeded(seed: seed, configuration: configuration, labels: labels)
        do {
            try model.save(
                to: url,
                metadata: [
                    "description": "deterministic seeded ResNet\(depth) (seed \(seed), width \(width)); not trained"
                ])
        } catch {
            throw PipelineError(error.description)
        }
    }
}
