import CLeafLensKernels
import Foundation

/// The CPU's measured peak single-precision FLOP rate: `peak_fma.c` runs independent FMA chains on
/// registers (AVX-512, AVX2+FMA or a portable multiply-add, the widest the CPU runs) on one thread and
/// on all of them, and the rate is the best of several short runs (a busy machine slows some runs; the
/// fastest is the closest to the hardware's rate). It is what `leaflens bench peak` prints and what
/// the other benchmarks divide by to report the fraction of peak they reach.
public struct PeakFLOPRate: Sendable, Codable, Equatable {
    /// "avx512", "avx2-fma" or "portable".
    public var isa: String
    /// Single-precision GFLOP/s of one thread.
    public var perCoreGflops: Double
    /// GFLOP/s of `threads` threads running at once.
    public var allCoresGflops: Double
    public var threads: Int

    public init(isa: String, perCoreGflops: Double, allCoresGflops: Double, threads: Int) {
        self.isa = isa
        self.perCoreGflops = perCoreGflops
        self.allCoresGflops = allCoresGflops
        self.threads = threads
    }

    /// The instruction set the probe uses on this CPU.
    public static var isaName: String { String(cString: leaflens_peak_isa_name(leaflens_peak_isa())) }

    /// Measures the peak: each of the one-thread and all-threads rates is the best of `repeats` runs of
    /// about `seconds / (2 · repeats)` each (iterations calibrated on a short first run).
    /// - Parameter threads: threads of the all-cores figure (default: the processors this process may use).
    public static func measure(
        threads: Int = Parallel.workers, seconds: Double = 0.5, repeats: Int = 5
    ) throws -> PeakFLOPRate {
        guard threads >= 1, threads <= 256 else {
            throw PeakProbeError("threads must be in 1...256, got \(threads)")
        }
        guard seconds.isFinite, seconds > 0, repeats >= 1 else {
            throw PeakProbeError("the probe needs a positive duration and at least one run")
        }
        let isa = leaflens_peak_isa()
        let perRun = seconds / Double(2 * repeats)
        let iterations = try calibratedIterations(isa: isa, seconds: perRun)
        let single = try bestRate(isa: isa, iterations: iterations, threads: 1, repeats: repeats)
        let all =
            threads == 1 ? single : try bestRate(isa: isa, iterations: iterations, threads: threads, repeats: repeats)
        return PeakFLOPRate(
            isa: String(cString: leaflens_peak_isa_name(isa)), perCoreGflops: single, allCoresGflops: all,
            threads: threads)
    }

    /// `gflops` as a fraction of the all-cores peak.
    public func fraction(ofAllCores gflops: Double) -> Double { gflops / allCoresGflops }

    /// Iterations for about `seconds` on one thread, from the fastest of a few short runs.
    static func calibratedIterations(isa: Int32, seconds: Double) throws -> Int {
        let probe = 20_000
        var fastest = Double.infinity
        for _ in 0..<3 { fastest = min(fastest, try run(isa: isa, iterations: probe, threads: 1)) }
        let perIteration = max(fastest / Double(probe), 1e-12)
        return max(probe, min(Int(seconds / perIteration), 1 << 34))
    }

    static func bestRate(isa: Int32, iterations: Int, threads: Int, repeats: Int) throws -> Double {
        var fastest = Double.infinity
        for _ in 0..<repeats { fastest = min(fastest, try run(isa: isa, iterations: iterations, threads: threads)) }
        let flops = leaflens_peak_flops(isa, iterations) * Double(threads)
        return flops / fastest / 1e9
    }

    static func run(isa: Int32, iterations: Int, threads: Int) throws -> Double {
        let seconds = leaflens_peak_run(isa, iterations, Int32(threads))
        guard seconds > 0, seconds.isFinite else {
            throw PeakProbeError("the FMA probe could not start \(threads) threads")
        }
        return seconds
    }
}

/// The peak probe could not run (bad arguments, or threads could not be created).
public struct PeakProbeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
