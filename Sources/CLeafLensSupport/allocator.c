// Allocator tuning at load time.
//
// A ResNet forward pass allocates and frees activation tensors of several MB to tens of MB per step.
// glibc serves blocks above M_MMAP_THRESHOLD with fresh mmap()s and unmaps them on free, so every step
// paid a page fault per 4 KiB touched: a ReLU over a 51 MB batch took 23 ms, almost all of it faults.
// Serving everything from the heap and not trimming it lets freed activation memory be reused by the
// next step. The cost is that the process keeps its peak heap until exit, which for a CLI run (and for
// max-RSS measurements, which report the peak anyway) changes nothing.
#include <malloc.h>

__attribute__((constructor)) static void leaflens_tune_allocator(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
#endif
}
