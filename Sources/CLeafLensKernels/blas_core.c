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
// weak: absent, nothing happens. A user-set OPENBLAS_CORETYPE is always respected, and
// LEAFLENS_BLAS_CORE=keep (in the environment before the process starts) turns the check off. A core is never forced
// beyond what CPUID+XGETBV allow (forcing SkylakeX on a CPU without AVX-512 would die of SIGILL).
#include "leaflens_blas_core.h"
#include "leaflens_cpu.h"

#include <stdlib.h>
#include <string.h>

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static int core_action = 0;
static char original_core[64] = "unknown";

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
    const char *setting = getenv("LEAFLENS_BLAS_CORE");
    if (setting != NULL && strcmp(setting, "keep") == 0) { core_action = 4; return; }
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

int leaflens_blas_core_restore_original(void) {
    if (core_action != 1) return 1;  // nothing was changed
    if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL) return 0;
    // Forcing the recorded name reproduces OpenBLAS's own load-time choice exactly.
    gotoblas_dynamic_quit();
    setenv("OPENBLAS_CORETYPE", original_core, 1);
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    core_action = 5;
    return 1;
}
