import ArgumentParser
import Dispatch
import Foundation
import LeafLensMath
import LeafLensModel

/// Timing commands. Benchmarks are not tests: these print numbers, BENCHMARKS.md records them.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the forward pass and gradients (median over iterations, after warm-up).",
        subcommands: [
            BenchForward.self, BenchInputGradient.self, BenchIntegratedGradients.self, BenchGradCAM.self,
            BenchOcclusion.self,
        ])
}

struct BenchOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Images per batch.")
    var batch: Int = 1

    @Option(name: .long, help: "Timed iterations (after 2 warm-up runs).")
    var iterations: Int = 10

    @Option(name: .long, help: "Input height and width in pixels (at least 32).")
    var size: Int = 224

    @Flag(name: .long, help: "Print one JSON object with median_ms, min_ms, max_ms, gflops.")
    var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard size >= 32 else { throw ValidationError("--size must be at least 32") }
    }

    /// The model, its inference program, a seeded input batch and the FLOPs of one forward over it.
    func forwardSetup(fastConvolutions: Bool) throws -> (ResNet18<Float>, ResNetProgram<Float>, Tensor<Float>, Double) {
        let network = try model.loadModel()
        let program = try network.program(fastConvolutions: fastConvolutions)
        let x = ResNet18<Float>.seededInput(seed: 1, shape: [batch, 3, size, size])
        let flops = 2.0 * Double(network.configuration.multiplyAccumulates(height: size, width: size)) * Double(batch)
        return (network, program, x, flops)
    }

    /// Runs `body` twice to warm up, then `iterations` times, and reports.
    func measure(task: String, flopsPerRun: Double, _ body: () throws -> Void) throws {
        try body()
        try body()
        var times: [Double] = []
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let median = times.count % 2 == 1
            ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let report = BenchReport(
            task: task, batch: batch, size: size, iterations: iterations, median_ms: median,
            min_ms: times.first ?? 0, max_ms: times.last ?? 0,
            gflops: flopsPerRun / (median / 1000) / 1e9, blas_core: BLASRuntime.coreName,
            conv_kernel: PackedMatrix.kernelName)
        if json {
            print(try JSONLine.encode(report))
        } else {
            print(String(
                format: "%@ batch %d at %dx%d: median %.2f ms (min %.2f, max %.2f) over %d runs, %.1f GFLOP/s [%@, %@]",
                task, batch, size, size, median, report.min_ms, report.max_ms, iterations, report.gflops,
                report.conv_kernel, report.blas_core))
        }
    }
}

struct BenchReport: Codable {
    var task: String
    var batch: Int
    var size: Int
    var iterations: Int
    var median_ms: Double
    var min_ms: Double
    var max_ms: Double
    var gflops: Double
    var blas_core: String
    var conv_kernel: String
}

struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Time the classification forward pass (BatchNorm folded; LeafLens's AVX-512 convolution kernel, or Winograd where it is unavailable), as `classify` runs it.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        let (_, program, x, forwardFlops) = try options.forwardSetup(fastConvolutions: true)
        try options.measure(task: "forward", flopsPerRun: forwardFlops) { _ = try program.forward(x) }
    }
}

struct BenchInputGradient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "input-gradient", abstract: "Time forward + gradient of one logit per image w.r.t. the input.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        let (network, program, x, forwardFlops) = try options.forwardSetup(fastConvolutions: false)
        let seed = try ResNetProgram<Float>.oneHot(
            targets: Array(repeating: 0, count: options.batch), classCount: network.configuration.classCount)
        // Backward costs about twice the forward (input gradient only: no weight gradients).
        try options.measure(task: "forward+input-gradient", flopsPerRun: 3 * forwardFlops) {
            let record = try program.forward(x, backward: .inputOnly)
            _ = try program.backward(record, gradOutput: seed, input: true)
        }
    }
}
