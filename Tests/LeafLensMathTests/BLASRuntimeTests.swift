import Foundation
import LeafLensMath
import Testing

@Suite struct BLASRuntimeTests {
    /// On an AVX-512 CPU, OpenBLAS must run an AVX-512 kernel set without the user doing anything.
    /// A user-set OPENBLAS_CORETYPE is respected instead (some machines set one on purpose).
    @Test func kernelMatchesCPU() {
        let core = BLASRuntime.coreName
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(core.lowercased() == forced.lowercased(), "user-set OPENBLAS_CORETYPE=\(forced) not respected")
        } else if BLASRuntime.cpuSIMD == "avx512" {
            #expect(BLASRuntime.isAVX512Core(core), "AVX-512 CPU but OpenBLAS runs \(core)")
        } else {
            #expect(!BLASRuntime.isAVX512Core(core), "no AVX-512 but OpenBLAS runs \(core)")
        }
    }

    /// Float convolutions of fixed-weight networks run LeafLens's AVX-512 kernel exactly when the CPU and OS
    /// support AVX-512, whatever OPENBLAS_CORETYPE says; its AVX2 twin only when LEAFLENS_CONV_KERNEL=avx2
    /// asks for it on a CPU with AVX2 and FMA; LEAFLENS_CONV_KERNEL=openblas keeps OpenBLAS everywhere.
    @Test func convolutionKernelMatchesCPU() {
        let simd = BLASRuntime.cpuSIMD
        let expected =
            switch ProcessInfo.processInfo.environment["LEAFLENS_CONV_KERNEL"] {
            case "openblas": "openblas"
            case "avx2" where simd == "avx2" || simd == "avx512": "leaflens-avx2"
            default: simd == "avx512" ? "leaflens-avx512" : "openblas"
            }
        #expect(PackedMatrix.kernelName == expected)
        #expect(PackedMatrix.isAvailable == (expected != "openblas"))
    }

    @Test func openBLASRunsSingleThreaded() {
        if ProcessInfo.processInfo.environment["LEAFLENS_BLAS_THREADS"] == "keep" { return }
        #expect(BLASRuntime.threads == 1)
        #expect(BLASRuntime.threadsBeforeLeafLens != nil)
        // OpenBLAS's pthread build would otherwise keep a worker per extra core busy-waiting after load.
        #expect(BLASRuntime.idleThreadsStopped)
    }

    /// The parallel GEMM splits columns (wide C) or rows (tall C); both must equal the serial result,
    /// for every combination of transposes.
    @Test(arguments: [(67, 401, 97), (512, 49, 101)])
    func gemmSplitMatchesSerial(m: Int, n: Int, k: Int) {
        var rng = SeededRandom(seed: 7)
        let a: [Double] = rng.uniformArray(m * k, -1, 1)
        let b: [Double] = rng.uniformArray(k * n, -1, 1)
        for transA in [false, true] {
            for transB in [false, true] {
                var serial = [Double](repeating: 0, count: m * n)
                var split = serial
                let (lda, ldb) = (transA ? m : k, transB ? k : n)
                GEMM.serial(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                    b: b, ldb: ldb, beta: 0, c: &serial, ldc: n)
                GEMM.parallel(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
                    b: b, ldb: ldb, beta: 0, c: &split, ldc: n)
                #expect(serial == split, "transA \(transA) transB \(transB)")
            }
        }
    }
}
