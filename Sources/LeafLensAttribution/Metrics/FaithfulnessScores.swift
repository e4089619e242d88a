import Foundation

/// One method's faithfulness numbers for one image, stored under `"metrics"` in the method's JSON.
/// Metrics not asked for are nil and left out of the JSON.
public struct FaithfulnessScores: Codable, Sendable, Equatable {
    public var deletionAUC: Double?
    public var insertionAUC: Double?
    public var roadMoRF: Double?
    public var roadLeRF: Double?
    public var roadCombined: Double?
    public var infidelity: Double?
    public var sensitivityMax: Double?
    public var confidenceDrop: Double?
    public var confidenceIncrease: Double?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case deletionAUC = "deletion_auc"
        case insertionAUC = "insertion_auc"
        case roadMoRF = "road_morf"
        case roadLeRF = "road_lerf"
        case roadCombined = "road_combined"
        case infidelity
        case sensitivityMax = "sensitivity_max"
        case confidenceDrop = "confidence_drop"
        case confidenceIncrease = "confidence_increase"
    }

    /// Every JSON key, in a fixed order.
    public static let keys: [String] = CodingKeys.allCases.map(\.rawValue)

    /// The value under a JSON key (nil if not computed or unknown).
    public subscript(key: String) -> Double? {
        switch CodingKeys(rawValue: key) {
        case .deletionAUC: deletionAUC
        case .insertionAUC: insertionAUC
        case .roadMoRF: roadMoRF
        case .roadLeRF: roadLeRF
        case .roadCombined: roadCombined
        case .infidelity: infidelity
        case .sensitivityMax: sensitivityMax
        case .confidenceDrop: confidenceDrop
        case .confidenceIncrease: confidenceIncrease
        case nil: nil
        }
    }

    /// Whether a larger value means a more faithful (or robust) explanation, per key: deletion AUC,
    /// ROAD MoRF (a bigger drop when the top pixels go), infidelity, sensitivity and confidence drop
    /// are better low; insertion AUC, ROAD LeRF and combined, and confidence increase are better high.
    public static func higherIsBetter(_ key: String) -> Bool {
        ["insertion_auc", "road_lerf", "road_combined", "confidence_increase"].contains(key)
    }
}

/// The deletion and insertion curves of one method on one image: `<stem>.<method>.curves.json`.
public struct CausalCurves: Codable, Sendable, Equatable {
    public var method: String
    public var deletion: CausalCurve?
    public var insertion: CausalCurve?

    public init(method: String, deletion: CausalCurve? = nil, insertion: CausalCurve? = nil) {
        self.method = method
        self.deletion = deletion
        self.insertion = insertion
    }

    /// `<stem>.<method>.curves.json`.
    public static func fileName(stem: String, method: String) -> String { "\(stem).\(method).curves.json" }

    /// Pretty, key-sorted JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
