#ifndef LEAFLENS_PROCESS_SETTINGS_H
#define LEAFLENS_PROCESS_SETTINGS_H

/// glibc malloc tuning applied at load time (see allocator.c): every block from the heap (no mmap per
/// large activation), no trimming; with LEAFLENS_HUGE_PAGES=1 also the heap's first 512 MiB marked for
/// transparent huge pages. Prevent it with LEAFLENS_MALLOC_TUNING=0 in the environment.

/// 1 if the tuning is in effect.
int leaflens_allocator_tuned(void);
/// Applies the tuning (what the load-time constructor does).
void leaflens_allocator_tune(void);
/// Bytes of the heap marked for transparent huge pages at load time (0 if none, the default; see allocator.c).
long leaflens_allocator_huge_bytes(void);
/// Marks that range MADV_NOHUGEPAGE again (pages already huge stay so until freed by the kernel).
void leaflens_allocator_unmark_huge_pages(void);
/// Sets glibc's documented defaults again (M_MMAP_MAX 65536, M_TRIM_THRESHOLD and M_TOP_PAD 128 KiB).
void leaflens_allocator_restore_defaults(void);

#endif
