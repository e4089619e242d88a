import CBLAS

/// A scalar the tensor code is generic over: `Float` in production, `Double` for gradient checks.
/// Both run through the same code; only the GEMM entry point differs (sgemm / dgemm).
public protocol TensorScalar: BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, on the calling thread.
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Bytes per element, and a name for error messages and file formats.
    static var dtypeName: String { get }

    /// x ← max(x, 0) over `count` elements (NaN kept). See TensorScalar+Kernels.swift.
    static func reluInPlace(_ x: UnsafeMutablePointer<Self>, count: Int)

    /// g ← g·[y > 0] over `count` elements.
    static func reluGradientInPlace(_ g: UnsafeMutablePointer<Self>, output y: UnsafePointer<Self>, count: Int)

    /// Max pooling of one `height`×`width` plane; see `maxPoolPlaneKernel`.
    static func maxPoolPlane(
        _ x: UnsafePointer<Self>, height: Int, width: Int, _ y: UnsafeMutablePointer<Self>,
        _ indices: UnsafeMutablePointer<Int32>?, outHeight: Int, outWidth: Int, kernel: Int, stride: Int, padding: Int)
}

extension Float: TensorScalar {
    @inlinable
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }
    public static var dtypeName: String { "float32" }
}

extension Double: TensorScalar {
    @inlinable
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }
    public static var dtypeName: String { "float64" }
}
