#ifndef LEAFLENS_PROCESS_SETTINGS_H
#define LEAFLENS_PROCESS_SETTINGS_H

/// glibc malloc tuning applied at load time (see allocator.c): every block from the heap (no mmap per
/// large activation), no trimming. Prevent it with LEAFLENS_MALLOC_TUNING=0 in the environment.

/// 1 if the tuning is in effect.
int leaflens_allocator_tuned(void);
/// Applies the tuning (what the load-time constructor does).
void leaflens_allocator_tune(void);
/// Sets glibc's documented defaults again (M_MMAP_MAX 65536, M_TRIM_THRESHOLD and M_TOP_PAD 128 KiB).
void leaflens_allocator_restore_defaults(void);

#endif
