// The peak probe of `leaflens bench peak`: the CPU's single-precision FLOP rate when it does nothing but
// fused multiply-adds on registers.
//
// Why independent chains: an FMA's result is ready after its latency (4–5 cycles on current x86 cores)
// while the core can start one or two FMAs per cycle, so a single dependent chain runs at a fifth or a
// tenth of the peak. The loop keeps CHAINS accumulators, each updated by its own FMA per iteration:
// with CHAINS ≥ latency × FMA ports (2 ports × 5 cycles = 10) every port has an independent FMA to start
// each cycle. AVX2 has 16 ymm registers: 12 accumulators plus the two operands. AVX-512 has 32 zmm
// registers: 24 accumulators. acc = acc · m + a with m just below 1 stays finite for any count.
//
// FLOPs per iteration: CHAINS × lanes × 2 (one multiply and one add per lane per FMA).
#define _GNU_SOURCE
#include "leaflens_peak.h"

#include "leaflens_cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LL_PEAK_X86 1
#else
#define LL_PEAK_X86 0
#endif

enum { AVX2_CHAINS = 12, AVX512_CHAINS = 24, PORTABLE_CHAINS = 8 };

// Written once per run so the compiler cannot drop the loops.
static volatile float peak_sink;

int leaflens_peak_isa(void) {
    int simd = leaflens_cpu_simd_class();
    if (LL_PEAK_X86 && simd >= 3) return LEAFLENS_PEAK_AVX512;
    if (LL_PEAK_X86 && simd >= 2) return LEAFLENS_PEAK_AVX2_FMA;
    return LEAFLENS_PEAK_PORTABLE;
}

const char *leaflens_peak_isa_name(int isa) {
    switch (isa) {
    case LEAFLENS_PEAK_AVX512: return "avx512";
    case LEAFLENS_PEAK_AVX2_FMA: return "avx2-fma";
    default: return "portable";
    }
}

static int supported(int isa) {
    if (isa == LEAFLENS_PEAK_AVX512 || isa == LEAFLENS_PEAK_AVX2_FMA) return isa <= leaflens_peak_isa();
    return isa == LEAFLENS_PEAK_PORTABLE;
}

double leaflens_peak_flops(int isa, long iterations) {
    if (iterations < 0) iterations = 0;
    switch (isa) {
    case LEAFLENS_PEAK_AVX512: return (double)iterations * AVX512_CHAINS * 16 * 2;
    case LEAFLENS_PEAK_AVX2_FMA: return (double)iterations * AVX2_CHAINS * 8 * 2;
    default: return (double)iterations * PORTABLE_CHAINS * 2;
    }
}

// The chains are named registers, not an array, so no compiler keeps them in memory (GCC does not
// unroll the array loop, and a store-to-load per FMA would add its latency to every chain).
#define LL_CHAINS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define LL_CHAINS24(X) LL_CHAINS12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

#if LL_PEAK_X86
__attribute__((target("avx2,fma"))) static void probe_avx2(long iterations) {
    __m256 m = _mm256_set1_ps(0.99999994f), a = _mm256_set1_ps(1e-7f);
#define LL_INIT(c) __m256 acc##c = _mm256_set1_ps((float)(c));
#define LL_STEP(c) acc##c = _mm256_fmadd_ps(acc##c, m, a);
#define LL_SUM(c) sum = _mm256_add_ps(sum, acc##c);
    LL_CHAINS12(LL_INIT)
    for (long i = 0; i < iterations; i++) {
        LL_CHAINS12(LL_STEP)
    }
    __m256 sum = _mm256_setzero_ps();
    LL_CHAINS12(LL_SUM)
#undef LL_INIT
#undef LL_STEP
#undef LL_SUM
    peak_sink = _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"))) static void probe_avx512(long iterations) {
    __m512 m = _mm512_set1_ps(0.99999994f), a = _mm512_set1_ps(1e-7f);
#define LL_INIT(c) __m512 acc##c = _mm512_set1_ps((float)(c));
#define LL_STEP(c) acc##c = _mm512_fmadd_ps(acc##c, m, a);
#define LL_SUM(c) sum = _mm512_add_ps(sum, acc##c);
    LL_CHAINS24(LL_INIT)
    for (long i = 0; i < iterations; i++) {
        LL_CHAINS24(LL_STEP)
    }
    __m512 sum = _mm512_setzero_ps();
    LL_CHAINS24(LL_SUM)
#undef LL_INIT
#undef LL_STEP
#undef LL_SUM
    peak_sink = _mm512_reduce_add_ps(sum);
}
#endif

#define LL_CHAINS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static void probe_portable(long iterations) {
#define LL_INIT(c) float acc##c = (float)(c);
#define LL_STEP(c) acc##c = acc##c * 0.99999994f + 1e-7f;
#define LL_SUM(c) sum += acc##c;
    LL_CHAINS8(LL_INIT)
    for (long i = 0; i < iterations; i++) {
        LL_CHAINS8(LL_STEP)
    }
    float sum = 0;
    LL_CHAINS8(LL_SUM)
#undef LL_INIT
#undef LL_STEP
#undef LL_SUM
    peak_sink = sum;
}

static void probe(int isa, long iterations) {
#if LL_PEAK_X86
    if (isa == LEAFLENS_PEAK_AVX512) return probe_avx512(iterations);
    if (isa == LEAFLENS_PEAK_AVX2_FMA) return probe_avx2(iterations);
#endif
    probe_portable(iterations);
}

typedef struct {
    int isa;
    long iterations;
    int threads;
    _Atomic int ready;  // threads at the start line
    _Atomic int go;
    _Atomic int cancelled;  // a thread could not be created: leave without probing
} probe_job;

static void run_job(probe_job *job) {
    atomic_fetch_add(&job->ready, 1);
    while (atomic_load(&job->ready) < job->threads && !atomic_load(&job->cancelled)) {
    }
    while (!atomic_load(&job->go) && !atomic_load(&job->cancelled)) {
    }
    if (!atomic_load(&job->cancelled)) probe(job->isa, job->iterations);
}

static void *thread_main(void *context) {
    run_job(context);
    return NULL;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double leaflens_peak_run(int isa, long iterations, int threads) {
    if (!supported(isa)) isa = leaflens_peak_isa();
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    probe_job job = {.isa = isa, .iterations = iterations, .threads = threads};
    atomic_init(&job.ready, 0);
    atomic_init(&job.go, 0);
    atomic_init(&job.cancelled, 0);
    pthread_t *others = calloc((size_t)threads, sizeof(pthread_t));
    if (!others) return -1;
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&others[t], NULL, thread_main, &job) != 0) break;
        started++;
    }
    if (started != threads - 1) {
        atomic_store(&job.cancelled, 1);
        for (int t = 1; t <= started; t++) pthread_join(others[t], NULL);
        free(others);
        return -1;
    }
    atomic_fetch_add(&job.ready, 1);
    while (atomic_load(&job.ready) < threads) {
    }
    double start = now_seconds();
    atomic_store(&job.go, 1);
    probe(isa, iterations);
    for (int t = 1; t < threads; t++) pthread_join(others[t], NULL);
    double seconds = now_seconds() - start;
    free(others);
    return seconds;
}
