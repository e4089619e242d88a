// Max pooling for ResNet's stem (3×3, stride 2, padding 1) on AVX-512 CPUs.
#include "avx512_tile.h"

#include <math.h>
#include <stdlib.h>

#if LL_HAS_KERNEL

// Max pooling 3×3, stride 2, padding 1 of one plane, 16 outputs at a time from even/odd-split rows: output
// column j reads input columns 2j−1 (odd[j−1]), 2j (even[j]), 2j+1 (odd[j]). Window elements are visited
// in row-major order and a later one wins only if strictly greater, as the scalar loop does; padding is
// −∞ and never wins. Returns 0 (nothing written) if the plane holds a NaN: the caller's loop handles that.
LL_TARGET static int maxpool_3s2p1(const float *x, long h, long w, float *y, int *indices, long oh, long ow) {
    long half = (w + 1) / 2;
    float *split = aligned_alloc(64, sizeof(float) * (size_t)((h * 2 * half + 15) / 16 * 16));
    if (split == NULL) return 0;
    __mmask16 nan = 0;
    for (long i = 0; i + 16 <= h * w; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    for (long i = h * w / 16 * 16; i < h * w; i++) nan |= x[i] != x[i];
    if (nan) {
        free(split);
        return 0;
    }
    for (long r = 0; r < h; r++) {
        for (long i = 0; i < half; i++) {
            split[r * 2 * half + i] = x[r * w + 2 * i];
            split[r * 2 * half + half + i] = 2 * i + 1 < w ? x[r * w + 2 * i + 1] : -INFINITY;
        }
    }
    __m512 minus_infinity = _mm512_set1_ps(-INFINITY);
    __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (long i = 0; i < oh; i++) {
        long r0 = 2 * i - 1 < 0 ? 0 : 2 * i - 1, r1 = 2 * i + 2 < h ? 2 * i + 2 : h;
        for (long j = 0; j < ow; j += 16) {
            __mmask16 valid = ow - j >= 16 ? 0xFFFF : (__mmask16)((1u << (ow - j)) - 1);
            __m512i twice = _mm512_slli_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)j)), 1);  // 2j
            __m512i left = _mm512_max_epi32(_mm512_sub_epi32(twice, _mm512_set1_epi32(1)), _mm512_setzero_si512());
            __m512 best = minus_infinity;
            __m512i index = _mm512_add_epi32(_mm512_set1_epi32((int)(r0 * w)), left);  // first element in the window
            for (long r = r0; r < r1; r++) {
                const float *even = split + r * 2 * half + j, *odd = even + half;
                __mmask16 has_left = j == 0 ? (__mmask16)(valid & 0xFFFE) : valid;
                __m512 candidates[3] = {
                    _mm512_mask_loadu_ps(minus_infinity, has_left, odd - 1),
                    _mm512_mask_loadu_ps(minus_infinity, valid, even),
                    _mm512_mask_loadu_ps(minus_infinity, valid, odd)};
                __m512i base = _mm512_add_epi32(_mm512_set1_epi32((int)(r * w)), twice);
                for (int dc = 0; dc < 3; dc++) {
                    __mmask16 greater = _mm512_cmp_ps_mask(candidates[dc], best, _CMP_GT_OQ);
                    best = _mm512_mask_blend_ps(greater, best, candidates[dc]);
                    index = _mm512_mask_blend_epi32(greater, index, _mm512_add_epi32(base, _mm512_set1_epi32(dc - 1)));
                }
            }
            _mm512_mask_storeu_ps(y + i * ow + j, valid, best);
            if (indices) _mm512_mask_storeu_epi32(indices + i * ow + j, valid, index);
        }
    }
    free(split);
    return 1;
}

#endif

int leaflens_smaxpool_3s2p1(const float *x, long h, long w, float *y, int *indices, long oh, long ow) {
#if LL_HAS_KERNEL
    if (leaflens_kernel_level() == 3 && oh == (h - 1) / 2 + 1 && ow == (w - 1) / 2 + 1) return maxpool_3s2p1(x, h, w, y, indices, oh, ow);
#endif
    (void)x; (void)h; (void)w; (void)y; (void)indices; (void)oh; (void)ow;
    return 0;
}
