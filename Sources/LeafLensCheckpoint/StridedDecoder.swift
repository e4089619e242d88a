import LeafLensMath

/// Storage bytes → a tensor's values in C order.
///
/// Element `(i₀, …, iₖ)` of a view is storage element `offset + Σ iⱼ·strideⱼ`; its bytes are little-endian
/// unless the archive's byteorder record says big. Float16 and BFloat16 widen exactly to Float
/// (BF16 is the upper half of a binary32). `decodeNaive` is the one-index-at-a-time reference the fast
/// path (one bulk copy for contiguous little-endian views, one gather per innermost row otherwise) is
/// tested against.
enum StridedDecoder {
    static func decode<T: TensorScalar>(_ bytes: [UInt8], _ view: TensorReference, bigEndian: Bool) -> [T] {
        bytes.withUnsafeBytes { decode($0, view, bigEndian: bigEndian) }
    }

    /// `raw` holds the whole storage; `TensorReference.validated` proved every index of the view is inside.
    static func decode<T: TensorScalar>(_ raw: UnsafeRawBufferPointer, _ view: TensorReference, bigEndian: Bool) -> [T]
    {
        let count = view.elementCount
        if count == 0 { return [] }
        do {
            if view.isContiguous && !bigEndian, view.dtype == .float32, T.self == Float.self {
                let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    // safe: `validated` proved offset + count ≤ storage elements ≤ record bytes / 4.
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(
                            rebasing: raw[(view.storageOffset * 4)..<((view.storageOffset + count) * 4)]))
                    initialized = count
                }
                return unsafeBitCast(values, to: [T].self)  // safe: T == Float checked above
            }
            var result = [T](repeating: 0, count: count)
            let element = elementReader(view.dtype, bigEndian: bigEndian, as: T.self)
            let rank = view.shape.count
            if rank == 0 {
                result[0] = element(raw, view.storageOffset)
                return result
            }
            // Walk the outer indices like an odometer; each step writes one innermost row.
            let inner = view.shape[rank - 1], innerStride = view.strides[rank - 1]
            var index = [Int](repeating: 0, count: rank - 1)
            var base = view.storageOffset
            var out = 0
            while out < count {
                for j in 0..<inner { result[out + j] = element(raw, base + j * innerStride) }
                out += inner
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    base += view.strides[axis]
                    if index[axis] < view.shape[axis] { break }
                    base -= view.strides[axis] * view.shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
                if axis < 0 { break }
            }
            return result
        }
    }

    /// Reference: element by element from its multi-index.
    static func decodeNaive<T: TensorScalar>(_ bytes: [UInt8], _ view: TensorReference, bigEndian: Bool) -> [T] {
        let count = view.elementCount
        return bytes.withUnsafeBytes { raw in
            let element = elementReader(view.dtype, bigEndian: bigEndian, as: T.self)
            return (0..<count).map { flat in
                var rest = flat, position = view.storageOffset
                for axis in (0..<view.shape.count).reversed() {
                    position += (rest % view.shape[axis]) * view.strides[axis]
                    rest /= view.shape[axis]
                }
                return element(raw, position)
            }
        }
    }

    /// Reads storage element `i` (not byte) as `T`.
    static func elementReader<T: TensorScalar>(
        _ dtype: TorchDType, bigEndian: Bool, as _: T.Type
    ) -> (UnsafeRawBufferPointer, Int) -> T {
        func load<U: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, _ i: Int, _: U.Type) -> U {
            let stored = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<U>.size, as: U.self)
            return bigEndian ? U(bigEndian: stored) : U(littleEndian: stored)
        }
        switch dtype {
        case .float64: return { T(Double(bitPattern: load($0, $1, UInt64.self))) }
        case .float32: return { T(Float(bitPattern: load($0, $1, UInt32.self))) }
        case .float16: return { T(Float(Float16(bitPattern: load($0, $1, UInt16.self)))) }
        case .bfloat16: return { T(Float(bitPattern: UInt32(load($0, $1, UInt16.self)) << 16)) }
        case .int64: return { T(Double(Int64(bitPattern: load($0, $1, UInt64.self)))) }
        case .int32: return { T(Double(Int32(bitPattern: load($0, $1, UInt32.self)))) }
        case .int16: return { T(Double(Int16(bitPattern: load($0, $1, UInt16.self)))) }
        case .int8: return { T(Double(Int8(bitPattern: load($0, $1, UInt8.self)))) }
        case .uint8: return { T(Double(load($0, $1, UInt8.self))) }
        case .bool: return { T(load($0, $1, UInt8.self) != 0 ? 1.0 : 0.0) }
        }
    }
}
