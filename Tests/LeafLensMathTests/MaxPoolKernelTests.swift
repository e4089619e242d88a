import LeafLensMath
import Testing

/// Float's 3×3 / 2 / 1 max pooling runs a vectorised kernel on AVX-512 CPUs; Double always runs the plain
/// loop. Both must give the same maxima and the same (first-maximum) indices, ties included.
@Suite struct MaxPoolKernelTests {
    static func pool<T: TensorScalar>(_ values: [T], height h: Int, width w: Int) -> (values: [T], indices: [Int32]) {
        let (oh, ow) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1)
        var y = [T](repeating: 0, count: oh * ow)
        var indices = [Int32](repeating: -1, count: oh * ow)
        values.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                indices.withUnsafeMutableBufferPointer { ids in
                    T.maxPoolPlane(
                        xs.baseAddress!, height: h, width: w, ys.baseAddress!, ids.baseAddress!, outHeight: oh,
                        outWidth: ow, kernel: 3, stride: 2, padding: 1)
                }
            }
        }
        return (y, indices)
    }

    /// Small integers make ties frequent; −∞ entries check that padding never wins over a real −∞.
    @Test(arguments: [(1, 1), (2, 3), (7, 7), (17, 40), (56, 56), (33, 35), (112, 112)])
    func floatMatchesPlainLoop(_ size: (h: Int, w: Int)) {
        var rng = SeededRandom(seed: UInt64(size.h * 1000 + size.w))
        let raw: [Double] = rng.uniformArray(size.h * size.w, -3, 3)
        var values = raw.map { $0.rounded() }
        for i in stride(from: 0, to: values.count, by: 11) { values[i] = -.infinity }
        let float = Self.pool(values.map(Float.init), height: size.h, width: size.w)
        let double = Self.pool(values, height: size.h, width: size.w)
        #expect(float.values.map(Double.init) == double.values)
        #expect(float.indices == double.indices)
    }

    /// A NaN anywhere in the plane is propagated to its windows, as PyTorch does.
    @Test func nanPropagates() {
        var values = [Float](repeating: 1, count: 9 * 9)
        values[40] = .nan  // row 4, column 4
        let (y, indices) = Self.pool(values, height: 9, width: 9)
        #expect(y[2 * 5 + 2].isNaN)  // output (2, 2) covers rows 3…5, columns 3…5
        #expect(indices[2 * 5 + 2] == 40)
        #expect(!y[0].isNaN)
    }
}
