#ifndef LEAFLENS_PEAK_H
#define LEAFLENS_PEAK_H

/// The instruction sets the peak probe can use (values of `leaflens_peak_isa`).
enum {
    LEAFLENS_PEAK_PORTABLE = 0,  // scalar multiply and add, what the C compiler makes of them
    LEAFLENS_PEAK_AVX2_FMA = 2,  // 256-bit FMA, 8 lanes
    LEAFLENS_PEAK_AVX512 = 3,    // 512-bit FMA, 16 lanes
};

/// The widest probe this CPU and OS run (from `leaflens_cpu_simd_class`).
int leaflens_peak_isa(void);

/// "avx512", "avx2-fma" or "portable".
const char *leaflens_peak_isa_name(int isa);

/// Single-precision FLOPs of one probe call of `iterations` on one thread with `isa` (an FMA counts 2).
double leaflens_peak_flops(int isa, long iterations);

/// Runs the probe with `isa` (lowered to what the CPU runs) for `iterations` on each of `threads`
/// threads (the caller and threads − 1 new ones, started together), and returns the wall time in
/// seconds from the common start to the last thread's end; negative if a thread could not start.
/// Each thread does `leaflens_peak_flops(isa, iterations)` FLOPs.
double leaflens_peak_run(int isa, long iterations, int threads);

#endif
