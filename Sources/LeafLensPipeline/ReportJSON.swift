import Foundation

/// The one JSON encoder for everything LeafLens writes or prints as JSON: report structs use camelCase
/// properties and appear on disk with snake_case keys (`wallTimeSeconds` → `wall_time_seconds`),
/// sorted, slashes unescaped, non-finite numbers as the strings "inf", "-inf", "nan".
public enum ReportJSON {
    /// `.line`: one compact line (stdout, `metrics.json`); `.document`: indented, ending in a newline
    /// (`<stem>.<method>.json`).
    public enum Layout: Sendable { case line, document }

    public static func encoder(_ layout: Layout) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            layout == .line
            ? [.sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// `value` as one line of JSON (no trailing newline).
    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder(.line).encode(value), as: UTF8.self)
    }

    /// `value` as an indented JSON document with a trailing newline.
    public static func document<T: Encodable>(_ value: T) throws -> Data {
        var data = try encoder(.document).encode(value)
        data.append(0x0A)
        return data
    }
}
