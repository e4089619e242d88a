import CLeafLensKernels

/// The process-wide changes LeafLens makes when it is loaded, for programs that embed the library.
///
/// Three settings affect the whole process, not only LeafLens's own calls. They stay on for the
/// `leaflens` CLI and the tests (they are measured wins there); an embedding program can see each one
/// here, prevent it with an environment variable set before the process starts (all three happen in
/// C constructors, before `main`), or undo it at run time:
///
/// | setting | when | prevent | undo |
/// |---|---|---|---|
/// | glibc malloc: no mmap per large block, no heap trimming (a ReLU over 51 MB: 23 ms of page faults → none); opt-in with `LEAFLENS_HUGE_PAGES=1`: the heap's first 512 MiB marked for transparent huge pages (2 MiB faults where the kernel's THP mode is `madvise`; one-image classify 0.81× its time on one virtual machine; on another classify 0.83× but a whole IG-50 `explain` 1.07×, BENCHMARKS.md) | load time | `LEAFLENS_MALLOC_TUNING=0` (huge pages: leave `LEAFLENS_HUGE_PAGES` unset) | `restoreAllocatorDefaults()`, `unmarkHugePages()` |
/// | OpenBLAS kernels re-selected by CPUID (Debian's 0.3.21 picks Prescott on recent Intel CPUs) | load time | `LEAFLENS_BLAS_CORE=keep` (or set `OPENBLAS_CORETYPE`) | `BLASRuntime.restoreOriginalCore()` |
/// | OpenBLAS forced to one thread (LeafLens parallelises itself), its idle worker threads stopped (they busy-wait for ~0.1 s after start-up otherwise) | load time | `LEAFLENS_BLAS_THREADS=keep` | `BLASRuntime.setThreads(_:)` |
///
/// The CLI additionally installs SIGINT/SIGTERM handlers (`TemporaryFiles.installSignalHandlers()`);
/// the library never does that by itself.
public enum ProcessSettings {
    /// Whether the malloc tuning is in effect.
    public static var allocatorTuned: Bool { leaflens_allocator_tuned() != 0 }

    /// Sets glibc malloc's documented defaults again (M_MMAP_MAX 65536, M_TRIM_THRESHOLD and M_TOP_PAD
    /// 128 KiB).
    public static func restoreAllocatorDefaults() { leaflens_allocator_restore_defaults() }

    /// Applies the malloc tuning (what happens at load time unless `LEAFLENS_MALLOC_TUNING=0`).
    public static func tuneAllocator() { leaflens_allocator_tune() }

    /// Bytes of the heap marked for transparent huge pages at load time: 0 unless the process started with
    /// `LEAFLENS_HUGE_PAGES=1` (and the tuning on), after `unmarkHugePages()`, or where the kernel refused
    /// the request.
    public static var hugePageHeapBytes: Int { leaflens_allocator_huge_bytes() }

    /// Marks that range for normal pages again (pages the kernel already made huge stay so).
    public static func unmarkHugePages() { leaflens_allocator_unmark_huge_pages() }

    /// One line per setting, e.g. for `leaflens info`.
    public static var summary: [String] {
        [
            "malloc tuning: " + (allocatorTuned ? "on" : "off")
                + (hugePageHeapBytes > 0 ? ", \(hugePageHeapBytes >> 20) MiB of heap for huge pages" : ""),
            "OpenBLAS core: \(BLASRuntime.coreName) (\(BLASRuntime.selection))",
            "OpenBLAS threads: \(BLASRuntime.threads)"
                + (BLASRuntime.threadsBeforeLeafLens.map { " (set by LeafLens; was \($0))" } ?? " (left as found)")
                + (BLASRuntime.idleThreadsStopped ? ", idle worker threads stopped" : ""),
        ]
    }
}
