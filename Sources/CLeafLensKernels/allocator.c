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
#include "leaflens_process_settings.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static int allocator_tuned = 0;

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
}
