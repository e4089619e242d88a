// The packed GEMM and convolution kernels for CPUs with AVX2 and FMA but no AVX-512 (e.g. AMD Zen 2/3).
//
// Same plan as conv_avx512.c and sgemm_avx512.c: weights packed once in 8-row panels (the same layout),
// the column matrix built panel by panel (32 output positions) from the image with the same recipes
// (conv_panels.h), sums blocked in k as there. Only the register tile differs: 16 ymm registers hold a
// 6×16 tile (12 accumulators, 2 vectors of B, 1 broadcast of A), so a 32-position panel is two halves and
// the 6 rows of a tile may come from two 8-row panels of A (each row's broadcast is its own load).
//
// Every output element is the same sequence of float32 operations as in the AVX-512 kernel — one FMA
// chain per block of k from zero, in the same order and with the same blocks, then + C, + bias,
// + residual, ReLU — so both kernels give bit-identical results; only the vector width differs.
#include "avx2_kernels.h"
#include "conv_panels.h"

#include <stdlib.h>
#include <string.h>

#if LL_HAS_KERNEL

#define LL_TARGET_AVX2 __attribute__((target("avx2,fma")))

enum { TR = 6, GROUP2 = 16 };  // rows per tile; panels packed together (as GROUP in conv_avx512.c)

// Lanes l of 8 with lo ≤ l < hi, as an integer mask (all ones per lane) for maskload.
LL_TARGET_AVX2 static inline __m256i lanes_between(long lo, long hi) {
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i before = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), lane);  // lo > l
    __m256i within = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane);  // hi > l
    return _mm256_andnot_si256(before, within);
}

// The lanes of 8 set in `bits` (bit l = lane l), as an integer mask.
LL_TARGET_AVX2 static inline __m256i lanes_of(unsigned bits) {
    __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpgt_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), bit), _mm256_setzero_si256());
}

// Where one 8-lane vector of a tile meets one output segment: lanes lo … hi−1 (0 ≤ lo < hi ≤ 8, or none).
typedef struct { int lo, hi; } lane_span;

static inline lane_span span_of(const out_segment *s, long first_lane) {
    long lo = s->t0 - first_lane, hi = s->t0 + s->len - first_lane;
    if (lo < 0) lo = 0;
    if (hi > 8) hi = 8;
    return hi <= lo ? (lane_span){0, 0} : (lane_span){(int)lo, (int)hi};
}

// Writes lanes span.lo … span.hi−1 of v to dst (lane l to dst + l); the other lanes are not touched.
LL_TARGET_AVX2 static inline void store_span(float *dst, __m256 v, lane_span span) {
    if (span.lo == 0 && span.hi == 8) {
        _mm256_storeu_ps(dst, v);
        return;
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, v);
    for (int l = span.lo; l < span.hi; l++) dst[l] = lanes[l];
}

// Lanes span.lo … span.hi−1 of src (lane l from src + l), zero elsewhere; other addresses are not read.
LL_TARGET_AVX2 static inline __m256 load_span(const float *src, lane_span span) {
    if (span.lo == 0 && span.hi == 8) return _mm256_loadu_ps(src);
    if (span.hi <= span.lo) return _mm256_setzero_ps();
    return _mm256_maskload_ps(src, lanes_between(span.lo, span.hi));
}

// The tile's products: acc[r][h] = Σ_k a_r[k·8] · b[k·32 + 8h .. 8h+8) for the 6 rows of A at ar[r] (their
// places in 8-row panels, at the block's first k), each lane one FMA chain from zero in k order. Kept out
// of line so that its 12 accumulators, 2 vectors of B and the broadcast get all 16 ymm registers and the
// row pointers stay in general registers.
LL_TARGET_AVX2 static __attribute__((noinline)) void tile_products(
    long kb, const float *const *ar, const float *b, __m256 acc[TR][2]) {
    const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3], *a4 = ar[4], *a5 = ar[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (long kk = 0; kk < kb; kk++) {
        __m256 b0 = _mm256_load_ps(b + kk * NR), b1 = _mm256_load_ps(b + kk * NR + 8);
        __m256 v = _mm256_broadcast_ss(a0 + kk * MR);
        c00 = _mm256_fmadd_ps(v, b0, c00);
        c01 = _mm256_fmadd_ps(v, b1, c01);
        v = _mm256_broadcast_ss(a1 + kk * MR);
        c10 = _mm256_fmadd_ps(v, b0, c10);
        c11 = _mm256_fmadd_ps(v, b1, c11);
        v = _mm256_broadcast_ss(a2 + kk * MR);
        c20 = _mm256_fmadd_ps(v, b0, c20);
        c21 = _mm256_fmadd_ps(v, b1, c21);
        v = _mm256_broadcast_ss(a3 + kk * MR);
        c30 = _mm256_fmadd_ps(v, b0, c30);
        c31 = _mm256_fmadd_ps(v, b1, c31);
        v = _mm256_broadcast_ss(a4 + kk * MR);
        c40 = _mm256_fmadd_ps(v, b0, c40);
        c41 = _mm256_fmadd_ps(v, b1, c41);
        v = _mm256_broadcast_ss(a5 + kk * MR);
        c50 = _mm256_fmadd_ps(v, b0, c50);
        c51 = _mm256_fmadd_ps(v, b1, c51);
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20, acc[2][1] = c21;
    acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
}

// One tile: rows r < mb of C (row r starts at segs[s].base + r·ldc, lane t of the panel at base + t − t0),
// lanes first_lane … first_lane+15 of the panel: C (=|+=) tile_products, then the epilogue of kernel_tile
// (avx512_tile.h), operation for operation.
LL_TARGET_AVX2 static inline __attribute__((always_inline)) void tile_6x16(
    long kb, const float *const *ar, const float *b, const out_segment *segs, long nsegs, long first_lane,
    long ldc, long mb, int accumulate, const float *bias, int finish, int relu) {
    __m256 acc[TR][2];
    tile_products(kb, ar, b, acc);
    lane_span spans[NR][2];
    for (long s = 0; s < nsegs; s++) {
        spans[s][0] = span_of(&segs[s], first_lane);
        spans[s][1] = span_of(&segs[s], first_lane + 8);
    }
    __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < TR; r++) {
        if (r >= mb) break;
        for (int h = 0; h < 2; h++) {
            __m256 v = acc[r][h];
            long lane = first_lane + 8 * h;
            if (accumulate) {
                __m256 c = zero;
                for (long s = 0; s < nsegs; s++)  // segments own disjoint lanes; the others load as 0
                    c = _mm256_or_ps(c, load_span(segs[s].base - segs[s].t0 + r * ldc + lane, spans[s][h]));
                v = _mm256_add_ps(c, v);
            }
            if (finish && bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[r]));
            for (long s = 0; s < nsegs; s++) {
                lane_span span = spans[s][h];
                if (span.hi <= span.lo) continue;
                __m256 w = v;
                if (finish && segs[s].skip)
                    w = _mm256_add_ps(w, load_span(segs[s].skip - segs[s].t0 + r * ldc + lane, span));
                if (finish && relu) w = _mm256_blendv_ps(w, zero, _mm256_cmp_ps(w, zero, _CMP_LT_OQ));
                store_span(segs[s].base - segs[s].t0 + r * ldc + lane, w, span);
            }
        }
    }
}

// Row r of a tile whose first row is `row` (rows past m repeat the first; they are computed, not stored).
static inline void tile_rows(const float *packed_a, long k, long k0, long row, long mb, const float **ar) {
    for (long r = 0; r < TR; r++) {
        long i = row + (r < mb ? r : 0);
        ar[r] = packed_a + i / MR * MR * k + k0 * MR + i % MR;
    }
}

// Copies rows k0..k0+kb of B, columns j..j+nb (nb ≤ 32), into a kb×32 buffer padded with zeros.
LL_TARGET_AVX2 static void pack_b_panel(long kb, long nb, const float *b, long ldb, float *dst) {
    for (long kk = 0; kk < kb; kk++) {
        const float *src = b + kk * ldb;
        float *row = dst + kk * NR;
        if (nb == NR) {
            for (int q = 0; q < NR; q += 8) _mm256_store_ps(row + q, _mm256_loadu_ps(src + q));
        } else {
            for (long q = 0; q < NR; q++) row[q] = q < nb ? src[q] : 0;
        }
    }
}

LL_TARGET_AVX2 void leaflens_sgemm_avx2(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate) {
    float buffer[KC_MAX * NR] __attribute__((aligned(64)));
    long blocks = (k + KC_MAX - 1) / KC_MAX;
    long kc = (k + blocks - 1) / blocks;
    for (long k0 = 0; k0 < k; k0 += kc) {
        long kb = k - k0 < kc ? k - k0 : kc;
        int add = accumulate || k0 > 0;
        for (long j = 0; j < n; j += NR) {
            long nb = n - j < NR ? n - j : NR;
            pack_b_panel(kb, nb, b + k0 * ldb + j, ldb, buffer);
            for (long row = 0; row < m; row += TR) {
                long mb = m - row < TR ? m - row : TR;
                const float *ar[TR];
                tile_rows(packed_a, k, k0, row, mb, ar);
                out_segment seg = {0, nb, c + row * ldc + j, NULL};
                tile_6x16(kb, ar, buffer, &seg, 1, 0, ldc, mb, add, NULL, 0, 0);
                if (nb > 16) tile_6x16(kb, ar, buffer + 16, &seg, 1, 16, ldc, mb, add, NULL, 0, 0);
            }
        }
    }
}

// Builds rows k0 … k0+kb−1 of the panel's column matrix into a kb×32 buffer, as pack_image_panel in
// conv_avx512.c does (a run of rows with the same tap shares its recipes), 8 lanes at a time. Loads are
// masked; stores are whole 8 lanes where that is safe: lanes past a chunk's end but inside the row belong
// to a later chunk, written after this one. Only 8 lanes that would reach past lane 31 (into the next
// row, already written) are stored masked.
LL_TARGET_AVX2 static void pack_image_panel_avx2(
    const leaflens_conv_geometry *g, const float *x, long plane_size, int contiguous, const chunk_recipe *recipes,
    long per_tap, long k0, long kb, float *dst) {
    long taps = g->kernel_h * g->kernel_w, block = g->channel_block, lane_step = contiguous ? 1 : g->stride_w;
    __m256i step = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)g->stride_w));
    __m256 zero = _mm256_setzero_ps();
    for (long row = k0, end = k0 + kb; row < end;) {
        long cb = row / (taps * block), rem = row % (taps * block);
        long tap = rem / block, ci = rem % block;
        long run = block - ci < end - row ? block - ci : end - row;
        const float *plane = x + (cb * block + ci) * plane_size;
        float *out = dst + (row - k0) * NR;
        const chunk_recipe *r = recipes + tap * MAX_CHUNKS;
        for (long i = 0; i < per_tap; i++) {
            for (int h = 0; h < 2; h++) {
                unsigned store = (r[i].store >> (8 * h)) & 0xFF, load = (r[i].load >> (8 * h)) & 0xFF;
                if (store == 0) continue;
                const float *src = plane + r[i].offset + 8 * h * lane_step;
                long t = r[i].t + 8 * h;
                float *d = out + t;
                __m256i load_mask = lanes_of(load);
                if (t + 8 > NR) {  // reaches into the next row: store only this row's lanes
                    __m256i store_mask = lanes_of(store);
                    for (long u = 0; u < run; u++) {
                        __m256 v = contiguous ? _mm256_maskload_ps(src + u * plane_size, load_mask)
                                              : _mm256_mask_i32gather_ps(
                                                    zero, src + u * plane_size, step, _mm256_castsi256_ps(load_mask), 4);
                        _mm256_maskstore_ps(d + u * NR, store_mask, v);
                    }
                } else if (load == 0) {
                    for (long u = 0; u < run; u++) _mm256_storeu_ps(d + u * NR, zero);
                } else if (!contiguous) {
                    for (long u = 0; u < run; u++)
                        _mm256_storeu_ps(
                            d + u * NR,
                            _mm256_mask_i32gather_ps(zero, src + u * plane_size, step, _mm256_castsi256_ps(load_mask), 4));
                } else if (load == 0xFF) {
                    for (long u = 0; u < run; u++) _mm256_storeu_ps(d + u * NR, _mm256_loadu_ps(src + u * plane_size));
                } else {  // masked-off lanes are not read, so the address may lie left of the row
                    for (long u = 0; u < run; u++)
                        _mm256_storeu_ps(d + u * NR, _mm256_maskload_ps(src + u * plane_size, load_mask));
                }
            }
        }
        row += run;
    }
}

// Copies images [C, H, W] into [C, H, 2, ⌈W/2⌉]: each row's even columns, then its odd columns.
LL_TARGET_AVX2 static void split_columns_avx2(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, float *dst) {
    long half = (g->width + 1) / 2, rows = g->channels * g->height, w = g->width;
    for (long b = 0; b < images; b++) {
        for (long r = 0; r < rows; r++, dst += 2 * half) {
            const float *src = x + b * x_stride + r * w;
            long i = 0;
            for (; 2 * i + 16 <= w; i += 8) {
                __m256 lo = _mm256_loadu_ps(src + 2 * i), hi = _mm256_loadu_ps(src + 2 * i + 8);
                // within each 128-bit lane: (lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6); then 64-bit pairs 0, 2, 1, 3
                __m256 even = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
                __m256 odd = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
                even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
                odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), _MM_SHUFFLE(3, 1, 2, 0)));
                _mm256_storeu_ps(dst + i, even);
                _mm256_storeu_ps(dst + half + i, odd);
            }
            for (; i < half; i++) {
                dst[i] = src[2 * i];
                dst[half + i] = 2 * i + 1 < w ? src[2 * i + 1] : 0;
            }
        }
    }
}

LL_TARGET_AVX2 void leaflens_sconv_avx2(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    long taps = g->kernel_h * g->kernel_w;
    long positions = g->out_h * g->out_w, total = images * positions;
    long k = g->channels * taps;
    long blocks = (k + KC_MAX - 1) / KC_MAX;
    long kc = (k + blocks - 1) / blocks;
    chunk_recipe recipes[64 * MAX_CHUNKS];
    out_segment outputs[GROUP2][NR];
    long output_counts[GROUP2], widths[GROUP2];
    float *buffers = aligned_alloc(64, sizeof(float) * GROUP2 * KC_MAX * NR);
    if (buffers == NULL || taps > 64) {  // (kernels over 8×8 do not occur in ResNets)
        free(buffers);
        leaflens_sconv_packed_portable(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
        return;
    }
    // As in conv_avx512.c: several panels at a time when A is larger than L2, so that each tile's rows
    // of A are read once from memory per group instead of once per panel.
    long group_size = m * k > 65536 ? GROUP2 : 1;
    int split = g->stride_w == 2;
    long half = (g->width + 1) / 2, split_size = g->channels * g->height * 2 * half;
    long max_images = group_size * NR / positions + 2;
    float *splits = split ? malloc(sizeof(float) * (size_t)(max_images * split_size)) : NULL;
    if (split && splits == NULL) split = 0;  // out of memory: gathers still work
    long plane_size = split ? g->height * 2 * half : g->height * g->width;
    long image_stride = split ? split_size : x_stride;
    long first_image = 0, split_images = 0;
    for (long group = q0; group < q1; group += group_size) {
        long count = q1 - group < group_size ? q1 - group : group_size;
        long first = group * NR / positions;
        long end = (group + count) * NR < total ? (group + count) * NR : total;
        long last = (end - 1) / positions;
        if (split && (first < first_image || last >= first_image + split_images)) {
            first_image = first;
            split_images = last - first + 1;
            split_columns_avx2(g, x + first * x_stride, x_stride, split_images, splits);
        }
        const float *source = split ? splits : x;
        long source_image = split ? first_image : 0;
        for (long k0 = 0; k0 < k; k0 += kc) {
            long kb = k - k0 < kc ? k - k0 : kc;
            for (long i = 0; i < count; i++) {
                long gp0 = (group + i) * NR, nb = total - gp0 < NR ? total - gp0 : NR;
                widths[i] = nb;
                if (nb < NR) memset(buffers + i * KC_MAX * NR, 0, sizeof(float) * (size_t)(kb * NR));
                long per_tap = panel_recipes(
                    g, gp0, nb, recipes, split, source_image, image_stride, y, residual, y_stride, outputs[i],
                    &output_counts[i]);
                pack_image_panel_avx2(
                    g, source, plane_size, split || g->stride_w == 1, recipes, per_tap, k0, kb,
                    buffers + i * KC_MAX * NR);
            }
            int add = k0 > 0, finish = k0 + kb == k;
            for (long row = 0; row < m; row += TR) {
                long mb = m - row < TR ? m - row : TR;
                const float *ar[TR];
                tile_rows(packed_a, k, k0, row, mb, ar);
                const float *tile_bias = bias ? bias + row : NULL;
                for (long i = 0; i < count; i++) {
                    out_segment rows[NR];
                    for (long s = 0; s < output_counts[i]; s++) {
                        rows[s] = outputs[i][s];
                        rows[s].base += row * ldy;
                        if (rows[s].skip) rows[s].skip += row * ldy;
                    }
                    const float *panel = buffers + i * KC_MAX * NR;
                    long n = output_counts[i];
                    for (long h = 0; h < (widths[i] > 16 ? 2 : 1); h++) {
                        if (n == 1)  // the usual case, compiled with its loops removed
                            tile_6x16(kb, ar, panel + 16 * h, rows, 1, 16 * h, ldy, mb, add, tile_bias, finish, relu);
                        else
                            tile_6x16(kb, ar, panel + 16 * h, rows, n, 16 * h, ldy, mb, add, tile_bias, finish, relu);
                    }
                }
            }
        }
    }
    free(buffers);
    free(splits);
}

#endif
