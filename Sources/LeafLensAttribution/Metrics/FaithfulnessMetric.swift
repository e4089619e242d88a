/// The per-image faithfulness metrics, by the names `--metrics` takes. `road` stands for the three ROAD
/// numbers and `confidence` for confidence drop and increase.
public enum FaithfulnessMetric: String, CaseIterable, Sendable, Codable {
    case deletion, insertion, road, infidelity, sensitivity, confidence

    /// Parses a comma-separated list (`"deletion,road"`, or `"all"`); blanks around names are ignored,
    /// duplicates collapse, and the result is in `allCases` order. Throws `MetricError.unknownMetric`.
    public static func parseList(_ text: String) throws(MetricError) -> [FaithfulnessMetric] {
        var chosen = Set<FaithfulnessMetric>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: " \t")
            if name == "all" { return allCases }
            guard let metric = FaithfulnessMetric(rawValue: name) else {
                throw .unknownMetric(name, available: allCases.map(\.rawValue))
            }
            chosen.insert(metric)
        }
        return allCases.filter(chosen.contains)
    }

    /// The JSON keys this metric fills in `FaithfulnessScores`.
    public var keys: [String] {
        switch self {
        case .deletion: ["deletion_auc"]
        case .insertion: ["insertion_auc"]
        case .road: ["road_morf", "road_lerf", "road_combined"]
        case .infidelity: ["infidelity"]
        case .sensitivity: ["sensitivity_max"]
        case .confidence: ["confidence_drop", "confidence_increase"]
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in blanks: String) -> String {
        var s = self[...]
        while let c = s.first, blanks.contains(c) { s = s.dropFirst() }
        while let c = s.last, blanks.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
