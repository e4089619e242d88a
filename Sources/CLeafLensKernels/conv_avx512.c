// Convolutions on the AVX-512 tile of sgemm_avx512.c, for fixed-weight networks (see the README).
//
// A convolution is the GEMM y[O × P] = W[O × K] · col(x)[K × P] (K = C·KH·KW, P = output positions). The
// column matrix is never stored: for each panel of 32 output positions, its rows are built straight from
// the image into a buffer that stays in cache ("recipes" say, per kernel tap, which lanes to load from
// where), and the packed weights stream past it. Panels run across image boundaries, so small layers and
// batches of small patches waste no lanes. Rows of W come packed in blocks of 16 input channels, then kh,
// kw — the order in which oneDNN (PyTorch's CPU path) accumulates. Stride 2 across reads rows split into
// even and odd columns, where every run of lanes is contiguous. The epilogue adds the bias, an optional
// residual and applies ReLU, each a separate float32 operation as in the unfused layers.
// Also here: a vectorised col2im for stride-2 input gradients.
#include "avx2_kernels.h"
#include "conv_panels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long leaflens_conv_group_threshold(void) {
    static _Atomic long cached = 0;
    long value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value == 0) {
        // Three quarters of this core's L2 (the rest for the column panels, the image rows being read and
        // the outputs), in floats; where the C library cannot tell, 256 KiB, the size the kernel began with.
        long bytes = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
        bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        value = bytes > 0 ? bytes / (long)sizeof(float) / 4 * 3 : 65536;
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}

// The direct definition over packed weights: the path for CPUs without AVX2 (and kernels over 8×8).
static void leaflens_sconv_reference(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    long taps = g->kernel_h * g->kernel_w, k = g->channels * taps;
    long positions = g->out_h * g->out_w, total = images * positions;
    for (long gp = q0 * NR; gp < q1 * NR && gp < total; gp++) {
        const float *image = x + gp / positions * x_stride;
        float *out = y + gp / positions * y_stride;
        long j = gp % positions, oh = j / g->out_w, ow = j % g->out_w;
        for (long i = 0; i < m; i++) {
            const float *a = packed_a + i / MR * MR * k + i % MR;
            float sum = 0;
            for (long kk = 0; kk < k; kk++) {
                long block = g->channel_block, rem = kk % (taps * block);
                long c = kk / (taps * block) * block + rem % block, tap = rem / block;
                long kh = tap / g->kernel_w, kw = tap % g->kernel_w;
                long ih = oh * g->stride_h - g->pad_h + kh, iw = ow * g->stride_w - g->pad_w + kw;
                if (ih < 0 || ih >= g->height || iw < 0 || iw >= g->width) continue;
                sum += a[kk * MR] * image[(c * g->height + ih) * g->width + iw];
            }
            if (bias) sum += bias[i];
            if (residual) sum += residual[gp / positions * y_stride + i * ldy + j];
            out[i * ldy + j] = relu && sum < 0 ? 0 : sum;
        }
    }
}

#if LL_HAS_KERNEL

// Builds rows k0 … k0+kb−1 of the panel's column matrix straight from the image into a kb×32 buffer —
// im2col without the intermediate matrix. Lanes outside the image are zero.
LL_TARGET static void pack_image_panel(
    const leaflens_conv_geometry *g, const float *x, long plane_size, int contiguous, const chunk_recipe *recipes,
    long per_tap, long k0, long kb, float *dst) {
    long taps = g->kernel_h * g->kernel_w, block = g->channel_block;
    __m512i step = _mm512_mullo_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32((int)g->stride_w));
    // Rows come in the order (channel block, tap, channel within block): a run of rows with the same tap
    // shares its recipes, and moves from one channel plane to the next.
    for (long row = k0, end = k0 + kb; row < end;) {
        long cb = row / (taps * block), rem = row % (taps * block);
        long tap = rem / block, ci = rem % block;
        long run = block - ci < end - row ? block - ci : end - row;
        const float *plane = x + (cb * block + ci) * plane_size;
        float *out = dst + (row - k0) * NR;
        const chunk_recipe *r = recipes + tap * MAX_CHUNKS;
        for (long i = 0; i < per_tap; i++) {
            __mmask16 load = r[i].load, store = r[i].store;
            const float *src = plane + r[i].offset;
            float *d = out + r[i].t;
            if (contiguous) {
                // Masked-off lanes are not read, so the address may lie left of the row.
                for (long u = 0; u < run; u++)
                    _mm512_mask_storeu_ps(d + u * NR, store, _mm512_maskz_loadu_ps(load, src + u * plane_size));
            } else {
                for (long u = 0; u < run; u++)
                    _mm512_mask_storeu_ps(
                        d + u * NR, store,
                        _mm512_mask_i32gather_ps(_mm512_setzero_ps(), load, step, src + u * plane_size, 4));
            }
        }
        row += run;
    }
}

// Copies images [C, H, W] into [C, H, 2, ⌈W/2⌉]: each row's even columns, then its odd columns.
LL_TARGET static void split_columns(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, float *dst) {
    long half = (g->width + 1) / 2, rows = g->channels * g->height, w = g->width;
    __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (long b = 0; b < images; b++) {
        for (long r = 0; r < rows; r++, dst += 2 * half) {
            const float *src = x + b * x_stride + r * w;
            long i = 0;
            for (; 2 * i + 32 <= w; i += 16) {
                __m512 lo = _mm512_loadu_ps(src + 2 * i), hi = _mm512_loadu_ps(src + 2 * i + 16);
                _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(lo, even, hi));
                _mm512_storeu_ps(dst + half + i, _mm512_permutex2var_ps(lo, odd, hi));
            }
            for (; i < half; i++) {
                dst[i] = src[2 * i];
                dst[half + i] = 2 * i + 1 < w ? src[2 * i + 1] : 0;
            }
        }
    }
}

enum { GROUP = 16 };  // panels packed together: A's micro-panels are reused GROUP times from L1

LL_TARGET static void sconv_avx512(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    long taps = g->kernel_h * g->kernel_w;
    long positions = g->out_h * g->out_w, total = images * positions;
    long k = g->channels * taps;
    long blocks = (k + KC_MAX - 1) / KC_MAX;
    long kc = (k + blocks - 1) / blocks;
    long panels = (m + MR - 1) / MR;
    chunk_recipe recipes[64 * MAX_CHUNKS];
    out_segment outputs[GROUP][NR];
    long output_counts[GROUP];
    float *buffers = aligned_alloc(64, sizeof(float) * GROUP * KC_MAX * NR);
    if (buffers == NULL || taps > 64) {  // (kernels over 8×8 do not occur in ResNets)
        free(buffers);
        leaflens_sconv_reference(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
        return;
    }
    // Several panels at a time when A would not stay in L2 between panels, so that each of its
    // micro-panels is read once from memory per group instead of once per panel; one at a time (B stays
    // in L1, A streams from L2) when it fits.
    long group_size = m * k > leaflens_conv_group_threshold() ? GROUP : 1;
    // Stride 2 across: gathers are slow, so the group's images are first split into even and odd columns,
    // where every run of positions reads contiguous memory.
    int split = g->stride_w == 2;
    long half = (g->width + 1) / 2, split_size = g->channels * g->height * 2 * half;
    long max_images = group_size * NR / positions + 2;
    float *splits = split ? malloc(sizeof(float) * (size_t)(max_images * split_size)) : NULL;
    if (split && splits == NULL) split = 0;  // out of memory: gathers still work
    long plane_size = split ? g->height * 2 * half : g->height * g->width;
    long image_stride = split ? split_size : x_stride;
    long first_image = 0, split_images = 0;  // the images now in `splits` (with split)
    for (long group = q0; group < q1; group += group_size) {
        long count = q1 - group < group_size ? q1 - group : group_size;
        long first = group * NR / positions;
        long end = (group + count) * NR < total ? (group + count) * NR : total;
        long last = (end - 1) / positions;
        if (split && (first < first_image || last >= first_image + split_images)) {
            first_image = first;
            split_images = last - first + 1;
            split_columns(g, x + first * x_stride, x_stride, split_images, splits);
        }
        const float *source = split ? splits : x;
        long source_image = split ? first_image : 0;
        for (long k0 = 0; k0 < k; k0 += kc) {
            long kb = k - k0 < kc ? k - k0 : kc;
            for (long i = 0; i < count; i++) {
                long gp0 = (group + i) * NR, nb = total - gp0 < NR ? total - gp0 : NR;
                float *buffer = buffers + i * KC_MAX * NR;
                if (nb < NR) memset(buffer, 0, sizeof(float) * (size_t)(kb * NR));
                long per_tap = panel_recipes(
                    g, gp0, nb, recipes, split, source_image, image_stride, y, residual, y_stride, outputs[i],
                    &output_counts[i]);
                pack_image_panel(g, source, plane_size, split || g->stride_w == 1, recipes, per_tap, k0, kb, buffer);
            }
            int add = k0 > 0, finish = k0 + kb == k;
            for (long p = 0; p < panels; p++) {
                long mb = m - p * MR < MR ? m - p * MR : MR;
                const float *a = packed_a + p * MR * k + k0 * MR;
                const float *tile_bias = bias ? bias + p * MR : NULL;
                for (long i = 0; i < count; i++) {
                    out_segment rows[NR];
                    for (long s = 0; s < output_counts[i]; s++) {
                        rows[s] = outputs[i][s];
                        rows[s].base += p * MR * ldy;
                        if (rows[s].skip) rows[s].skip += p * MR * ldy;
                    }
                    const float *panel = buffers + i * KC_MAX * NR;
                    if (output_counts[i] == 1)  // the usual case, compiled with its loops removed
                        kernel_tile(kb, a, panel, rows, 1, ldy, mb, add, tile_bias, finish, relu);
                    else
                        kernel_tile(kb, a, panel, rows, output_counts[i], ldy, mb, add, tile_bias, finish, relu);
                }
            }
        }
    }
    free(buffers);
    free(splits);
}

// col2im for a stride-2-across convolution, channels c0 … c1−1: each channel's rows are summed into an
// even/odd-split plane (contiguous masked adds), then interleaved into x. Per element the terms are added
// in tap order starting from 0, as the plain loop does, and the sum is then added to x.
LL_TARGET static int col2im_split(const leaflens_conv_geometry *g, const float *col, float *x, long c0, long c1) {
    long half = (g->width + 1) / 2, positions = g->out_h * g->out_w, w = g->width;
    float *plane = aligned_alloc(64, sizeof(float) * (size_t)((g->height * 2 * half + 15) / 16 * 16));
    if (plane == NULL) return 0;
    __m512i lo_index = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512i hi_index = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    for (long c = c0; c < c1; c++) {
        memset(plane, 0, sizeof(float) * (size_t)(g->height * 2 * half));
        for (long kh = 0; kh < g->kernel_h; kh++) {
            for (long kw = 0; kw < g->kernel_w; kw++) {
                const float *rows = col + ((c * g->kernel_h + kh) * g->kernel_w + kw) * positions;
                long iw0 = kw - g->pad_w;  // input column of output column 0
                long lo = iw0 >= 0 ? 0 : (-iw0 + 1) / 2;
                long hi = w - 1 - iw0 < 0 ? 0 : (w - 1 - iw0) / 2 + 1;
                if (hi > g->out_w) hi = g->out_w;
                if (hi <= lo) continue;
                for (long oh = 0; oh < g->out_h; oh++) {
                    long ih = oh * g->stride_h - g->pad_h + kh;
                    if (ih < 0 || ih >= g->height) continue;
                    float *dst = plane + ih * 2 * half + (iw0 & 1) * half + (iw0 >> 1);
                    const float *src = rows + oh * g->out_w;
                    for (long q = 0; q < hi; q += 16) {
                        __mmask16 m = lane_range(lo - q, hi - q);
                        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst + q), _mm512_maskz_loadu_ps(m, src + q));
                        _mm512_mask_storeu_ps(dst + q, m, v);
                    }
                }
            }
        }
        float *out = x + c * g->height * w;
        for (long ih = 0; ih < g->height; ih++, out += w) {
            const float *even = plane + ih * 2 * half, *odd = even + half;
            long i = 0;
            for (; 2 * i + 32 <= w; i += 16) {
                __m512 e = _mm512_loadu_ps(even + i), o = _mm512_loadu_ps(odd + i);
                _mm512_storeu_ps(out + 2 * i, _mm512_add_ps(_mm512_loadu_ps(out + 2 * i), _mm512_permutex2var_ps(e, lo_index, o)));
                _mm512_storeu_ps(
                    out + 2 * i + 16, _mm512_add_ps(_mm512_loadu_ps(out + 2 * i + 16), _mm512_permutex2var_ps(e, hi_index, o)));
            }
            for (; 2 * i < w; i++) {
                out[2 * i] += even[i];
                if (2 * i + 1 < w) out[2 * i + 1] += odd[i];
            }
        }
    }
    free(plane);
    return 1;
}

#endif

void leaflens_sconv_packed(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    if (m <= 0 || q1 <= q0) return;
#if LL_HAS_KERNEL
    switch (leaflens_kernel_level()) {
    case 3: sconv_avx512(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1); return;
    case 2: leaflens_sconv_avx2(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1); return;
    default: break;
    }
#endif
    leaflens_sconv_reference(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
}

void leaflens_sconv_packed_avx2(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    if (m <= 0 || q1 <= q0) return;
#if LL_HAS_KERNEL
    if (leaflens_cpu_simd_class() >= 2) {
        leaflens_sconv_avx2(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
        return;
    }
#endif
    leaflens_sconv_reference(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
}

void leaflens_sconv_packed_portable(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1) {
    if (m <= 0 || q1 <= q0) return;
    leaflens_sconv_reference(g, x, x_stride, images, m, packed_a, bias, residual, relu, y, ldy, y_stride, q0, q1);
}

int leaflens_scol2im_add(const leaflens_conv_geometry *g, const float *col, float *x, long c0, long c1) {
#if LL_HAS_KERNEL
    if (g->stride_w == 2 && leaflens_kernel_level() == 3) {
        return col2im_split(g, col, x, c0, c1);
    }
#endif
    (void)col; (void)x; (void)c0; (void)c1;
    return 0;
}

