#ifndef LEAFLENS_CPU_H
#define LEAFLENS_CPU_H

/// The widest x86 SIMD class this CPU *and* its OS support, from CPUID and XGETBV:
/// 3 = AVX-512 (F, CD, BW, DQ, VL), 2 = AVX2 + FMA, 1 = AVX, 0 = older or not x86.
int leaflens_cpu_simd_class(void);

#endif
