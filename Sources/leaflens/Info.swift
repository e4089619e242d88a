import ArgumentParser
import LeafLensMath

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print runtime facts as `key: value` lines (BLAS and convolution kernels, threads, CPU).")

    func run() {
        print("blas-core: \(BLASRuntime.coreName)")
        print("blas-core-selection: \(BLASRuntime.selection)")
        print("blas-threads: \(BLASRuntime.threads)")
        print("cpu-simd: \(BLASRuntime.cpuSIMD)")
        print("conv-kernel: \(PackedMatrix.kernelName)")
        print("workers: \(Parallel.workers)")
        print("default-model: \(DefaultModel.location?.path ?? "not found")")
    }
}
