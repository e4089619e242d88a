#ifndef LEAFLENS_KERNELS_H
#define LEAFLENS_KERNELS_H

/// LeafLens's own float32 kernels: packed GEMM, convolution as a panel-wise GEMM, col2im, max pooling;
/// AVX-512 where the CPU has it (run-time dispatch), portable loops otherwise.
#include "leaflens_cpu.h"

/// 3 (the AVX-512 kernels), 2 (the AVX2 + FMA kernels: bit-identical results with 256-bit vectors; only
/// with LEAFLENS_CONV_KERNEL=avx2) or 0 (the portable loops; callers use im2col + OpenBLAS): what
/// `leaflens_sgemm_packed` and `leaflens_sconv_packed` run on this CPU and OS, computed once.
int leaflens_kernel_level(void);

/// Floats of packed weights (rows × K of one call) above which the AVX-512 convolution packs 16 column
/// panels per group instead of one: three quarters of this core's L2 cache (sysconf), else 65,536.
long leaflens_conv_group_threshold(void);

/// 1 when this CPU and OS run a vector kernel of `leaflens_sgemm_packed` (level 2 or 3), else 0.
int leaflens_sgemm_available(void);

/// Floats needed to pack an m×k matrix (m rounded up to a multiple of 8).
long leaflens_sgemm_packed_count(long m, long k);

/// Packs op(A) (m×k; op(A)[i][p] = a[i·lda + p], or a[p·lda + i] when `transposed`) into 8-row panels,
/// for `leaflens_sgemm_packed`. `packed` holds `leaflens_sgemm_packed_count(m, k)` floats.
void leaflens_sgemm_pack_a(long m, long k, const float *a, long lda, int transposed, float *packed);

/// As `leaflens_sgemm_pack_a`, gathering: op(A)[i][p] = a[row_offsets[i] + column_offsets[p]] (e.g. convolution
/// weights with their columns reordered, or rotated filters, packed without an intermediate copy).
void leaflens_sgemm_pack_a_gather(
    long m, long k, const float *a, const long *row_offsets, const long *column_offsets, float *packed);

/// C[m×n] = A·B, or C += A·B when `accumulate` is non-zero; row-major B (k×n, row stride ldb) and C
/// (row stride ldc), A packed by `leaflens_sgemm_pack_a`. Rows of A from row 8p on: pass
/// `packed + 8·p·k`. Single-threaded; callers split rows (by panels of 8) or columns.
void leaflens_sgemm_packed(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate);

/// One image's convolution geometry: input [channels, height, width], kernel, stride, padding, output size,
/// and the order of the k = channels·kh·kw columns of A: (channel block, kh, kw, channel within the block)
/// with blocks of `channel_block` channels (which divides `channels`; 1 gives plain (c, kh, kw) order).
typedef struct leaflens_conv_geometry {
    long channels, height, width;
    long kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    long out_h, out_w;
    long channel_block;
} leaflens_conv_geometry;

/// Convolution as a GEMM whose column matrix is built panel by panel from the images (no im2col matrix):
/// y[i][j] = Σ_k A[i][k] · col(x)[k][j], then (each a separate float32 operation) + bias[i] if `bias` is
/// non-NULL, + residual[i][j] if `residual` is non-NULL (same layout as y), and ReLU if `relu`, for the m
/// rows of packed A (k = channels·kh·kw columns, in the order the geometry gives) and output positions
/// j = oh·out_w + ow of each of `images` images. Image b starts at x + b·x_stride and y + b·y_stride; y's rows
/// have stride ldy. The output positions of all images, numbered b·(out_h·out_w) + j, are cut into panels
/// of 32 (a panel may span images); this computes panels q0 … q1−1.
/// Single-threaded; callers split panels, or rows (by 8: pass packed + 8·p·k, bias + 8·p, residual and y
/// + 8·p·ldy).
void leaflens_sconv_packed(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1);

/// col2im (scatter-add of a column matrix [channels·kh·kw, out_h·out_w], rows in (c, kh, kw) order, into an
/// image [channels, height, width]) for channels c0 … c1−1, vectorised for stride 2 across (AVX-512 CPUs only).
/// Returns 0 without touching anything when it does not apply (then the caller runs its own loop).
int leaflens_scol2im_add(const leaflens_conv_geometry *g, const float *col, float *x, long c0, long c1);

/// Max pooling 3×3, stride 2, padding 1 of one plane h×w into oh×ow values (and, if `indices` is non-NULL,
/// the flat index in the plane of each window's first maximum), vectorised on AVX-512 CPUs. Returns 0 without
/// writing when it does not apply (no AVX-512, or a NaN in the plane): the caller runs its own loop.
int leaflens_smaxpool_3s2p1(const float *x, long h, long w, float *y, int *indices, long oh, long ow);

/// The AVX2 + FMA kernels behind both entry points, callable directly so that tests check them on any CPU
/// with AVX2 and FMA (whatever LEAFLENS_CONV_KERNEL says); on CPUs without, they run the portable loops.
void leaflens_sgemm_packed_avx2(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate);
void leaflens_sconv_packed_avx2(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1);

/// The portable loops behind both entry points (used on CPUs without these kernels), callable directly so that
/// tests can check them on any machine. Same arguments and results (up to float32 rounding order).
void leaflens_sgemm_packed_portable(
    long m, long n, long k, const float *packed_a, const float *b, long ldb, float *c, long ldc, int accumulate);
void leaflens_sconv_packed_portable(
    const leaflens_conv_geometry *g, const float *x, long x_stride, long images, long m, const float *packed_a,
    const float *bias, const float *residual, int relu, float *y, long ldy, long y_stride, long q0, long q1);

#endif
