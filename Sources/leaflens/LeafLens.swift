import ArgumentParser
import LeafLensMath

@main
struct LeafLensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaflens",
        abstract: "Classify plant-leaf images with a ResNet18 and explain the decision.",
        subcommands: [Info.self])
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print runtime facts as `key: value` lines (BLAS kernels, threads, CPU).")

    func run() {
        print("blas-core: \(BLASRuntime.coreName)")
        print("blas-core-selection: \(BLASRuntime.selection)")
        print("blas-threads: \(BLASRuntime.threads)")
        print("cpu-simd: \(BLASRuntime.cpuSIMD)")
        print("workers: \(Parallel.workers)")
    }
}
