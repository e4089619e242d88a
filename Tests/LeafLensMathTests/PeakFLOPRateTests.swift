import LeafLensMath
import Testing

/// The FMA probe behind `leaflens bench peak`: it runs, on one thread and on several, and returns
/// positive finite rates (their size is the benchmark's business, not a test's).
@Suite struct PeakFLOPRateTests {
    @Test(arguments: [1, 2])
    func probeReturnsPositiveFiniteRates(_ threads: Int) throws {
        let peak = try PeakFLOPRate.measure(threads: threads, seconds: 0.02, repeats: 2)
        #expect(peak.perCoreGflops.isFinite && peak.perCoreGflops > 0)
        #expect(peak.allCoresGflops.isFinite && peak.allCoresGflops > 0)
        #expect(peak.threads == threads)
        #expect(peak.isa == PeakFLOPRate.isaName)
        #expect(["avx512", "avx2-fma", "portable"].contains(peak.isa))
    }

    @Test func refusesBadArguments() {
        #expect(throws: PeakProbeError.self) { try PeakFLOPRate.measure(threads: 0) }
        #expect(throws: PeakProbeError.self) { try PeakFLOPRate.measure(threads: 1, seconds: 0) }
        #expect(throws: PeakProbeError.self) { try PeakFLOPRate.measure(threads: 1, seconds: .nan) }
        #expect(throws: PeakProbeError.self) { try PeakFLOPRate.measure(threads: 1, repeats: 0) }
    }
}
