#ifndef LEAFLENS_BLAS_CORE_H
#define LEAFLENS_BLAS_CORE_H

/// OpenBLAS kernel selection at load time (a process-wide change; see blas_core.c). It runs in every
/// program that links LeafLens, before main. Set LEAFLENS_BLAS_CORE=keep in the environment to keep
/// OpenBLAS's own choice; a user-set OPENBLAS_CORETYPE is always respected.

/// The OpenBLAS core running now ("Prescott", "SkylakeX", ...), or "unknown".
const char *leaflens_blas_core_name(void);

/// What the load-time check did: 0 = kept OpenBLAS's own choice, 1 = switched to a better core,
/// 2 = user set OPENBLAS_CORETYPE (respected), 3 = OpenBLAS runtime hooks absent (static or non-dynamic
/// build), 4 = turned off by LEAFLENS_BLAS_CORE=keep, 5 = switched, then restored by
/// leaflens_blas_core_restore_original().
int leaflens_blas_core_action(void);

/// OpenBLAS's thread count before the load-time setting made it 1, or -1 if LEAFLENS_BLAS_THREADS=keep
/// (or OpenBLAS's thread controls are absent) left it alone.
int leaflens_blas_threads_before(void);

/// 1 while OpenBLAS's idle worker threads are shut down (see blas_core.c): at load time, unless
/// LEAFLENS_BLAS_THREADS=keep, and after leaflens_blas_set_threads(1).
int leaflens_blas_idle_threads_stopped(void);

/// Sets OpenBLAS's process-wide thread count; with 1, also shuts its worker threads down (OpenBLAS starts
/// them again when the count is raised). Not thread-safe: call it while no BLAS work runs. Returns 0 if
/// OpenBLAS's thread controls are absent.
int leaflens_blas_set_threads(int count);

/// The core OpenBLAS had chosen by itself before the load-time check.
const char *leaflens_blas_original_core_name(void);

/// Re-initialises OpenBLAS with the core it had chosen by itself (undoing a switch). Not thread-safe:
/// call it before any BLAS work starts. Returns 1 on success (or if nothing was switched), 0 if the
/// OpenBLAS runtime hooks are absent.
int leaflens_blas_core_restore_original(void);

#endif
