// Kernel selection for Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH).
//
// That build does not recognise recent Intel models and falls back to the "Prescott" (SSE3) kernels,
// about 4-5x slower for sgemm than the SkylakeX kernels the CPU can run. OpenBLAS picks its core in its
// own constructor, before any of our code runs, and reads OPENBLAS_CORETYPE only then. So this
// constructor (which runs after the libraries we link are initialised) checks what the CPU and the OS
// really support, and if OpenBLAS chose a lower class it re-runs OpenBLAS's dynamic initialisation with
// OPENBLAS_CORETYPE set to the best core the CPU can execute, then removes the variable again.
//
// gotoblas_dynamic_init/quit are exported by DYNAMIC_ARCH builds but undocumented, so they are declared
// weak: absent, nothing happens. A user-set OPENBLAS_CORETYPE is always respected. A core is never forced
// beyond what CPUID+XGETBV allow (forcing SkylakeX on a CPU without AVX-512 would die of SIGILL).
#include "leaflens_support.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static int core_action = 0;
static char original_core[64] = "unknown";

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

static int core_class(const char *name) {
    if (name == NULL) return 0;
    static const char *avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *avx2[] = {"Haswell", "Zen", "Skylake", NULL};
    static const char *avx1[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator", NULL};
    for (int i = 0; avx512[i]; i++) if (strcasecmp(name, avx512[i]) == 0) return 3;
    for (int i = 0; avx2[i]; i++) if (strcasecmp(name, avx2[i]) == 0) return 2;
    for (int i = 0; avx1[i]; i++) if (strcasecmp(name, avx1[i]) == 0) return 1;
    return 0;
}

__attribute__((constructor(65000))) static void leaflens_select_blas_core(void) {
    if (openblas_get_corename == NULL) { core_action = 3; return; }
    const char *chosen = openblas_get_corename();
    if (chosen) { strncpy(original_core, chosen, sizeof(original_core) - 1); }
    if (getenv("OPENBLAS_CORETYPE") != NULL) { core_action = 2; return; }
    if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL) { core_action = 3; return; }
    int cpu = leaflens_cpu_simd_class();
    if (cpu <= core_class(chosen)) return;
    const char *target = cpu == 3 ? "SkylakeX" : cpu == 2 ? "Haswell" : "Sandybridge";
    gotoblas_dynamic_quit();
    setenv("OPENBLAS_CORETYPE", target, 1);
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    core_action = 1;
}

const char *leaflens_blas_core_name(void) {
    if (openblas_get_corename == NULL) return "unknown";
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

int leaflens_blas_core_action(void) { return core_action; }

const char *leaflens_blas_original_core_name(void) { return original_core; }
