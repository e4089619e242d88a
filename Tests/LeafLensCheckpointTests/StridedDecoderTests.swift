import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensCheckpoint

/// The fast strided decoder against its element-by-element reference, on odd views and every dtype.
@Suite struct StridedDecoderTests {
    struct View: Sendable, CustomTestStringConvertible {
        let shape: [Int], strides: [Int], offset: Int
        var testDescription: String { "\(shape) strides \(strides) +\(offset)" }
    }

    static let views: [View] = [
        View(shape: [3, 4], strides: [4, 1], offset: 0),
        View(shape: [4, 3], strides: [1, 4], offset: 0),  // a transpose
        View(shape: [2, 3, 2], strides: [1, 4, 12], offset: 5),
        View(shape: [5], strides: [3], offset: 1),
        View(shape: [2, 1, 3], strides: [0, 7, 2], offset: 2),  // broadcast along axis 0
        View(shape: [], strides: [], offset: 9),
        View(shape: [0, 3], strides: [3, 1], offset: 0),
    ]

    @Test(arguments: views, TorchDType.allCases)
    func fastMatchesNaive(_ v: View, _ dtype: TorchDType) throws {
        var state: UInt64 = 7
        let bytes = (0..<(40 * dtype.byteSize)).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 40) & (dtype.isFloatingPoint ? 0x3F : 0xFF)  // finite floats
        }
        let storage = StorageReference(key: "0", dtype: dtype, elementCount: 40, location: "cpu")
        guard
            case .success(let view) = TensorReference.validated(
                storage: storage, offset: v.offset, shape: v.shape, strides: v.strides, isParameter: false)
        else {
            Issue.record("view refused"); return
        }
        for bigEndian in [false, true] {
            let fast: [Float] = StridedDecoder.decode(bytes, view, bigEndian: bigEndian)
            let naive: [Float] = StridedDecoder.decodeNaive(bytes, view, bigEndian: bigEndian)
            #expect(fast.count == view.elementCount)
            #expect(fast.map(\.bitPattern) == naive.map(\.bitPattern))
        }
    }

    @Test func knownValues() {
        // float16 1.0 = 0x3C00, bfloat16 -2.0 = 0xC000, float32 0.5 big-endian = 3F 00 00 00.
        let h = StorageReference(key: "h", dtype: .float16, elementCount: 1, location: "")
        let b = StorageReference(key: "b", dtype: .bfloat16, elementCount: 1, location: "")
        let f = StorageReference(key: "f", dtype: .float32, elementCount: 1, location: "")
        func one(_ s: StorageReference, _ bytes: [UInt8], big: Bool = false) -> Float {
            guard
                case .success(let v) = TensorReference.validated(
                    storage: s, offset: 0, shape: [1], strides: [1], isParameter: false)
            else { return .nan }
            let values: [Float] = StridedDecoder.decode(bytes, v, bigEndian: big)
            return values[0]
        }
        #expect(one(h, [0x00, 0x3C]) == 1)
        #expect(one(b, [0x00, 0xC0]) == -2)
        #expect(one(f, [0x3F, 0x00, 0x00, 0x00], big: true) == 0.5)
    }
}
