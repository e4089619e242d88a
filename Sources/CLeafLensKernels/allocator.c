// Allocator tuning at load time.
//
// A ResNet forward pass allocates and frees activation tensors of several MB to tens of MB per step.
// glibc serves blocks above M_MMAP_THRESHOLD with fresh mmap()s and unmaps them on free, so every step
// paid a page fault per 4 KiB touched: a ReLU over a 51 MB batch took 23 ms, almost all of it faults.
// Serving everything from the heap and not trimming it lets freed activation memory be reused by the
// next step. The cost is that the process keeps its peak heap until exit, which for a CLI run (and for
// max-RSS measurements, which report the peak anyway) changes nothing.
//
// This is a process-wide change in every program that links LeafLens. Such a program can see it
// (leaflens_allocator_tuned), undo it (leaflens_allocator_restore_defaults), or prevent it by starting with
// LEAFLENS_MALLOC_TUNING=0 in the environment.
//
// Transparent huge pages (opt-in: LEAFLENS_HUGE_PAGES=1 in the environment, with the tuning on): where the
// kernel gives them only to memory that asks (THP "madvise", Debian's default), the first RESERVE bytes of
// the heap are grown once and marked MADV_HUGEPAGE, so that the loaded weights, their folded copies and
// the activations are faulted in 2 MiB at a time instead of 4 KiB (a 45 MB copy is about 11,000 faults
// otherwise). Growing the heap touches nothing: the reserve is address space until used. It is not the
// default because what a huge page costs depends on the machine: on one virtual machine it made one-image
// classify 0.81× its time; on another, classify 0.83× but a whole IG-50 `explain` (about 460 MB touched)
// 1.07× (BENCHMARKS.md, "Huge pages made opt-in"). leaflens_allocator_huge_bytes says how much was
// marked (0 when off, or when the kernel or the heap did not allow it).
#include "leaflens_process_settings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

static int allocator_tuned = 0;
static long huge_bytes = 0;
static void *huge_start = NULL;

enum { HUGE_RESERVE = 512 << 20, HUGE_PAGE = 2 << 20 };

long leaflens_allocator_huge_bytes(void) { return huge_bytes; }

// Sanitizer builds replace malloc (its blocks do not come from the brk heap, and a freed block is kept
// poisoned in quarantine), so they skip this.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LL_SANITIZED_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LL_SANITIZED_MALLOC 1
#endif

static void mark_heap_huge(void) {
#if defined(__GLIBC__) && defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(LL_SANITIZED_MALLOC)
    char *before = sbrk(0);
    // From the heap's top (M_MMAP_MAX is 0), then kept there by free (no trimming below 1 GiB). Through a
    // volatile pointer: a compiler may otherwise drop a malloc that is only freed.
    void *volatile block = malloc(HUGE_RESERVE);
    if (block == NULL) return;
    free(block);
    char *after = sbrk(0);
    if (before == (char *)-1 || after == (char *)-1 || after <= before) return;
    uintptr_t lo = ((uintptr_t)before + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t hi = (uintptr_t)after & ~(uintptr_t)(HUGE_PAGE - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0) {
        huge_start = (void *)lo;
        huge_bytes = (long)(hi - lo);
    }
#endif
}

void leaflens_allocator_unmark_huge_pages(void) {
#if defined(__linux__) && defined(MADV_NOHUGEPAGE)
    if (huge_bytes > 0 && madvise(huge_start, (size_t)huge_bytes, MADV_NOHUGEPAGE) == 0) huge_bytes = 0;
#endif
}

void leaflens_allocator_tune(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    allocator_tuned = 1;
#endif
}

void leaflens_allocator_restore_defaults(void) {
#if defined(__GLIBC__)
    // glibc's documented defaults (mallopt(3)). Setting them explicitly also turns off glibc's dynamic
    // mmap-threshold adjustment, which the tuning had turned off already.
    mallopt(M_MMAP_MAX, 65536);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    mallopt(M_TOP_PAD, 128 * 1024);
    allocator_tuned = 0;
#endif
}

int leaflens_allocator_tuned(void) { return allocator_tuned; }

__attribute__((constructor)) static void leaflens_tune_allocator_at_load(void) {
    const char *setting = getenv("LEAFLENS_MALLOC_TUNING");
    if (setting != NULL && (strcmp(setting, "0") == 0 || strcmp(setting, "off") == 0)) return;
    leaflens_allocator_tune();
    const char *huge = getenv("LEAFLENS_HUGE_PAGES");
    if (huge != NULL && (strcmp(huge, "1") == 0 || strcmp(huge, "on") == 0)) mark_heap_huge();
}
