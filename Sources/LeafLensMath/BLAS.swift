import CBLAS
import CLeafLensKernels
import Foundation

/// The OpenBLAS runtime as LeafLens configures it.
///
/// At load time a C constructor in `CLeafLensKernels` makes OpenBLAS use the best kernels this CPU
/// supports (Debian's 0.3.21 misdetects recent Intel CPUs as "Prescott"). LeafLens then runs OpenBLAS
/// single-threaded and parallelises itself (`Parallel`), which measured faster for convolution batches
/// and avoids oversubscription when several GEMMs run at once.
public enum BLASRuntime {
    /// The kernel set OpenBLAS runs, e.g. "SkylakeX".
    public static var coreName: String { String(cString: leaflens_blas_core_name()) }

    /// The kernel set OpenBLAS chose by itself before LeafLens's check.
    public static var originalCoreName: String { String(cString: leaflens_blas_original_core_name()) }

    /// What the load-time check did, in words.
    public static var selection: String {
        switch leaflens_blas_core_action() {
        case 1: "upgraded from \(originalCoreName)"
        case 2: "OPENBLAS_CORETYPE set by the user"
        case 3: "OpenBLAS runtime hooks unavailable"
        case 4: "kept OpenBLAS's choice (LEAFLENS_BLAS_CORE=keep)"
        case 5: "restored OpenBLAS's own choice \(originalCoreName)"
        default: "kept OpenBLAS's choice"
        }
    }

    /// SIMD class from CPUID + XGETBV: "avx512", "avx2", "avx" or "baseline".
    public static var cpuSIMD: String {
        switch leaflens_cpu_simd_class() {
        case 3: "avx512"
        case 2: "avx2"
        case 1: "avx"
        default: "baseline"
        }
    }

    /// Whether a kernel name is one of OpenBLAS's AVX-512 cores.
    public static func isAVX512Core(_ name: String) -> Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(name.lowercased())
    }

    /// OpenBLAS's own thread count (LeafLens sets 1 at load time, unless turned off).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's thread count before LeafLens set it to 1; nil if LeafLens left it alone
    /// (`LEAFLENS_BLAS_THREADS=keep` in the environment).
    public static var threadsBeforeLeafLens: Int? {
        let before = Int(leaflens_blas_threads_before())
        return before < 0 ? nil : before
    }

    /// Whether OpenBLAS's idle worker threads are shut down (at load time, unless
    /// `LEAFLENS_BLAS_THREADS=keep`): its pthread build otherwise keeps one per extra core busy-waiting
    /// with `sched_yield` for about 0.1 s after start-up and after each multi-threaded call.
    public static var idleThreadsStopped: Bool { leaflens_blas_idle_threads_stopped() != 0 }

    /// Sets OpenBLAS's process-wide thread count. LeafLens parallelises its convolutions itself and
    /// measured fastest with 1; a program that calls OpenBLAS for its own large GEMMs may want more.
    /// Setting 1 again shuts OpenBLAS's worker threads down. Call while no BLAS work runs.
    public static func setThreads(_ count: Int) {
        if leaflens_blas_set_threads(Int32(clamping: max(1, count))) == 0 {
            openblas_set_num_threads(Int32(clamping: max(1, count)))
        }
    }

    /// Re-initialises OpenBLAS with the kernel set it chose by itself, undoing LeafLens's load-time switch
    /// (see `selection`). Call before any BLAS work starts (OpenBLAS's re-initialisation is not
    /// thread-safe). Returns false if OpenBLAS's runtime hooks are absent.
    @discardableResult
    public static func restoreOriginalCore() -> Bool { leaflens_blas_core_restore_original() != 0 }
}

/// Row-major GEMM helpers over `TensorScalar`.
public enum GEMM {
    /// C = alpha·op(A)·op(B) + beta·C on all cores when the problem is large enough: split over column
    /// blocks of C, or over row blocks when C has few columns (late ResNet stages: 7×7 = 49 columns).
    /// Call only from outside other parallel regions.
    public static func parallel<T: TensorScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        let small = m * n * k < 2_000_000 || Parallel.workers == 1
        let splitRows = n < 4 * m && m >= 32
        let blocks = small ? [0..<(splitRows ? m : n)] : Parallel.chunks(splitRows ? m : n, minimum: 16)
        if blocks.count == 1 {
            T.gemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let pa = UnsafeSendable(a), pb = UnsafeSendable(b), pc = UnsafeSendable(c)
        Parallel.forEach(blocks.count) { i in
            let part = blocks[i]
            if splitRows {
                // Rows i0..<i1 of op(A): rows of A, or columns of A when transposed.
                let aOffset = transA ? part.lowerBound : part.lowerBound * lda
                T.gemm(
                    transA: transA, transB: transB, m: part.count, n: n, k: k, alpha: alpha,
                    a: pa.value + aOffset, lda: lda, b: pb.value, ldb: ldb, beta: beta,
                    c: pc.value + part.lowerBound * ldc, ldc: ldc)
            } else {
                // Columns j0..<j1 of op(B): columns of B, or rows of B when transposed.
                let bOffset = transB ? part.lowerBound * ldb : part.lowerBound
                T.gemm(
                    transA: transA, transB: transB, m: m, n: part.count, k: k, alpha: alpha,
                    a: pa.value, lda: lda, b: pb.value + bOffset, ldb: ldb, beta: beta,
                    c: pc.value + part.lowerBound, ldc: ldc)
            }
        }
    }

    /// Single-threaded GEMM, for use inside parallel regions.
    @inline(__always)
    public static func serial<T: TensorScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: T, a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        T.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
