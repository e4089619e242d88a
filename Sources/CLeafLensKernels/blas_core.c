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
//
// The same constructor sets OpenBLAS to one thread and stops its idle worker threads (the setting the
// Swift side documents as "OpenBLAS forced to one thread"). Its pthread build starts the workers in its
// own constructor (one per core, less one), and each busy-waits with sched_yield for 2^28 time-stamp
// ticks (about 0.1 s) before it sleeps: on a 2-core machine that took a core from the program's first
// 0.1 s, a third of a one-image classify. OpenBLAS 0.3.21 starts them again in openblas_set_num_threads
// (even when setting 1) and in multi-threaded calls, so the count is set here, once, before the shutdown.
// LEAFLENS_BLAS_THREADS=keep leaves the count and the threads alone.
#include "leaflens_blas_core.h"
#include "leaflens_cpu.h"

#include <stdlib.h>
#include <string.h>

extern char *openblas_get_corename(void) __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));
extern void openblas_set_num_threads(int) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

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

static int threads_before = -1, threads_stopped = 0;

static void set_one_blas_thread(void) {
    const char *setting = getenv("LEAFLENS_BLAS_THREADS");
    if (setting != NULL && strcmp(setting, "keep") == 0) return;
    if (openblas_set_num_threads == NULL || openblas_get_num_threads == NULL) return;
    threads_before = openblas_get_num_threads();
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_ == NULL) return;
    blas_thread_shutdown_();
    threads_stopped = 1;
}

int leaflens_blas_threads_before(void) { return threads_before; }

int leaflens_blas_idle_threads_stopped(void) { return threads_stopped; }

int leaflens_blas_set_threads(int count) {
    if (openblas_set_num_threads == NULL || openblas_get_num_threads == NULL) return 0;
    if (count < 1) count = 1;
    if (count == openblas_get_num_threads() && (count > 1 || threads_stopped)) return 1;
    openblas_set_num_threads(count);
    threads_stopped = 0;
    if (count == 1 && blas_thread_shutdown_ != NULL) {
        blas_thread_shutdown_();
        threads_stopped = 1;
    }
    return 1;
}

static void select_core(void);

__attribute__((constructor(65000))) static void leaflens_blas_load_time(void) {
    select_core();
    set_one_blas_thread();
}

static void select_core(void) {
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
