import Foundation

/// A JSON value decoded without loss: integers that fit `Int` stay exact, larger or fractional
/// numbers become `.number`, so converting a shape never traps.
///
/// Decoding goes through `JSONValue.parse(_:maxDepth:)`, a single left-to-right pass over the bytes
/// (time and memory linear in the input, recursion bounded by `maxDepth`). It replaced a `Decodable`
/// initialiser that probed Bool/Int/Double/String with `try?` at every level: each failed probe built a
/// `DecodingError` whose coding path costs O(depth), so a 1 KB header nested 500 deep took ~20 s.
/// Encoding still uses `Encodable` (LeafLens writes only flat headers).
indirect enum JSONValue: Encodable, Equatable, CustomStringConvertible {
    case null, bool(Bool), integer(Int), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an array of non-negative integers, if it is one.
    var nonNegativeIntegers: [Int]? {
        guard case .array(let items) = self else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .integer(let n) = item, n >= 0 else { return nil }
            result.append(n)
        }
        return result
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .object: "{…}"
        }
    }

    /// Why bytes are not acceptable JSON, with the byte offset where parsing stopped.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Parses one JSON document (RFC 8259) surrounded by optional whitespace.
    ///
    /// Containers may nest at most `maxDepth` deep (the top-level object or array is depth 1). Object
    /// keys must be unique: a repeated key would make the document mean two things.
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes, maxDepth: Int) throws(ParseError) -> JSONValue {
        var parser = JSONParser(bytes: Array(bytes), maxDepth: maxDepth)
        return try parser.document()
    }
}

/// The recursive-descent parser behind `JSONValue.parse`: every byte is looked at a bounded number of
/// times, so the cost is linear in the input.
private struct JSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var position = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func document() throws(JSONValue.ParseError) -> JSONValue {
        skipWhitespace()
        let value = try value(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected data after the JSON value") }
        return value
    }

    private func fail(_ reason: String) -> JSONValue.ParseError { .init(offset: position, reason: reason) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONValue.ParseError) {
        guard current == byte else {
            throw fail(current == nil ? "unexpected end, expected \(what)" : "expected \(what)")
        }
        position += 1
    }

    private mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard let byte = current else { throw fail("unexpected end, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    private mutating func enter(_ depth: Int) throws(JSONValue.ParseError) {
        guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
        position += 1  // the opening bracket
        skipWhitespace()
    }

    private mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        try enter(depth)
        var result: [String: JSONValue] = [:]
        if current == UInt8(ascii: "}") { position += 1; return .object(result) }
        while true {
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = position
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            let item = try value(depth: depth)
            guard result.updateValue(item, forKey: key) == nil else {
                throw JSONValue.ParseError(offset: keyStart, reason: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; skipWhitespace(); continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(result)
        }
    }

    private mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        try enter(depth)
        var result: [JSONValue] = []
        if current == UInt8(ascii: "]") { position += 1; return .array(result) }
        while true {
            result.append(try value(depth: depth))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; skipWhitespace(); continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(result)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let text = word.withUTF8Buffer { Array($0) }
        guard bytes.count - position >= text.count, bytes[position..<position + text.count].elementsEqual(text) else {
            throw fail("unexpected character")
        }
        position += text.count
    }

    /// A number: the JSON grammar checked byte by byte; integers that fit `Int` stay exact.
    private mutating func number() throws(JSONValue.ParseError) -> JSONValue {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.position
            while let b = parser.current, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { parser.position += 1 }
            return parser.position - from
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let intStart = position
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw fail("invalid number") }
        if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") { throw fail("invalid number (leading zero)") }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw fail("invalid number") }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw fail("invalid number") }
            isInteger = false
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text) else { throw JSONValue.ParseError(offset: start, reason: "invalid number") }
        return .number(value)
    }

    /// A string: escapes decoded (surrogate pairs joined), raw control characters and invalid UTF-8 refused.
    private mutating func string() throws(JSONValue.ParseError) -> String {
        position += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun(
            _ parser: JSONParser, _ scalars: inout String.UnicodeScalarView, upTo end: Int
        ) throws(JSONValue.ParseError) {
            guard runStart < end else { return }
            guard let text = String(validating: parser.bytes[runStart..<end], as: UTF8.self) else {
                throw JSONValue.ParseError(offset: runStart, reason: "invalid UTF-8 in a string")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while true {
            guard let byte = current else { throw fail("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(self, &scalars, upTo: position)
                position += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flushRun(self, &scalars, upTo: position)
                position += 1
                scalars.append(try escape())
                runStart = position
            case 0..<0x20:
                throw fail("control character in a string")
            default:
                position += 1
            }
        }
    }

    private mutating func escape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        guard let byte = current else { throw fail("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try hex4()
            if (0xD800..<0xDC00).contains(high) {
                guard current == UInt8(ascii: "\\") else { throw fail("unpaired surrogate in a string") }
                position += 1
                guard current == UInt8(ascii: "u") else { throw fail("unpaired surrogate in a string") }
                position += 1
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in a string") }
                guard let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) else {
                    throw fail("invalid surrogate pair in a string")
                }
                return scalar
            }
            guard let scalar = Unicode.Scalar(high) else { throw fail("unpaired surrogate in a string") }
            return scalar
        default:
            throw fail("invalid escape in a string")
        }
    }

    private mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw fail("unterminated string") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
