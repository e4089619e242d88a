import Foundation

/// One finished (or failed) image of a data-set run: one JSON line in `records/shard-K-of-N.jsonl`.
///
/// Keys on disk are snake_case. `files` are relative to the run's output folder. A record with
/// `status == "failed"` carries `error` and no methods; the image is retried on the next run of its shard.
public struct ShardRecord: Codable, Sendable, Equatable {
    public struct Prediction: Codable, Sendable, Equatable {
        public var index: Int
        public var label: String
        public var probability: Double

        public init(index: Int, label: String, probability: Double) {
            self.index = index
            self.label = label
            self.probability = probability
        }
    }

    public struct MethodResult: Codable, Sendable, Equatable {
        /// Output files of this method, relative to the run's output folder.
        public var files: [String]
        /// The method's parameters as in its `<stem>.<method>.json` (snake_case keys).
        public var parameters: [String: JSONValue]
        /// Faithfulness metrics by key (`deletion_auc`, …), when computed.
        public var metrics: [String: Double]?
        /// Σ attributions − (F(x) − F(b)) (Integrated Gradients only).
        public var convergenceDelta: Double?
        public var seconds: Double

        public init(
            files: [String], parameters: [String: JSONValue] = [:], metrics: [String: Double]? = nil,
            convergenceDelta: Double? = nil, seconds: Double
        ) {
            self.files = files
            self.parameters = parameters
            self.metrics = metrics
            self.convergenceDelta = convergenceDelta
            self.seconds = seconds
        }
    }

    /// `ok`: explained; `failed`: could not be read or explained (retried by the next run); `ignored`: not an
    /// image (reported, never retried).
    public enum Status: String, Codable, Sendable { case ok, failed, ignored }

    /// The image's path relative to the data set root (`rust/leaf-0003.png`).
    public var input: String
    /// The true label (the ImageFolder class folder), when known.
    public var label: String?
    public var status: Status
    public var prediction: Prediction?
    /// The most probable classes, best first.
    public var top: [Prediction]?
    /// Per method (canonical method name).
    public var methods: [String: MethodResult]?
    /// Files of the image that belong to no single method (the panel and the HTML page of several methods),
    /// relative to the output folder.
    public var files: [String]?
    public var error: String?
    /// Wall time for the whole image.
    public var seconds: Double
    /// The shard that produced the record (`K/N`).
    public var shard: String

    public init(
        input: String, label: String?, status: Status, prediction: Prediction? = nil, top: [Prediction]? = nil,
        methods: [String: MethodResult]? = nil, files: [String]? = nil, error: String? = nil, seconds: Double,
        shard: String
    ) {
        self.input = input
        self.label = label
        self.status = status
        self.prediction = prediction
        self.top = top
        self.methods = methods
        self.files = files
        self.error = error
        self.seconds = seconds
        self.shard = shard
    }

    /// Every output file of the record (all methods, then the shared ones), relative to the output folder.
    public var allFiles: [String] {
        (methods ?? [:]).keys.sorted().flatMap { methods?[$0]?.files ?? [] } + (files ?? [])
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // As `ReportJSON`: a non-finite number (a diverged convergence delta) must not make a record unwritable.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }()

    /// The record as one line of JSON, without the newline.
    public func jsonLine() throws -> Data { try Self.encoder.encode(self) }

    public static func decode(line: Data) throws -> ShardRecord { try decoder.decode(ShardRecord.self, from: line) }
}

/// A JSON string, number, boolean, array or object of those (method parameters in records: `steps`,
/// `layer`, `window` [3, 15, 15], the nested `gradient_shap` and `noise_tunnel` settings, …).
public indirect enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): String(value)
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// The keys of an encodable struct (e.g. `MethodParameters`, whose method-specific settings nest) as
    /// JSON values, snake_case.
    public static func object<T: Encodable>(_ value: T) throws -> [String: JSONValue] {
        try ShardRecord.decoder.decode([String: JSONValue].self, from: ShardRecord.encoder.encode(value))
    }
}

/// The earlier name of `JSONValue` (scalars only).
public typealias JSONScalar = JSONValue
