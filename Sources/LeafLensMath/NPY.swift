import Foundation

/// NumPy `.npy` files holding one little-endian floating-point array.
///
/// Layout (NumPy format versions 1.0, 2.0 and 3.0):
///
///     bytes 0..<6   magic "\x93NUMPY"
///     bytes 6, 7    major, minor version
///     v1.0          2-byte little-endian header length H, header starts at byte 10
///     v2.0 / v3.0   4-byte little-endian header length H, header starts at byte 12
///     H bytes       a Python dict literal, padded with spaces and ending in "\n":
///                   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }
///     data          product(shape) elements, C order (last axis fastest), or Fortran order
///                   (first axis fastest) when 'fortran_order' is True
///
/// Reading accepts `'<f2'`, `'<f4'` and `'<f8'` and converts to the requested scalar; Fortran-order
/// data is transposed into C order. Everything else (big-endian, integers, objects, structured
/// dtypes, truncated or oversized data) throws a `FileFormatError` naming the file and the problem.
///
/// Writing stores `Double` as `'<f8'` and any other scalar (i.e. `Float`) as `'<f4'`, in C order,
/// format 1.0 (2.0 only if the header were longer than 65535 bytes), data aligned to 64 bytes.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads an `.npy` file, converting from the stored dtype to `T`.
    public static func read<T: TensorScalar>(_ url: URL, as _: T.Type = T.self) throws(FileFormatError) -> Tensor<T> {
        try decode(readFileData(url), source: url.path)
    }

    /// Decodes `.npy` bytes; `source` names them in errors.
    public static func decode<T: TensorScalar>(
        _ data: Data, source: String = "<memory>", as _: T.Type = T.self
    ) throws(FileFormatError) -> Tensor<T> {
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: source, problem: problem) }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10 else {
            throw fail("file is \(data.count) bytes, too short to be an .npy file")
        }
        guard Array(bytes[0..<6]) == magic else {
            throw fail("not an .npy file (bad magic bytes, expected \\x93NUMPY)")
        }
        let major = bytes[6], minor = bytes[7]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else {
                throw fail("file is \(data.count) bytes, too short for a version \(major).\(minor) header")
            }
            headerStart = 12
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        default:
            throw fail("unsupported .npy format version \(major).\(minor)")
        }
        guard headerLength <= data.count - headerStart else {
            throw fail("header length \(headerLength) extends beyond the end of the \(data.count)-byte file")
        }
        let headerBytes = [UInt8](data.dropFirst(headerStart).prefix(headerLength))
        let header = try NPYHeader(parsing: headerBytes, source: source)

        let dataStart = headerStart + headerLength
        let available = data.count - dataStart
        guard let count = checkedElementCount(header.shape),
            case let (needed, overflow) = count.multipliedReportingOverflow(by: header.dtype.byteSize), !overflow
        else {
            throw fail("shape \(header.shapeText) has too many elements")
        }
        guard available >= needed else {
            throw fail(
                "data is truncated: shape \(header.shapeText) of '\(header.descr)' needs \(needed) bytes, "
                    + "found \(available)")
        }
        guard available == needed else {
            throw fail(
                "byte count does not match the shape: \(available - needed) bytes follow the \(needed) bytes "
                    + "that shape \(header.shapeText) of '\(header.descr)' needs")
        }
        var values: [T] = data.withUnsafeBytes { raw in
            header.dtype.decode(raw, offset: dataStart, count: count)
        }
        if header.fortranOrder {
            values = fortranToC(values, shape: header.shape)
        }
        do {
            return try Tensor(shape: header.shape, storage: values)
        } catch {
            throw fail(error.description)
        }
    }

    /// The `.npy` bytes of `tensor`: `'<f8'` for `Double`, `'<f4'` otherwise; C order.
    public static func encode<T: TensorScalar>(_ tensor: Tensor<T>) -> Data {
        let dtype: StoredFloat = T.self == Double.self ? .f64 : .f32
        let shapeText = pythonTuple(tensor.shape)
        let dict = "{'descr': '\(dtype.npyDescr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that magic + version + length + header + "\n" is a multiple of 64.
        var version: UInt8 = 1
        var prefix = 10
        var length = dict.utf8.count + 1
        length += (64 - (prefix + length) % 64) % 64
        if length > Int(UInt16.max) {
            version = 2
            prefix = 12
            length = dict.utf8.count + 1
            length += (64 - (prefix + length) % 64) % 64
        }
        var data = Data(magic)
        data.append(contentsOf: [version, 0])
        let lengthBytes = version == 1 ? 2 : 4
        data.append(contentsOf: (0..<lengthBytes).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) })
        data.append(contentsOf: Array(dict.utf8))
        data.append(contentsOf: [UInt8](repeating: 0x20, count: length - dict.utf8.count - 1))
        data.append(0x0A)
        dtype.append(tensor.storage, to: &data)
        return data
    }

    /// Writes `tensor` as an `.npy` file, atomically (see `AtomicWrite`).
    public static func write<T: TensorScalar>(_ tensor: Tensor<T>, to url: URL) throws(FileFormatError) {
        try AtomicWrite.write(encode(tensor), to: url)
    }

    /// `()`, `(3,)`, `(1, 3, 224, 224)` — Python's spelling of a shape tuple.
    static func pythonTuple(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// Reorders Fortran-order values (first axis fastest) into C order (last axis fastest).
    ///
    /// Element (i₀, …, iₙ₋₁) sits at Fortran offset Σ iₖ·Fₖ with F₀ = 1, Fₖ = Fₖ₋₁·shape[k−1];
    /// walking the C-order indices with an odometer keeps that offset up to date incrementally.
    static func fortranToC<T>(_ values: [T], shape: [Int]) -> [T] {
        guard shape.count > 1, !values.isEmpty else { return values }
        var strides = [Int](repeating: 1, count: shape.count)
        for k in 1..<shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        var offset = 0
        var result: [T] = []
        result.reserveCapacity(values.count)
        for _ in 0..<values.count {
            result.append(values[offset])
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < shape[axis] { break }
                offset -= shape[axis] * strides[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}

/// Reads a whole regular file, turning I/O failures into `FileFormatError` in the OS's words
/// (see `FileAccess.readRegularFile`).
func readFileData(_ url: URL) throws(FileFormatError) -> Data {
    try FileAccess.readRegularFile(url)
}

/// The product of `shape`, or nil if a dimension is negative or the product overflows `Int`.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dim in shape {
        guard dim >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// The three keys of an `.npy` header dict, validated.
struct NPYHeader {
    var descr: String
    var dtype: StoredFloat
    var fortranOrder: Bool
    var shape: [Int]
    var shapeText: String { NPY.pythonTuple(shape) }

    init(parsing bytes: [UInt8], source: String) throws(FileFormatError) {
        func fail(_ problem: String) -> FileFormatError { FileFormatError(file: source, problem: problem) }
        var parser = PythonLiteralParser(bytes: bytes, source: source)
        guard case .dict(let dict) = try parser.parseDocument() else {
            throw fail("header is not a dict literal")
        }
        for key in dict.keys.sorted() where !["descr", "fortran_order", "shape"].contains(key) {
            throw fail("header has unexpected key '\(key)'")
        }
        guard let descrValue = dict["descr"] else { throw fail("header has no 'descr' key") }
        guard let orderValue = dict["fortran_order"] else { throw fail("header has no 'fortran_order' key") }
        guard let shapeValue = dict["shape"] else { throw fail("header has no 'shape' key") }

        guard case .string(let descr) = descrValue else {
            throw fail("'descr' is not a dtype string (structured dtypes are not supported)")
        }
        self.descr = descr
        switch descr {
        case "<f2": dtype = .f16
        case "<f4": dtype = .f32
        case "<f8": dtype = .f64
        default:
            if descr.hasPrefix(">") {
                throw fail("big-endian dtype '\(descr)' is not supported (save as little-endian '<f4' or '<f8')")
            }
            if descr.hasSuffix("O") {
                throw fail("object arrays ('\(descr)') are not supported")
            }
            throw fail("unsupported dtype '\(descr)' (readable: '<f2', '<f4', '<f8')")
        }
        guard case .boolean(let fortran) = orderValue else { throw fail("'fortran_order' is not True or False") }
        fortranOrder = fortran
        guard case .tuple(let dims) = shapeValue else { throw fail("'shape' is not a tuple") }
        var shape: [Int] = []
        for dim in dims {
            guard case .integer(let n) = dim, n >= 0 else {
                throw fail("'shape' must be a tuple of non-negative integers")
            }
            shape.append(n)
        }
        self.shape = shape
    }
}

/// The subset of Python literals that `.npy` headers use.
enum PythonLiteral: Equatable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([String: PythonLiteral])
}

/// A small recursive-descent parser for `PythonLiteral`s:
///
///     value := string | integer | True | False | None | tuple | list | dict
///     tuple := "(" [value ("," value)* [","]] ")"      list := "[" … "]"   (same, in brackets)
///     dict  := "{" [string ":" value ("," string ":" value)* [","]] "}"
///
/// Strings use single or double quotes; integers may carry Python 2's `L` suffix. Nesting is limited
/// so hostile headers cannot exhaust the stack.
struct PythonLiteralParser {
    let bytes: [UInt8]
    let source: String
    var position = 0
    static let maxDepth = 16

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    mutating func parseDocument() throws(FileFormatError) -> PythonLiteral {
        let value = try parseValue(depth: 0)
        skipSpace()
        guard position == bytes.count else { throw failure("unexpected text after the header dict") }
        return value
    }

    private func failure(_ what: String) -> FileFormatError {
        FileFormatError(file: source, problem: "cannot parse the header: \(what) at byte \(position)")
    }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
    }

    private mutating func parseValue(depth: Int) throws(FileFormatError) -> PythonLiteral {
        guard depth < Self.maxDepth else { throw failure("nesting too deep") }
        skipSpace()
        guard position < bytes.count else { throw failure("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "("):
            return .tuple(try parseSequence(close: UInt8(ascii: ")"), depth: depth))
        case UInt8(ascii: "["):
            return .list(try parseSequence(close: UInt8(ascii: "]"), depth: depth))
        case UInt8(ascii: "{"): return try parseDict(depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try parseInteger())
        default:
            var end = position
            while end < bytes.count, isIdentifierByte(bytes[end]) { end += 1 }
            let word = String(decoding: bytes[position..<end], as: UTF8.self)
            switch word {
            case "True": position = end; return .boolean(true)
            case "False": position = end; return .boolean(false)
            case "None": position = end; return .none
            case "": throw failure("unexpected character '\(Unicode.Scalar(bytes[position]))'")
            default: throw failure("unexpected '\(word)'")
            }
        }
    }

    private func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
    }

    private mutating func parseString() throws(FileFormatError) -> String {
        let quote = bytes[position]
        position += 1
        var content: [UInt8] = []
        while position < bytes.count, bytes[position] != quote {
            if bytes[position] == UInt8(ascii: "\\") { position += 1 }  // keep the escaped byte as-is
            guard position < bytes.count else { break }
            content.append(bytes[position])
            position += 1
        }
        guard position < bytes.count else { throw failure("unterminated string") }
        position += 1
        return String(decoding: content, as: UTF8.self)
    }

    private mutating func parseInteger() throws(FileFormatError) -> Int {
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        var value = 0
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(bytes[position] - 0x30))
            guard !o1, !o2 else { throw failure("integer too large") }
            value = sum
            position += 1
        }
        guard position > start else { throw failure("expected digits") }
        if position < bytes.count, bytes[position] == UInt8(ascii: "L") { position += 1 }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw failure("expected an integer, found a float")
        }
        return negative ? -value : value
    }

    /// Items up to `close`; the opening bracket is at `position`.
    private mutating func parseSequence(close: UInt8, depth: Int) throws(FileFormatError) -> [PythonLiteral] {
        position += 1
        var items: [PythonLiteral] = []
        while true {
            skipSpace()
            if position < bytes.count, bytes[position] == close { position += 1; return items }
            items.append(try parseValue(depth: depth + 1))
            skipSpace()
            guard position < bytes.count else { throw failure("unexpected end") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] != close {
                throw failure("expected ',' or '\(Unicode.Scalar(close))'")
            }
        }
    }

    private mutating func parseDict(depth: Int) throws(FileFormatError) -> PythonLiteral {
        position += 1
        var dict: [String: PythonLiteral] = [:]
        while true {
            skipSpace()
            guard position < bytes.count else { throw failure("unexpected end") }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .dict(dict) }
            guard bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") else {
                throw failure("dict keys must be strings")
            }
            let key = try parseString()
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            guard dict[key] == nil else { throw failure("duplicate key '\(key)'") }
            dict[key] = try parseValue(depth: depth + 1)
            skipSpace()
            guard position < bytes.count else { throw failure("unexpected end") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] != UInt8(ascii: "}") {
                throw failure("expected ',' or '}'")
            }
        }
    }
}
