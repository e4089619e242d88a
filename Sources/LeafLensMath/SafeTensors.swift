import Foundation

/// A safetensors file: named tensors plus a string → string metadata map.
///
/// Layout (https://github.com/huggingface/safetensors):
///
///     bytes 0..<8      N, the header length, unsigned 64-bit little-endian
///     bytes 8..<8+N    UTF-8 JSON object, padded with trailing spaces:
///                      {"fc.weight": {"dtype": "F32", "shape": [38, 512], "data_offsets": [0, 77824]},
///                       …, "__metadata__": {"labels": "[\"Apple___scab\", …]"}}
///     bytes 8+N…       the data buffer; `data_offsets` [begin, end) are relative to its start and
///                      hold product(shape) · size(dtype) bytes, little-endian, C order
///
/// Floating-point entries (F64, F32, F16, BF16) are readable as any `TensorScalar`; integer entries
/// (e.g. BatchNorm's `num_batches_tracked`, I64) are accepted but listed in `ignoredNames` only.
/// `decode` validates the whole header up front, so `tensor(_:as:)` fails only for names that are
/// missing or not floating-point. LeafLens stores class labels as a JSON array of strings under the
/// metadata key `labels` (see `labels()` / `setLabels(_:)`).
public struct SafeTensorsFile: Sendable {
    /// Element types of the safetensors format that LeafLens recognises.
    public enum DType: String, Sendable, CaseIterable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
        case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

        public var byteSize: Int {
            switch self {
            case .f64, .i64, .u64: 8
            case .f32, .i32, .u32: 4
            case .f16, .bf16, .i16, .u16: 2
            case .i8, .u8, .bool: 1
            }
        }

        public var isFloatingPoint: Bool { storedFloat != nil }

        var storedFloat: StoredFloat? {
            switch self {
            case .f64: .f64
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            default: nil
            }
        }
    }

    /// One tensor's header entry. `dataOffsets` is relative to the start of the data buffer.
    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        public let dataOffsets: Range<Int>
    }

    /// Headers longer than this are refused before anything is allocated for them.
    public static let maxHeaderBytes = 100_000_000
    /// Containers in a header nest at most this deep: the header object, a tensor's entry object, its
    /// `shape`/`data_offsets` arrays. Deeper headers are refused before their size can cost anything.
    public static let maxHeaderNesting = 3
    /// The metadata key under which LeafLens stores its class labels.
    public static let labelsKey = "labels"

    public var metadata: [String: String]
    public let entries: [String: Entry]
    /// Where the bytes came from, for error messages.
    public let source: String
    private let storage: Storage

    /// Where the data buffer's bytes are: in memory (`decode`), or in a mapped file (`read`), whose
    /// buffer starts `dataStart` bytes in.
    private enum Storage: Sendable {
        case memory(Data)
        case mapped(MappedFile, dataStart: Int)
    }

    /// Names of floating-point tensors, sorted.
    public var tensorNames: [String] { entries.filter { $0.value.dtype.isFloatingPoint }.keys.sorted() }
    /// Names of accepted but unused (integer) entries, sorted.
    public var ignoredNames: [String] { entries.filter { !$0.value.dtype.isFloatingPoint }.keys.sorted() }

    /// The tensor `name`, converted to `T`.
    public func tensor<T: TensorScalar>(_ name: String, as _: T.Type = T.self) throws(FileFormatError) -> Tensor<T> {
        guard let entry = entries[name] else {
            throw FileFormatError(file: source, problem: "missing tensor '\(name)' in file")
        }
        guard let stored = entry.dtype.storedFloat else {
            throw FileFormatError(
                file: source, problem: "tensor '\(name)' has integer dtype \(entry.dtype.rawValue) and is ignored")
        }
        let count = entry.dataOffsets.count / stored.byteSize
        let values: [T]
        switch storage {
        case .memory(let buffer):
            values = buffer.withUnsafeBytes { raw in
                stored.decode(raw, offset: entry.dataOffsets.lowerBound, count: count)
            }
        case .mapped(let file, let dataStart):
            let range = dataStart + entry.dataOffsets.lowerBound..<dataStart + entry.dataOffsets.upperBound
            values = try stored.decode(file, range, count: count)
        }
        do {
            return try Tensor(shape: entry.shape, storage: values)
        } catch {
            throw FileFormatError(file: source, problem: "tensor '\(name)': \(error.description)")
        }
    }

    // MARK: Labels

    /// The class labels stored under `labels` as a JSON array of strings; nil if there are none.
    public func labels() throws(FileFormatError) -> [String]? {
        guard let value = metadata[Self.labelsKey] else { return nil }
        return try Self.decodeLabels(value, source: source)
    }

    /// Stores `labels` under the `labels` metadata key (or removes the key for nil).
    public mutating func setLabels(_ labels: [String]?) {
        metadata[Self.labelsKey] = labels.map(Self.encodeLabels)
    }

    /// `labels` as the JSON array text stored in metadata, e.g. `["Apple___scab","Tomato (late, \"blight\")"]`.
    public static func encodeLabels(_ labels: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding an array of strings cannot fail; the fallback only avoids a force-try.
        return (try? encoder.encode(labels)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// Parses a metadata `labels` value; throws unless it is a JSON array of strings.
    public static func decodeLabels(_ value: String, source: String) throws(FileFormatError) -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(value.utf8))
        } catch {
            throw FileFormatError(file: source, problem: "metadata '\(labelsKey)' is not a JSON array of strings")
        }
    }

    // MARK: Reading

    /// Maps the file at `url` and validates its header; tensors are copied out of the mapping when asked
    /// for (`tensor(_:as:)`), and a file that changes under the mapping is refused then (`MappedFile`).
    public static func read(_ url: URL) throws(FileFormatError) -> SafeTensorsFile {
        let file = try MappedFile(url)
        let source = url.path
        let length = try headerLength(file.bytes(0..<Swift.min(8, file.count)), fileSize: file.count, source: source)
        let header = try file.bytes(8..<8 + length)
        return try assemble(
            header: header, bufferSize: file.count - 8 - length, storage: .mapped(file, dataStart: 8 + length),
            source: source)
    }

    /// Parses and validates safetensors bytes; `source` names them in errors.
    public static func decode(_ data: Data, source: String = "<memory>") throws(FileFormatError) -> SafeTensorsFile {
        let length = try headerLength(data.prefix(8), fileSize: data.count, source: source)
        let headerStart = data.startIndex + 8
        let buffer = data[(headerStart + length)...]
        return try assemble(
            header: data[headerStart..<headerStart + length], bufferSize: buffer.count, storage: .memory(buffer),
            source: source)
    }

    /// The header length stored in `prefix` (the file's first bytes, up to 8), checked against the limit
    /// and the file's size.
    private static func headerLength(_ prefix: Data, fileSize: Int, source: String) throws(FileFormatError) -> Int {
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: source, problem: problem) }
        guard prefix.count >= 8, fileSize >= 8 else {
            throw fail("file is \(fileSize) bytes, shorter than the 8-byte header length")
        }
        let headerLength = prefix.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw fail("header length \(headerLength) exceeds the \(maxHeaderBytes / 1_000_000) MB limit")
        }
        let length = Int(headerLength)  // ≤ 100 MB, so it fits
        guard length <= fileSize - 8 else {
            throw fail("header length \(length) extends beyond the end of the \(fileSize)-byte file")
        }
        return length
    }

    /// Validates the header's entries against a data buffer of `bufferSize` bytes held in `storage`.
    private static func assemble(
        header headerBytes: Data, bufferSize: Int, storage: Storage, source: String
    ) throws(FileFormatError) -> SafeTensorsFile {
        let header = try parseHeader(headerBytes, source: source)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for key in header.keys.sorted() {
            guard let value = header[key] else { continue }
            if key == "__metadata__" {
                metadata = try parseMetadata(value, source: source)
            } else {
                entries[key] = try parseEntry(key, value, bufferSize: bufferSize, source: source)
            }
        }
        try checkNoOverlap(entries, source: source)
        return SafeTensorsFile(metadata: metadata, entries: entries, source: source, storage: storage)
    }

    private static func parseHeader(_ bytes: Data, source: String) throws(FileFormatError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, maxDepth: maxHeaderNesting)
        } catch {
            throw FileFormatError(file: source, problem: "header is not valid JSON (\(error))")
        }
        guard case .object(let object) = value else {
            throw FileFormatError(file: source, problem: "header is not a JSON object")
        }
        return object
    }

    private static func parseMetadata(_ value: JSONValue, source: String) throws(FileFormatError) -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let object) = value else {
            throw FileFormatError(file: source, problem: "'__metadata__' is not a JSON object")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object {
            guard case .string(let text) = item else {
                throw FileFormatError(file: source, problem: "'__metadata__' value for '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(
        _ name: String, _ value: JSONValue, bufferSize: Int, source: String
    ) throws(FileFormatError) -> Entry {
        func fail(_ problem: String) -> FileFormatError {
            FileFormatError(file: source, problem: "tensor '\(name)' \(problem)")
        }
        guard case .object(let fields) = value else { throw fail("is not a JSON object") }
        guard let dtypeValue = fields["dtype"] else { throw fail("has no dtype") }
        guard let shapeValue = fields["shape"] else { throw fail("has no shape") }
        guard let offsetsValue = fields["data_offsets"] else { throw fail("has no data_offsets") }
        guard case .string(let dtypeName) = dtypeValue else { throw fail("has a dtype that is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail("has unknown dtype '\(dtypeName)'") }
        guard let shape = shapeValue.nonNegativeIntegers else {
            throw fail("has shape \(shapeValue) that is not an array of non-negative integers")
        }
        guard let offsets = offsetsValue.nonNegativeIntegers, offsets.count == 2 else {
            throw fail("has data_offsets \(offsetsValue) that are not two non-negative integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw fail("has data_offsets [\(begin), \(end)] with begin after end") }
        guard end <= bufferSize else {
            throw fail("has data_offsets [\(begin), \(end)] beyond the \(bufferSize)-byte data buffer")
        }
        guard let count = checkedElementCount(shape),
            case let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize), !overflow
        else { throw fail("has shape \(shape) with too many elements") }
        guard end - begin == needed else {
            throw fail(
                "has \(end - begin) bytes but dtype \(dtype.rawValue) and shape \(shape) need \(needed) bytes "
                    + "(byte count mismatch)")
        }
        return Entry(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Refuses two non-empty byte ranges that share a byte.
    private static func checkNoOverlap(_ entries: [String: Entry], source: String) throws(FileFormatError) {
        let ranges = entries.filter { !$0.value.dataOffsets.isEmpty }
            .sorted { ($0.value.dataOffsets.lowerBound, $0.key) < ($1.value.dataOffsets.lowerBound, $1.key) }
        for (previous, next) in zip(ranges, ranges.dropFirst())
        where next.value.dataOffsets.lowerBound < previous.value.dataOffsets.upperBound {
            let (a, b) = (previous.value.dataOffsets, next.value.dataOffsets)
            throw FileFormatError(
                file: source,
                problem: "tensor '\(next.key)' data_offsets [\(b.lowerBound), \(b.upperBound)] overlap tensor "
                    + "'\(previous.key)' [\(a.lowerBound), \(a.upperBound)]")
        }
    }

    // MARK: Writing

    /// Safetensors bytes for `tensors` stored as `dtype` (F32 by default; F16, BF16, F64 also
    /// writable), in sorted name order with contiguous offsets, header padded with spaces to a
    /// multiple of 8 bytes. F16/BF16 round to nearest even (BF16 via Float32); out-of-range values
    /// become ±infinity.
    public static func encode<T: TensorScalar>(
        _ tensors: [String: Tensor<T>], metadata: [String: String] = [:], dtype: DType = .f32,
        source: String = "<memory>"
    ) throws(FileFormatError) -> Data {
        guard let stored = dtype.storedFloat else {
            throw FileFormatError(file: source, problem: "cannot write dtype \(dtype.rawValue), only F64/F32/F16/BF16")
        }
        guard tensors["__metadata__"] == nil else {
            throw FileFormatError(file: source, problem: "'__metadata__' is reserved and cannot name a tensor")
        }
        var header: [String: JSONValue] = [:]
        var body = Data()
        for name in tensors.keys.sorted() {
            guard let tensor = tensors[name] else { continue }
            let begin = body.count
            stored.append(tensor.storage, to: &body)
            header[name] = .object([
                "dtype": .string(dtype.rawValue),
                "shape": .array(tensor.shape.map { .integer($0) }),
                "data_offsets": .array([.integer(begin), .integer(body.count)]),
            ])
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json: Data
        do {
            json = try encoder.encode(JSONValue.object(header))
        } catch {
            throw FileFormatError(file: source, problem: "cannot encode the header (\(error))")
        }
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * $0)) })
        data.append(json)
        data.append(body)
        return data
    }

    /// Writes `tensors` and `metadata` as a safetensors file, atomically (see `AtomicWrite`).
    public static func write<T: TensorScalar>(
        _ tensors: [String: Tensor<T>], metadata: [String: String] = [:], dtype: DType = .f32, to url: URL
    ) throws(FileFormatError) {
        try AtomicWrite.write(encode(tensors, metadata: metadata, dtype: dtype, source: url.path), to: url)
    }
}

// MARK: - Element codecs

/// Little-endian floating-point element encodings, shared by the safetensors and `.npy` codecs.
///
/// F16 is IEEE 754 binary16 (1 sign, 5 exponent bits with bias 15, 10 fraction bits);
/// BF16 is the upper 16 bits of an IEEE binary32.
enum StoredFloat: Sendable {
    case f16, bf16, f32, f64

    var byteSize: Int {
        switch self {
        case .f16, .bf16: 2
        case .f32: 4
        case .f64: 8
        }
    }

    var npyDescr: String {
        switch self {
        case .f16: "<f2"
        case .bf16: "<bf16"  // NumPy has no bfloat16; never written to .npy
        case .f32: "<f4"
        case .f64: "<f8"
        }
    }

    /// `count` elements starting `offset` bytes into `raw`; the caller has checked the range.
    func decode<T: TensorScalar>(_ raw: UnsafeRawBufferPointer, offset: Int, count: Int) -> [T] {
        func load<U: FixedWidthInteger>(_ i: Int, _: U.Type) -> U {
            U(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * MemoryLayout<U>.size, as: U.self))
        }
        switch self {
        case .f64:
            if Self.hostIsLittleEndian { return converted(copied(raw, offset: offset, count: count, as: Double.self)) }
            return converted((0..<count).map { Double(bitPattern: load($0, UInt64.self)) })
        case .f32:
            if Self.hostIsLittleEndian { return converted(copied(raw, offset: offset, count: count, as: Float.self)) }
            return converted((0..<count).map { Float(bitPattern: load($0, UInt32.self)) })
        case .f16:
            return converted((0..<count).map { halfToFloat(load($0, UInt16.self)) })
        case .bf16:
            return converted((0..<count).map { Float(bitPattern: UInt32(load($0, UInt16.self)) << 16) })
        }
    }

    /// Appends `values` in this encoding.
    func append<T: TensorScalar>(_ values: [T], to data: inout Data) {
        // Fast path: the stored layout is the host's own (Float as F32, Double as F64).
        if Self.hostIsLittleEndian, (self == .f32 && T.self == Float.self) || (self == .f64 && T.self == Double.self) {
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            return
        }
        var bytes = [UInt8](repeating: 0, count: values.count * byteSize)
        bytes.withUnsafeMutableBytes { raw in
            for (i, value) in values.enumerated() {
                let at = i * byteSize
                switch self {
                case .f64: raw.storeBytes(of: Double(value).bitPattern.littleEndian, toByteOffset: at, as: UInt64.self)
                case .f32: raw.storeBytes(of: Float(value).bitPattern.littleEndian, toByteOffset: at, as: UInt32.self)
                // Double → Float16 directly: one correctly rounded step, exact for Float input.
                case .f16:
                    raw.storeBytes(
                        of: Float16(Double(value)).bitPattern.littleEndian, toByteOffset: at, as: UInt16.self)
                case .bf16:
                    raw.storeBytes(of: floatToBFloat16(Float(value)).littleEndian, toByteOffset: at, as: UInt16.self)
                }
            }
        }
        data.append(contentsOf: bytes)
    }

    static var hostIsLittleEndian: Bool { 1.littleEndian == 1 }

    /// A bitwise copy of `count` elements; only valid when the stored layout is the host's.
    private func copied<U>(_ raw: UnsafeRawBufferPointer, offset: Int, count: Int, as _: U.Type) -> [U] {
        [U](unsafeUninitializedCapacity: count) { buffer, initialized in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count * MemoryLayout<U>.stride])
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            initialized = count
        }
    }

    /// `count` elements from `range` of a mapped file, copied once (straight into the result when the
    /// stored layout is the host's).
    func decode<T: TensorScalar>(_ file: MappedFile, _ range: Range<Int>, count: Int) throws(FileFormatError) -> [T] {
        let direct =
            Self.hostIsLittleEndian
            && ((self == .f32 && T.self == Float.self) || (self == .f64 && T.self == Double.self))
        var failure: FileFormatError?
        if direct {
            let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                initialized = 0
                guard let address = buffer.baseAddress else { return }
                do throws(FileFormatError) {
                    try file.copy(range, to: UnsafeMutableRawPointer(address))
                    initialized = count
                } catch { failure = error }
            }
            if let failure { throw failure }
            return values
        }
        let bytes = try file.bytes(range)
        return bytes.withUnsafeBytes { raw in decode(raw, offset: 0, count: count) }
    }

    private func converted<U: TensorScalar, T: TensorScalar>(_ values: [U]) -> [T] {
        // Not `values as? [T]`: that cast checks every element dynamically (230 ms for a ResNet18's 11 M).
        if U.self == T.self { return unsafeBitCast(values, to: [T].self) }  // safe: the same type
        return values.map { T($0) }
    }
}

/// IEEE binary16 → binary32, exactly (every half value is representable as a Float).
///
///     exponent 0:      ±0, or subnormal ±fraction · 2⁻²⁴
///     exponent 1…30:   ±1.fraction · 2^(exponent − 15), rebiased to 127 with the fraction shifted up 13 bits
///     exponent 31:     ±infinity (fraction 0) or NaN (payload kept in the top fraction bits)
func halfToFloat(_ bits: UInt16) -> Float {
    let sign = UInt32(bits >> 15) << 31
    let exponent = UInt32(bits >> 10) & 0x1F
    let fraction = UInt32(bits) & 0x3FF
    switch exponent {
    case 0:
        let magnitude = Float(fraction) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
    default:
        return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | fraction << 13)
    }
}

/// binary32 → bfloat16 with round-to-nearest-even; NaNs stay (quiet) NaNs.
func floatToBFloat16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
    return UInt16((bits &+ roundingBias) >> 16)
}
