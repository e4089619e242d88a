// Shared by LeafLens's AVX-512 kernels (sgemm_avx512.c, conv_avx512.c, maxpool_avx512.c): the tile sizes,
// the target attribute that lets these functions use AVX-512 without compiling the whole package for it,
// and the 8×32 register tile every product runs through.
#ifndef LEAFLENS_AVX512_TILE_H
#define LEAFLENS_AVX512_TILE_H

#include "leaflens_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define LL_HAS_KERNEL 1
#else
#define LL_HAS_KERNEL 0
#endif

// MR rows of A (broadcast) × NR columns of B (two zmm vectors) per tile; KC rows of B per packed block.
enum { MR = 8, NR = 32, KC_MAX = 128 };

#if LL_HAS_KERNEL

#define LL_TARGET __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

// Lanes lo … hi−1 of a 16-lane mask (clipped to 0 … 16).
static inline __mmask16 lane_range(long lo, long hi) {
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// Where a tile's lanes go: lanes t0 … t0+len−1 of row r to base + r·ldc + (t − t0). A panel of 32 output
// positions covers one run of consecutive positions per image it touches.
// `skip`, when non-NULL, is the same place in a tensor added to the output (a residual connection).
typedef struct { long t0, len; float *base; const float *skip; } out_segment;

// One MR×32 tile: C (=|+=) Σ_k a[k][r] · b[k][0..32) for rows r < mb, the block's sum accumulated in 2·MR zmm
// registers from zero (then added to C when `accumulate`) and written through `segs`. When `finish` (the
// last block of k), the epilogue runs in this order, each a separate float32 operation as in the unfused
// layers: + bias[r] (if `bias`), + the segment's `skip` values (if any), then ReLU (x < 0 ? 0 : x) if `relu`.
LL_TARGET static inline __attribute__((always_inline)) void kernel_tile(
    long kb, const float *a, const float *b, const out_segment *segs, long nsegs, long ldc, long mb,
    int accumulate, const float *bias, int finish, int relu) {
    __mmask16 m0[NR], m1[NR];
    float *base[NR];
    const float *skip[NR];
    for (long s = 0; s < nsegs; s++) {
        m0[s] = lane_range(segs[s].t0, segs[s].t0 + segs[s].len);
        m1[s] = lane_range(segs[s].t0 - 16, segs[s].t0 + segs[s].len - 16);
        base[s] = segs[s].base - segs[s].t0;  // lane t ↦ base + t (masked-off lanes are never touched)
        skip[s] = segs[s].skip ? segs[s].skip - segs[s].t0 : NULL;
    }
    // Blocked summation: each block of k (kb ≤ KC_MAX) is summed from zero in registers and then added to
    // C when continuing a sum (accumulate). One sequential chain over all of K = C·KH·KW (4,608 terms in a
    // ResNet's layer4) lets float32 rounding grow like √K; blocks of at most 128 keep it near √128 + √(K/128).
    // On the full-width ResNet18 blocks of 256 took Grad-CAM's float32 error from 2.5× Captum's own to 1.1×;
    // 128 put layer4's float32 error below PyTorch's median draw on all four float64 fixture networks (on
    // the trained one it was 1.2× above it with 256), for IG 3% slower at the median (README, BENCHMARKS.md).
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long kk = 0; kk < kb; kk++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        _mm_prefetch((const char *)(a + 64 * MR), _MM_HINT_T0);  // A streams from memory for large layers
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
        a += MR;
        b += NR;
    }
    __m512 zero = _mm512_setzero_ps();
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r >= mb) break;
        if (accumulate) {
            __m512 c0 = zero, c1 = zero;
            for (long s = 0; s < nsegs; s++) {
                c0 = _mm512_mask_loadu_ps(c0, m0[s], base[s] + r * ldc);
                c1 = _mm512_mask_loadu_ps(c1, m1[s], base[s] + r * ldc + 16);
            }
            acc[r][0] = _mm512_add_ps(c0, acc[r][0]);
            acc[r][1] = _mm512_add_ps(c1, acc[r][1]);
        }
        if (finish && bias) {
            __m512 v = _mm512_set1_ps(bias[r]);
            acc[r][0] = _mm512_add_ps(acc[r][0], v);
            acc[r][1] = _mm512_add_ps(acc[r][1], v);
        }
        for (long s = 0; s < nsegs; s++) {
            __m512 v0 = acc[r][0], v1 = acc[r][1];
            if (finish && skip[s]) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0[s], skip[s] + r * ldc));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1[s], skip[s] + r * ldc + 16));
            }
            if (finish && relu) {
                v0 = _mm512_mask_mov_ps(v0, _mm512_cmp_ps_mask(v0, zero, _CMP_LT_OQ), zero);
                v1 = _mm512_mask_mov_ps(v1, _mm512_cmp_ps_mask(v1, zero, _CMP_LT_OQ), zero);
            }
            _mm512_mask_storeu_ps(base[s] + r * ldc, m0[s], v0);
            _mm512_mask_storeu_ps(base[s] + r * ldc + 16, m1[s], v1);
        }
    }
}

#endif

#endif
