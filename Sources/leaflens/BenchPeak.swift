import ArgumentParser
import Foundation
import LeafLensPipeline

/// `leaflens bench peak`: the CPU's peak single-precision FLOP rate from an FMA probe (PeakFLOPRate).
struct BenchPeak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Measure the CPU's peak single-precision FLOP rate per core and for all cores (an FMA probe).",
        discussion: """
            Each thread runs independent chains of fused multiply-adds on registers (24 AVX-512 or 12 AVX2 \
            accumulators, enough to hide the FMA latency on two FMA ports; a portable multiply-add loop on \
            CPUs without FMA), chosen at run time from CPUID; an FMA counts as 2 FLOPs per lane. The rate is \
            the best of --repeats runs, for one thread and for --threads threads started together. The other \
            bench commands measure it too (or take --peak-gflops) and print the fraction of it they reach.
            """)

    @Option(name: .long, help: "Threads of the all-cores figure (default: the processors this process may use).")
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Total probe time in seconds, split over the runs.", valueName: "s"))
    var seconds: Double = 1

    @Option(name: .long, help: "Runs of each figure; the fastest counts.")
    var repeats: Int = 5

    @Flag(name: .long, help: "Print one JSON object with isa, per_core_gflops, all_cores_gflops, threads.")
    var json = false

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be in 1...256, got \(threads)")
        }
        guard seconds.isFinite, seconds > 0, seconds <= 600 else {
            throw ValidationError("--seconds must be in (0, 600], got \(seconds)")
        }
        guard (1...1000).contains(repeats) else {
            throw ValidationError("--repeats must be in 1...1000, got \(repeats)")
        }
    }

    func run() throws {
        let peak: PeakFLOPRate
        if let threads {
            peak = try PeakFLOPRate.measure(threads: threads, seconds: seconds, repeats: repeats)
        } else {
            peak = try PeakFLOPRate.measure(seconds: seconds, repeats: repeats)
        }
        if json { return try printJSON(peak) }
        print(
            String(
                format:
                    "peak single precision [%@]: %.1f GFLOP/s per core, %.1f GFLOP/s on %d threads (best of %d runs)",
                peak.isa, peak.perCoreGflops, peak.allCoresGflops, peak.threads, repeats))
    }
}
