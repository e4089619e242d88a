#ifndef LEAFLENS_SUPPORT_H
#define LEAFLENS_SUPPORT_H

/// The widest x86 SIMD class this CPU *and* its OS support, from CPUID and XGETBV:
/// 3 = AVX-512 (F, CD, BW, DQ, VL), 2 = AVX2 + FMA, 1 = AVX, 0 = older or not x86.
int leaflens_cpu_simd_class(void);

/// The OpenBLAS core chosen at load time ("Prescott", "SkylakeX", ...), or "unknown".
const char *leaflens_blas_core_name(void);

/// What the load-time check did: 0 = kept OpenBLAS's own choice, 1 = switched to a better core,
/// 2 = user set OPENBLAS_CORETYPE (respected), 3 = OpenBLAS runtime hooks absent (static or non-dynamic build).
int leaflens_blas_core_action(void);

/// The core OpenBLAS had chosen by itself before the load-time check.
const char *leaflens_blas_original_core_name(void);

#endif
