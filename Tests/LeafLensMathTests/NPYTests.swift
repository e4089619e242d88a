import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

/// `.npy` bytes with a hand-written header: magic, version, header length (declared, or the real
/// one), header text, data.
private func npyBytes(
    _ header: String, version: UInt8 = 1, declaredLength: Int? = nil, data: [UInt8] = []
) -> Data {
    let text = Array(header.utf8)
    let length = declaredLength ?? text.count
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    let lengthBytes = version == 1 ? 2 : 4
    bytes += (0..<lengthBytes).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
    return Data(bytes + text + data)
}

/// Little-endian bytes of Float32 values.
private func f4(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
}

private func f8(_ values: [Double]) -> [UInt8] {
    values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
}

private func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return bytes
}

private func tensor<T: TensorScalar>(_ shape: [Int], _ values: [T]) throws -> Tensor<T> {
    try Tensor(shape: shape, storage: values)
}

/// One malformed file and a substring its error must contain.
struct MalformedNPY: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: Data
    let expected: String
    var testDescription: String { name }
}

@Suite struct NPYTests {
    static let valid = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"

    // MARK: Round trips

    static let shapes: [[Int]] = [[], [1], [5], [2, 3], [1, 3, 4, 5], [0, 3], [2, 1, 1, 1, 3]]

    @Test(arguments: shapes)
    func roundTripFloat(shape: [Int]) throws {
        var rng = SeededRandom(seed: 11)
        let original = try tensor(shape, rng.uniformArray(shape.reduce(1, *), -3, 3, as: Float.self))
        let directory = try FixturePaths.temporaryDirectory("npy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("x.npy")
        try NPY.write(original, to: url)
        let back: Tensor<Float> = try NPY.read(url)
        expectClose(back, original, atol: 0, rtol: 0)
        let bytes = try Data(contentsOf: url)
        let headerEnd = try #require(bytes.firstIndex(of: 0x0A))
        #expect((headerEnd + 1) % 64 == 0, "data must start 64-byte aligned")
        #expect(String(decoding: bytes.prefix(headerEnd), as: UTF8.self).contains("'descr': '<f4'"))
    }

    @Test(arguments: shapes)
    func roundTripDouble(shape: [Int]) throws {
        var rng = SeededRandom(seed: 12)
        let original = try tensor(shape, rng.uniformArray(shape.reduce(1, *), -3, 3, as: Double.self).map { $0 / 3 })
        let encoded = NPY.encode(original)
        #expect(String(decoding: encoded.prefix(64), as: UTF8.self).contains("'descr': '<f8'"))
        let back = try NPY.decode(encoded, source: "mem.npy", as: Double.self)
        expectClose(back, original, atol: 0, rtol: 0)
    }

    @Test func shapeSpelling() {
        #expect(String(decoding: NPY.encode(Tensor<Float>(zeros: [])), as: UTF8.self).contains("'shape': ()"))
        #expect(String(decoding: NPY.encode(Tensor<Float>(zeros: [3])), as: UTF8.self).contains("'shape': (3,)"))
        #expect(
            String(decoding: NPY.encode(Tensor<Float>(zeros: [1, 3, 224, 224])).prefix(128), as: UTF8.self)
                .contains("'shape': (1, 3, 224, 224)"))
    }

    /// `np.save` output from NumPy 2.4 for `np.array(3.5, dtype='<f4')` and
    /// `np.array([[0.5, -1.25, 2]], dtype='<f8')`; LeafLens must write the same bytes.
    @Test func encodeMatchesNumPyByteForByte() throws {
        let header = "934e554d5059010076007b276465736372273a20273c66"
        let scalar =
            header + "34272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c207d"
            + String(repeating: "20", count: 62) + "0a00006040"
        #expect(NPY.encode(try tensor([], [Float(3.5)])) == Data(hex(scalar)))
        let matrix =
            header + "38272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c2033292c207d"
            + String(repeating: "20", count: 58) + "0a000000000000e03f000000000000f4bf0000000000000040"
        #expect(NPY.encode(try tensor([1, 3], [0.5, -1.25, 2])) == Data(hex(matrix)))
    }

    @Test func convertsBetweenScalarTypes() throws {
        let doubles = try tensor([3], [0.1, -2.5, 1e-3])
        let asFloat = try NPY.decode(NPY.encode(doubles), as: Float.self)
        expectClose(asFloat, doubles, atol: 0, rtol: 1e-7)
        let floats = try tensor([2], [Float(0.1), -7])
        let asDouble = try NPY.decode(NPY.encode(floats), as: Double.self)
        expectClose(asDouble, floats, atol: 0, rtol: 0)
    }

    // MARK: Hand-built and NumPy-written headers

    @Test func readsVersion1Header() throws {
        let header =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 58) + "\n"
        let data = npyBytes(header, data: f4([1, 2, 3, 4, 5, 6]))
        expectClose(
            try NPY.decode(data, as: Float.self), try tensor([2, 3], [Float(1), 2, 3, 4, 5, 6]), atol: 0, rtol: 0)
    }

    @Test func readsVersion2And3Headers() throws {
        for version: UInt8 in [2, 3] {
            let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }   \n"
            let data = npyBytes(header, version: version, data: f8([0.5, -1, 1e300]))
            expectClose(try NPY.decode(data, as: Double.self), try tensor([3], [0.5, -1, 1e300]), atol: 0, rtol: 0)
        }
    }

    @Test func toleratesHeaderSpellings() throws {
        // Double quotes, no trailing comma, other key order, Python 2 long suffix, no padding.
        let header = "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}"
        let data = npyBytes(header, data: f4([7, 8]))
        expectClose(try NPY.decode(data, as: Float.self), try tensor([2], [Float(7), 8]), atol: 0, rtol: 0)
    }

    /// Bytes written by NumPy 2.4: `np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))`.
    @Test func readsNumPyFortranOrderArray() throws {
        let header =
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }" + String(repeating: " ", count: 59) + "\n"
        let data = npyBytes(header, data: hex("00000000000040400000803f00008040000000400000a040"))
        expectClose(
            try NPY.decode(data, as: Float.self), try tensor([2, 3], [Float(0), 1, 2, 3, 4, 5]), atol: 0, rtol: 0)
    }

    /// Bytes written by NumPy 2.4 with `np.lib.format.write_array(f, np.array([0.5, -1.25]), version=(2, 0))`.
    @Test func readsNumPyVersion2File() throws {
        let header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" + String(repeating: " ", count: 58) + "\n"
        let data = npyBytes(header, version: 2, data: hex("000000000000e03f000000000000f4bf"))
        expectClose(try NPY.decode(data, as: Double.self), try tensor([2], [0.5, -1.25]), atol: 0, rtol: 0)
    }

    /// A 3-D Fortran array: element (i, j, k) = 100i + 10j + k is stored with i varying fastest.
    @Test func transposesFortranOrder3D() throws {
        let shape = [2, 3, 4]
        var fortran: [Float] = []
        for k in 0..<4 { for j in 0..<3 { for i in 0..<2 { fortran.append(Float(100 * i + 10 * j + k)) } } }
        var expected: [Float] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(Float(100 * i + 10 * j + k)) } } }
        let data = npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }\n", data: f4(fortran))
        expectClose(try NPY.decode(data, as: Float.self), try tensor(shape, expected), atol: 0, rtol: 0)
    }

    @Test func fortranOrderOf1DAndScalarIsTheSameAsC() throws {
        let vector = npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", data: f4([1, 2, 3]))
        expectClose(try NPY.decode(vector, as: Float.self), try tensor([3], [Float(1), 2, 3]), atol: 0, rtol: 0)
        let scalar = npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (), }\n", data: f4([4]))
        expectClose(try NPY.decode(scalar, as: Float.self), try tensor([], [Float(4)]), atol: 0, rtol: 0)
    }

    @Test func readsFloat16() throws {
        // 1.0, -2.0, 65504 (largest half), 2⁻²⁴ (smallest subnormal)
        let data = npyBytes(
            "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }\n",
            data: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00])
        expectClose(
            try NPY.decode(data, as: Double.self), try tensor([4], [1, -2, 65504, 0x1p-24]), atol: 0, rtol: 0)
    }

    // MARK: Malformed files

    static let malformed: [MalformedNPY] = [
        .init(name: "too short", bytes: Data([0x93, 0x4E, 0x55]), expected: "too short"),
        .init(name: "bad magic", bytes: Data(Array("PK\u{3}\u{4}NUMPY\u{1}\u{0}".utf8)), expected: "bad magic"),
        .init(name: "unknown version", bytes: npyBytes(valid, version: 4, data: f4([1, 2])), expected: "version 4.0"),
        .init(
            name: "header beyond file", bytes: npyBytes(valid, declaredLength: 500),
            expected: "header length 500 extends beyond the end"),
        .init(
            name: "v2 header beyond file", bytes: npyBytes(valid, version: 2, declaredLength: 0x7FFF_FFFF),
            expected: "extends beyond"),
        .init(
            name: "big-endian",
            bytes: npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: f4([1, 2])),
            expected: "big-endian dtype '>f4'"),
        .init(
            name: "int32",
            bytes: npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data: f4([1, 2])),
            expected: "unsupported dtype '<i4'"),
        .init(
            name: "int64",
            bytes: npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: f4([1, 2])),
            expected: "unsupported dtype '<i8'"),
        .init(
            name: "object array", bytes: npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"),
            expected: "object arrays"),
        .init(
            name: "structured dtype",
            bytes: npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"),
            expected: "structured"),
        .init(name: "header is a list", bytes: npyBytes("['descr', '<f4']"), expected: "not a dict"),
        .init(name: "header is garbage", bytes: npyBytes("hello world"), expected: "cannot parse the header"),
        .init(name: "unterminated string", bytes: npyBytes("{'descr: '<f4'}"), expected: "cannot parse"),
        .init(name: "unterminated dict", bytes: npyBytes("{'descr': '<f4', "), expected: "unexpected end"),
        .init(name: "text after dict", bytes: npyBytes(valid + " x"), expected: "after the header dict"),
        .init(
            name: "nesting too deep", bytes: npyBytes(String(repeating: "(", count: 10_000)),
            expected: "nesting too deep"),
        .init(
            name: "missing shape", bytes: npyBytes("{'descr': '<f4', 'fortran_order': False}"),
            expected: "no 'shape' key"),
        .init(
            name: "missing descr", bytes: npyBytes("{'fortran_order': False, 'shape': ()}"), expected: "no 'descr' key"),
        .init(
            name: "unexpected key", bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
            expected: "unexpected key 'x'"),
        .init(
            name: "duplicate key",
            bytes: npyBytes("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': ()}"),
            expected: "duplicate key 'descr'"),
        .init(
            name: "fortran_order not bool", bytes: npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"),
            expected: "'fortran_order' is not True or False"),
        .init(
            name: "shape is a list",
            bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", data: f4([1, 2])),
            expected: "'shape' is not a tuple"),
        .init(
            name: "negative dimension", bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"),
            expected: "non-negative"),
        .init(
            name: "float dimension", bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}"),
            expected: "found a float"),
        .init(
            name: "integer too large",
            bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
            expected: "integer too large"),
        .init(
            name: "element count overflows",
            bytes: npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2)}"),
            expected: "too many elements"),
        .init(
            name: "byte count overflows",
            bytes: npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}"),
            expected: "too many elements"),
        .init(
            name: "truncated data", bytes: npyBytes(valid, data: f4([1]) + [0, 0]),
            expected: "truncated: shape (2,) of '<f4' needs 8 bytes, found 6"),
        .init(
            name: "no data", bytes: npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 3, 224, 224), }"),
            expected: "truncated"),
        .init(
            name: "extra data", bytes: npyBytes(valid, data: f4([1, 2, 3])),
            expected: "byte count does not match the shape: 4 bytes follow"),
    ]

    @Test(arguments: malformed)
    func refusesMalformedFile(_ file: MalformedNPY) {
        #expect {
            let _: Tensor<Float> = try NPY.decode(file.bytes, source: "bad.npy")
        } throws: { error in
            guard let error = error as? FileFormatError else { return false }
            return error.file == "bad.npy" && error.description.hasPrefix("bad.npy: ")
                && error.problem.contains(file.expected)
        }
    }

    @Test func malformedFileOnDiskIsNamedInTheError() throws {
        let directory = try FixturePaths.temporaryDirectory("npy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("broken.npy")
        try npyBytes(Self.valid, data: f4([1])).write(to: url)
        let error = try #require(throws: FileFormatError.self) { try NPY.read(url, as: Float.self) }
        #expect(error.file == url.path)
        #expect(error.description.contains("broken.npy: data is truncated"))
    }

    @Test func missingFileIsAnError() throws {
        let url = URL(fileURLWithPath: "/nonexistent-leaflens/nothing.npy")
        let error = try #require(throws: FileFormatError.self) { try NPY.read(url, as: Float.self) }
        #expect(error.description == "/nonexistent-leaflens/nothing.npy: file does not exist")
    }

    // MARK: Atomic writes

    @Test func writeLeavesOnlyTheTargetAndReplacesIt() throws {
        let directory = try FixturePaths.temporaryDirectory("npy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.npy")
        try NPY.write(try tensor([2], [Float(1), 2]), to: url)
        try NPY.write(try tensor([3], [Double(4), 5, 6]), to: url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.npy"])
        expectClose(try NPY.read(url, as: Double.self), try tensor([3], [Double(4), 5, 6]), atol: 0, rtol: 0)
    }

    @Test func writeIntoMissingDirectoryThrowsAndCreatesNothing() throws {
        let parent = try FixturePaths.temporaryDirectory("npy")
        defer { try? FileManager.default.removeItem(at: parent) }
        let missing = parent.appendingPathComponent("does-not-exist")
        let error = try #require(throws: FileFormatError.self) {
            try NPY.write(Tensor<Float>(zeros: [2]), to: missing.appendingPathComponent("out.npy"))
        }
        #expect(error.file.hasSuffix("does-not-exist/out.npy"))
        #expect(!FileManager.default.fileExists(atPath: missing.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
    }
}
