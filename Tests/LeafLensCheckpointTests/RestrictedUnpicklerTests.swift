import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensCheckpoint

/// The restricted unpickler on hand-written pickles: the accepted subset decodes to the right values,
/// everything else is refused with the opcode or name, and mutated real pickles never trap.
@Suite struct RestrictedUnpicklerTests {
    static let storage = StorageReference(key: "0", dtype: .float32, elementCount: 12, location: "cpu")

    func unpickle(
        _ bytes: [UInt8], limits: CheckpointLimits = .default,
        storage: StorageReference = RestrictedUnpicklerTests.storage
    ) throws(CheckpointError) -> PickleValue {
        var unpickler = RestrictedUnpickler(bytes: bytes, source: "test", limits: limits) { _ throws(CheckpointError) in
            storage
        }
        return try unpickler.load()
    }

    func text(_ s: String) -> [UInt8] {
        [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8)
    }

    @Test func scalarsStringsAndContainers() throws {
        // {'a': [1, -2, 300, 70000, 2**40], 'b': (True, None, 1.5), 'c': b'xy', 'd': 'é'} at protocol 2
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
        p += text("a") + [0x5D, 0x28, 0x4B, 1, 0x4A] + withUnsafeBytes(of: Int32(-2).littleEndian, Array.init)
        p += [0x4D, 0x2C, 0x01, 0x4A] + withUnsafeBytes(of: Int32(70000).littleEndian, Array.init)
        p += [0x8A, 6, 0, 0, 0, 0, 0, 1, 0x65]
        p +=
            text("b") + [0x88, 0x4E, 0x47] + withUnsafeBytes(of: (1.5 as Double).bitPattern.bigEndian, Array.init) + [
                0x87
            ]
        p += text("c") + [0x43, 2, 0x78, 0x79]
        p += text("d") + [0x8C, 2, 0xC3, 0xA9]
        p += [0x75, 0x2E]
        guard case .dict(let d) = try unpickle(p) else { Issue.record("not a dict"); return }
        #expect(d.stringKeys == ["a", "b", "c", "d"])
        #expect(d["a"]?.sequenceItems?.compactMap(\.intValue) == [1, -2, 300, 70000, 1 << 40])
        let b = d["b"]?.sequenceItems ?? []
        #expect(b.count == 3)
        if case .float(let f)? = b.last { #expect(f == 1.5) } else { Issue.record("no float") }
        if case .bytes(let bytes)? = d["c"] { #expect(bytes == [0x78, 0x79]) } else { Issue.record("no bytes") }
        #expect(d["d"]?.stringValue == "é")
    }

    @Test func memoSharesOneContainer() throws {
        // l = []; [l, l] via BINPUT/BINGET — both items are the same box.
        let p: [UInt8] = [0x80, 0x02, 0x5D, 0x28, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x65, 0x2E]
        let items = try unpickle(p).sequenceItems ?? []
        guard items.count == 2, case .list(let a) = items[0], case .list(let b) = items[1] else {
            Issue.record("shape"); return
        }
        #expect(a === b)
    }

    @Test func rebuildTensorAndParameter() throws {
        // _rebuild_parameter(_rebuild_tensor_v2(pid, 2, (2, 3), (1, 2), False, OrderedDict()), True, OrderedDict())
        var p: [UInt8] = [0x80, 0x02]
        p += Array("ctorch._utils\n_rebuild_parameter\n".utf8)
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8)
        p +=
            [0x28, 0x28] + text("storage") + Array("ctorch\nFloatStorage\n".utf8) + text("0") + text("cpu") + [
                0x4B, 12, 0x74, 0x51,
            ]
        p += [0x4B, 2, 0x4B, 2, 0x4B, 3, 0x86, 0x4B, 1, 0x4B, 2, 0x86, 0x89]
        p += Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x74, 0x52]
        p += [0x88] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x87, 0x52, 0x2E]
        guard case .tensor(let t) = try unpickle(p) else { Issue.record("not a tensor"); return }
        #expect(t.shape == [2, 3] && t.strides == [1, 2] && t.storageOffset == 2 && t.isParameter)
        #expect(!t.isContiguous)
    }

    @Test func viewsBeyondTheirStorageAreRefused() {
        // 10^12 elements on a 12-element storage; and an offset past the end.
        for (shape, strides, offset) in [
            ([1_000_000, 1_000_000], [1_000_000, 1], 0), ([4], [1], 9), ([3, 5], [5, 1], 0),
        ] {
            let result = TensorReference.validated(
                storage: Self.storage, offset: offset, shape: shape, strides: strides, isParameter: false)
            if case .success = result { Issue.record("accepted \(shape) \(strides) +\(offset)") }
        }
        let fits = TensorReference.validated(
            storage: Self.storage, offset: 2, shape: [2, 5], strides: [5, 1], isParameter: false)
        if case .failure(let problem) = fits { Issue.record("refused a fitting view: \(problem.message)") }
    }

    @Test(
        arguments: [
            ([0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x2E], CheckpointError.Kind.forbiddenGlobal),
            ([0x80, 0x02] + Array("csubprocess\nPopen\n".utf8) + [0x2E], .forbiddenGlobal),
            ([0x80, 0x02] + Array("c__builtin__\ngetattr\n".utf8) + [0x2E], .forbiddenGlobal),
            ([0x80, 0x02] + Array("cos.path\njoin\n".utf8) + [0x2E], .forbiddenGlobal),
            ([0x80, 0x02] + Array("cnumpy\nload\n".utf8) + [0x29, 0x52, 0x2E], .forbiddenCall),
            ([0x80, 0x02, 0x28, 0x69] + Array("os\nsystem\n".utf8) + [0x2E], .unsupportedOpcode),
            ([0x80, 0x02, 0x49] + Array("1\n".utf8) + [0x2E], .unsupportedOpcode),
            ([0x80, 0x02, 0x82, 0x01, 0x2E], .unsupportedOpcode),
            ([0x80, 0x06, 0x4E, 0x2E], .unsupportedOpcode),
            ([0x80, 0x02, 0x30, 0x2E], .malformedPickle),
            ([0x80, 0x02, 0x68, 0x05, 0x2E], .malformedPickle),
            ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x41], .malformedPickle),
            ([0x80, 0x02, 0x4E], .malformedPickle),
            ([0x80, 0x02, 0x4B, 0x01, 0x4B, 0x01, 0x61, 0x2E], .forbiddenCall),
            ([0x80, 0x02, 0x7D, 0x71, 0x00, 0x4B, 0x01, 0x68, 0x00, 0x73, 0x2E], .tooDeep),
            ([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], .tooDeep),
            ([0x80, 0x02] + [UInt8](repeating: 0x28, count: 500) + [0x2E], .tooDeep),
            ([0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 500) + [0x2E], .tooDeep),
        ] as [([UInt8], CheckpointError.Kind)])
    func refused(_ pickle: [UInt8], _ kind: CheckpointError.Kind) {
        let error = #expect(throws: CheckpointError.self) { _ = try unpickle(pickle) }
        #expect(error?.kind == kind, "\(error?.description ?? "")")
    }

    /// The real data.pkl of a whole pickled ResNet, mutated at random (bypassing the zip CRC): errors only.
    @Test func mutatedRealPicklesNeverTrap() throws {
        let archive = try TorchArchive(
            data: try Data(contentsOf: CheckpointFixtures.url("whole_model.pth")), source: "w", limits: .default)
        let pickle = try archive.pickleBytes()
        let large = StorageReference(key: "0", dtype: .float32, elementCount: 1 << 20, location: "cpu")
        _ = try unpickle(pickle, storage: large)  // the unmutated stream decodes
        var state: UInt64 = 99
        for round in 0..<400 {
            var copy = pickle
            for _ in 0..<(1 + round % 5) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                copy[Int(state >> 33) % copy.count] = UInt8(truncatingIfNeeded: state >> 17)
            }
            _ = try? unpickle(copy, limits: CheckpointLimits(maxDepth: 64), storage: large)
        }
    }
}
