// Shared by the convolution kernels (conv_avx512.c, conv_avx2.c): how a panel of 32 output positions is
// cut into runs of consecutive positions, and the recipes that build its rows of the column matrix from
// the image. Target-neutral C (no vector instructions), so both kernels use the same plan.
#ifndef LEAFLENS_CONV_PANELS_H
#define LEAFLENS_CONV_PANELS_H

#include "avx512_tile.h"

#if LL_HAS_KERNEL

// How to fill one 16-lane chunk of a panel row for one kernel tap (kh, kw): read the lanes in `load`
// from the channel plane at `offset` (+ lane·stride), store the lanes in `store` at position `t`.
typedef struct { long offset, t; __mmask16 load, store; } chunk_recipe;

enum { MAX_CHUNKS = NR / 16 + NR };  // chunks per tap: at most one per segment plus one per 16 lanes

// The recipes of every tap for the panel of global output positions gp0 … gp0+nb−1 (position j of image i
// is i·P + j, P = out_h·out_w); returns chunks per tap. Offsets are from the start of image `first_image`,
// images `image_stride` apart. With `split` (stride 2 across), offsets are into images whose rows are stored
// as even columns then odd columns (see split_columns), where the lanes of a stride-2 run are contiguous.
// `outputs` receives one segment per image the panel touches (base: that image's output + its first j; skip:
// the same place in `residual`, if given).
static long panel_recipes(
    const leaflens_conv_geometry *g, long gp0, long nb, chunk_recipe *recipes, int split, long first_image,
    long image_stride, float *y, const float *residual, long y_stride, out_segment *outputs, long *output_count) {
    long half = (g->width + 1) / 2, sw = g->stride_w, positions = g->out_h * g->out_w;
    // The runs of positions on one output row of one image: image b, row oh, from column ow, lanes t … t+len−1.
    long run_b[NR], run_oh[NR], run_ow[NR], run_t[NR], run_len[NR], runs = 0, segments = 0;
    for (long t = 0; t < nb;) {
        long gp = gp0 + t, b = gp / positions, j = gp % positions;
        long oh = j / g->out_w, ow = j % g->out_w;
        long len = g->out_w - ow < nb - t ? g->out_w - ow : nb - t;
        run_b[runs] = b, run_oh[runs] = oh, run_ow[runs] = ow, run_t[runs] = t, run_len[runs] = len;
        if (segments == 0 || run_b[runs - 1] != b)
            outputs[segments++] = (out_segment){t, 0, y + b * y_stride + j, residual ? residual + b * y_stride + j : NULL};
        outputs[segments - 1].len += len;
        runs++;
        t += len;
    }
    *output_count = segments;
    long per_tap = 0;
    for (long kh = 0, tap = 0; kh < g->kernel_h; kh++) {
        for (long kw = 0; kw < g->kernel_w; kw++, tap++) {
            long count = 0;
            for (long s = 0; s < runs; s++) {
                long len = run_len[s], image = (run_b[s] - first_image) * image_stride;
                long ih = run_oh[s] * g->stride_h - g->pad_h + kh, iw0 = run_ow[s] * sw - g->pad_w + kw;
                long lo = 0, hi = 0;
                if (ih >= 0 && ih < g->height) {  // lanes u with 0 ≤ iw0 + u·sw < W
                    lo = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
                    hi = g->width - 1 - iw0 < 0 ? 0 : (g->width - 1 - iw0) / sw + 1;
                    if (hi > len) hi = len;
                }
                for (long q = 0; q < len; q += 16) {
                    chunk_recipe *r = &recipes[tap * MAX_CHUNKS + count++];
                    // (iw0 & 1 and iw0 >> 1: parity and floor(iw0 / 2), also for negative iw0)
                    r->offset = image + (split ? ih * 2 * half + (iw0 & 1) * half + (iw0 >> 1) + q
                                               : ih * g->width + iw0 + q * sw);
                    r->t = run_t[s] + q;
                    r->store = lane_range(0, len - q);
                    r->load = lane_range(lo - q, hi - q);
                }
            }
            per_tap = count;  // the same for every tap: it depends on the runs only
        }
    }
    return per_tap;
}

#endif

#endif
