// The AVX2 + FMA kernels (conv_avx2.c), for the dispatch in sgemm_avx512.c and conv_avx512.c; the public
// entry points (leaflens_kernels.h) choose them on CPUs with AVX2 and FMA but no AVX-512.
#ifndef LEAFLENS_AVX2_KERNELS_H
#define LEAFLENS_AVX2_KERNELS_H

#include "leaflens_kernels.h"

void leaflens_sgemm_avx2(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate);
void leaflens_sconv_avx2(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1);

#endif
