// The SIMD class this CPU and its OS support, from CPUID and XGETBV (shared by the OpenBLAS core check
// and the AVX-512 kernels' run-time dispatch).
#include "leaflens_cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

int leaflens_cpu_simd_class(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return 0;  // XMM and YMM state enabled by the OS
    int level = 1;
    unsigned int maxLeaf = __get_cpuid_max(0, 0);
    if (maxLeaf < 7) return level;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    int avx2 = (ebx >> 5) & 1;
    if (avx2 && fma) level = 2;
    int f = (ebx >> 16) & 1, dq = (ebx >> 17) & 1, cd = (ebx >> 28) & 1, bw = (ebx >> 30) & 1, vl = (ebx >> 31) & 1;
    // Opmask, ZMM_Hi256 and Hi16_ZMM state (bits 5-7) must be enabled by the OS too.
    if (level == 2 && f && dq && cd && bw && vl && (xcr0 & 0xe6) == 0xe6) level = 3;
    return level;
#else
    return 0;
#endif
}

