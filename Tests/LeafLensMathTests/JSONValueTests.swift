import Foundation
import Testing

@testable import LeafLensMath

/// The safetensors header parser: RFC 8259 values, a nesting limit, unique keys.
@Suite struct JSONValueTests {
    private func parse(_ text: String, maxDepth: Int = 3) throws(JSONValue.ParseError) -> JSONValue {
        try JSONValue.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(
            #" { "a": [1, -0, 2.5, -1e3, 9223372036854775807, 9223372036854775808, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83c\udf3f" } "#,
            maxDepth: 2)
        let expected: JSONValue = .object([
            "a": .array([
                .integer(1), .integer(0), .number(2.5), .number(-1000), .integer(Int.max), .number(9223372036854775808),
                .bool(true), .bool(false), .null,
            ]),
            "s": .string("x\"\\/\u{08}\u{0C}\n\r\t\u{e9}\u{1F33F}"),
        ])
        #expect(value == expected)
        #expect(try parse("\"caf\u{e9} 🌿\"") == .string("café 🌿"))
        #expect(try parse("{}") == .object([:]))
        #expect(try parse("[ ]") == .array([]))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var text: String
        var reason: String
        var testDescription: String { text.count > 40 ? String(text.prefix(40)) + "…" : text }
    }

    static let refusals: [Refusal] = [
        .init(text: "", reason: "unexpected end"),
        .init(text: "{", reason: "expected a string key"),
        .init(text: "{\"a\" 1}", reason: "expected ':'"),
        .init(text: "{\"a\": 1,}", reason: "expected a string key"),
        .init(text: "[1 2]", reason: "expected ',' or ']'"),
        .init(text: "[1,]", reason: "unexpected character"),
        .init(text: "01", reason: "leading zero"),
        .init(text: "1.", reason: "invalid number"),
        .init(text: "-", reason: "invalid number"),
        .init(text: "1e", reason: "invalid number"),
        .init(text: "tru", reason: "unexpected character"),
        .init(text: "\"abc", reason: "unterminated string"),
        .init(text: "\"a\u{01}b\"", reason: "control character"),
        .init(text: "\"\\x\"", reason: "invalid escape"),
        .init(text: "\"\\u12G4\"", reason: "invalid \\u escape"),
        .init(text: "\"\\ud800\"", reason: "unpaired surrogate"),
        .init(text: "\"\\udc00\"", reason: "unpaired surrogate"),
        .init(text: "{\"a\": 1, \"a\": 2}", reason: "duplicate key \"a\" at byte 9"),
        .init(text: "{} x", reason: "unexpected data after the JSON value at byte 3"),
        .init(text: "[[[[1]]]]", reason: "nesting deeper than 3 levels at byte 3"),
    ]

    @Test(arguments: refusals)
    func refuses(_ refusal: Refusal) {
        #expect {
            _ = try parse(refusal.text)
        } throws: { error in
            (error as? JSONValue.ParseError)?.description.contains(refusal.reason) == true
        }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONValue.ParseError(offset: 1, reason: "invalid UTF-8 in a string")) {
            try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22], maxDepth: 1)
        }
    }

    /// Regression (issue 10 #1): `{"a": [[[…]]]}` nested 400 deep took 7 s in the old `Decodable`
    /// initialiser (and 100,000 deep could exhaust the stack); the limit refuses it at the 4th bracket.
    @Test func refusesDeepNestingAtTheLimit() {
        let deep = "{\"a\": " + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}"
        #expect(throws: JSONValue.ParseError(offset: 8, reason: "nesting deeper than 3 levels")) { try parse(deep) }
        let deeper = String(repeating: "[", count: 100_000)
        #expect(throws: JSONValue.ParseError(offset: 3, reason: "nesting deeper than 3 levels")) { try parse(deeper) }
    }
}
