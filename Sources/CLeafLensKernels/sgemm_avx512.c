// Single-precision GEMM for AVX-512 CPUs, for the convolutions of a fixed-weight network.
//
// Why LeafLens has its own: a 512-bit FMA kernel has twice the arithmetic of the 256-bit (Haswell) kernels,
// and OpenBLAS runs those whenever OPENBLAS_CORETYPE says so; convolution weights are also the same matrix
// for every call, so they are packed once (`leaflens_sgemm_pack_a`) instead of on every call.
//
// C[m×n] = A[m×k] · B[k×n] (+ C), row-major, A packed. The loops follow the usual blocked scheme:
//   for each block of KC rows of B:                       A's KC columns (≤ m·KC floats) stay in L2
//     for each panel of NR = 32 columns of B:             copied to a contiguous KC×32 buffer (L1)
//       for each panel of MR = 8 rows of A:               8×32 tile of C in 16 zmm registers
//         kernel: per k, 2 loads of B, 8 broadcasts of A, 16 FMAs
// Packed A: panel p (rows 8p … 8p+7) holds, for each k, its 8 values contiguously; rows past m are zero.
// Each element of C is one sequential float32 sum over k in increasing order (a block continues from the
// partial sum left in C): the rounding differs from OpenBLAS's only in the order of terms.
// conv_avx512.c runs the same tile for convolutions, building B from the image instead of copying it.
#include "avx2_kernels.h"
#include "avx512_tile.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

int leaflens_kernel_level(void) {
#if LL_HAS_KERNEL
    static _Atomic int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        // AVX-512 CPUs run the AVX-512 kernels; AVX2 CPUs keep im2col + OpenBLAS unless asked for the
        // AVX2 kernels (LEAFLENS_CONV_KERNEL=avx2: the AVX-512 kernels' exact numbers, but on the AMD Zen 3
        // measured no faster than OpenBLAS — README, "Convolutions"). LEAFLENS_CONV_KERNEL=openblas keeps
        // im2col + OpenBLAS on any CPU; other values are ignored.
        int simd = leaflens_cpu_simd_class();
        const char *choice = getenv("LEAFLENS_CONV_KERNEL");
        value = simd >= 3 ? 3 : 0;
        if (choice && strcmp(choice, "avx2") == 0 && simd >= 2) value = 2;
        if (choice && strcmp(choice, "openblas") == 0) value = 0;
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
#else
    return 0;
#endif
}

int leaflens_sgemm_available(void) { return leaflens_kernel_level() >= 2; }

long leaflens_sgemm_packed_count(long m, long k) { return (m + MR - 1) / MR * MR * k; }

void leaflens_sgemm_pack_a(long m, long k, const float *a, long lda, int transposed, float *packed) {
    long panels = (m + MR - 1) / MR;
    for (long p = 0; p < panels; p++) {
        float *dst = packed + p * MR * k;
        for (long r = 0; r < MR; r++) {
            long i = p * MR + r;
            if (i >= m) {
                for (long kk = 0; kk < k; kk++) dst[kk * MR + r] = 0;
            } else if (transposed) {
                for (long kk = 0; kk < k; kk++) dst[kk * MR + r] = a[kk * lda + i];
            } else {
                const float *row = a + i * lda;
                for (long kk = 0; kk < k; kk++) dst[kk * MR + r] = row[kk];
            }
        }
    }
}

void leaflens_sgemm_pack_a_gather(
    long m, long k, const float *a, const long *row_offsets, const long *column_offsets, float *packed) {
    long panels = (m + MR - 1) / MR;
    for (long p = 0; p < panels; p++) {
        float *dst = packed + p * MR * k;
        const float *rows[MR];
        long live = m - p * MR < MR ? m - p * MR : MR;
        for (long r = 0; r < live; r++) rows[r] = a + row_offsets[p * MR + r];
        // Writes in packed order (one 8-value group per column); the reads are 8 rows' gathers.
        for (long kk = 0; kk < k; kk++) {
            long at = column_offsets[kk];
            float *group = dst + kk * MR;
            long r = 0;
            for (; r < live; r++) group[r] = rows[r][at];
            for (; r < MR; r++) group[r] = 0;
        }
    }
}

#if LL_HAS_KERNEL

// Copies rows k0..k0+kb of B, columns j..j+nb (nb ≤ 32), into a kb×32 buffer padded with zeros.
LL_TARGET static void pack_b_panel(long kb, long nb, const float *b, long ldb, float *dst) {
    if (nb == NR) {
        for (long kk = 0; kk < kb; kk++) {
            const float *src = b + kk * ldb;
            _mm512_store_ps(dst + kk * NR, _mm512_loadu_ps(src));
            _mm512_store_ps(dst + kk * NR + 16, _mm512_loadu_ps(src + 16));
        }
        return;
    }
    __mmask16 m0 = nb >= 16 ? 0xFFFF : (__mmask16)((1u << nb) - 1);
    __mmask16 m1 = nb <= 16 ? 0 : (__mmask16)((1u << (nb - 16)) - 1);
    for (long kk = 0; kk < kb; kk++) {
        const float *src = b + kk * ldb;
        _mm512_store_ps(dst + kk * NR, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + kk * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
}

LL_TARGET static void sgemm_avx512(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate) {
    float buffer[KC_MAX * NR] __attribute__((aligned(64)));
    long blocks = (k + KC_MAX - 1) / KC_MAX;
    long kc = (k + blocks - 1) / blocks;
    long panels = (m + MR - 1) / MR;
    for (long k0 = 0; k0 < k; k0 += kc) {
        long kb = k - k0 < kc ? k - k0 : kc;
        int add = accumulate || k0 > 0;
        for (long j = 0; j < n; j += NR) {
            long nb = n - j < NR ? n - j : NR;
            pack_b_panel(kb, nb, b + k0 * ldb + j, ldb, buffer);
            for (long p = 0; p < panels; p++) {
                long mb = m - p * MR < MR ? m - p * MR : MR;
                out_segment seg = {0, nb, c + p * MR * ldc + j, NULL};
                kernel_tile(kb, packed_a + p * MR * k + k0 * MR, buffer, &seg, 1, ldc, mb, add, NULL, 0, 0);
            }
        }
    }
}



#endif

void leaflens_sgemm_packed(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
#if LL_HAS_KERNEL
    switch (leaflens_kernel_level()) {
    case 3: sgemm_avx512(m, n, k, packed_a, b, ldb, c, ldc, accumulate); return;
    case 2: leaflens_sgemm_avx2(m, n, k, packed_a, b, ldb, c, ldc, accumulate); return;
    default: break;
    }
#endif
    leaflens_sgemm_packed_portable(m, n, k, packed_a, b, ldb, c, ldc, accumulate);
}

void leaflens_sgemm_packed_avx2(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
#if LL_HAS_KERNEL
    if (k > 0 && leaflens_cpu_simd_class() >= 2) {
        leaflens_sgemm_avx2(m, n, k, packed_a, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    leaflens_sgemm_packed_portable(m, n, k, packed_a, b, ldb, c, ldc, accumulate);
}

void leaflens_sgemm_packed_portable(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate) {
    // A plain loop over the same packed layout (CPUs without AVX2).
    for (long i = 0; i < m; i++) {
        const float *a = packed_a + i / MR * MR * k + i % MR;
        float *row = c + i * ldc;
        if (!accumulate) memset(row, 0, (size_t)n * sizeof(float));
        for (long kk = 0; kk < k; kk++) {
            float v = a[kk * MR];
            const float *brow = b + kk * ldb;
            for (long j = 0; j < n; j++) row[j] += v * brow[j];
        }
    }
}

