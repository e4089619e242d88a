import Foundation
import LeafLensMath

/// Which classes to explain, before the model has run: a class index, a label name, or the K most
/// probable classes of each image (`top:K`). Pure functions over the labels list; no model needed
/// except for `top:K`, which ranks each example's outputs.
public enum TargetRequest: Sendable, Equatable {
    /// The same class for every example.
    case index(Int)
    /// The K highest outputs of each example, highest first (ties: lower index first).
    case top(Int)

    /// Parses a target spec: `top:K`, a class index (`12`), or a label name (`Tomato___Early_blight`).
    /// Names match exactly, else case-insensitively if exactly one label matches.
    public static func parse(_ text: String, labels: [String]) throws(TargetError) -> TargetRequest {
        let spec = text.trimmingCharacters(in: .whitespaces)
        if spec.lowercased().hasPrefix("top:") {
            guard let k = Int(spec.dropFirst(4)), k >= 1, k <= labels.count else {
                throw .invalidTopK(String(spec.dropFirst(4)), classCount: labels.count)
            }
            return .top(k)
        }
        return .index(try ClassLabels.resolve(spec, labels: labels))
    }

    /// The classes to explain for each example (`[N][k]`), from the model's outputs `[N, K]`.
    public func classes<Scalar: TensorScalar>(outputs: Tensor<Scalar>) throws(TargetError) -> [[Int]] {
        guard outputs.rank == 2 else { throw .badOutputs(outputs.shape) }
        let (batch, k) = (outputs.shape[0], outputs.shape[1])
        switch self {
        case .index(let t):
            guard (0..<k).contains(t) else { throw .indexOutOfRange(t, classCount: k) }
            return Array(repeating: [t], count: batch)
        case .top(let count):
            guard count >= 1, count <= k else { throw .invalidTopK(String(count), classCount: k) }
            return (0..<batch).map { n in ClassLabels.topClasses(Array(outputs.storage[n * k..<(n + 1) * k]), count) }
        }
    }
}

public enum ClassLabels {
    /// The class index for a spec that is an index (`0..<labels.count`) or a label name: exact match
    /// first, then a unique case-insensitive match. Throws `TargetError.unknownLabel` with the
    /// labels that contain the spec (case-insensitively) as suggestions.
    public static func resolve(_ spec: String, labels: [String]) throws(TargetError) -> Int {
        let text = spec.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw .emptyTarget }
        if let index = Int(text) {
            guard (0..<labels.count).contains(index) else { throw .indexOutOfRange(index, classCount: labels.count) }
            return index
        }
        if let exact = labels.firstIndex(of: text) { return exact }
        let folded = text.lowercased()
        let matches = labels.indices.filter { labels[$0].lowercased() == folded }
        if matches.count == 1 { return matches[0] }
        let suggestions = labels.filter { $0.lowercased().contains(folded) }
        throw .unknownLabel(text, suggestions: Array(suggestions.prefix(5)))
    }

    /// Indices of the `count` largest values, largest first; ties keep the lower index first.
    public static func topClasses<Scalar: TensorScalar>(_ values: [Scalar], _ count: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(count))
    }
}

/// Errors of target specs; each message names the option (`--target`, `--targets`, `--versus`).
public enum TargetError: Error, Equatable, CustomStringConvertible {
    case emptyTarget
    case unknownLabel(String, suggestions: [String])
    case indexOutOfRange(Int, classCount: Int)
    case invalidTopK(String, classCount: Int)
    case badOutputs([Int])

    public var description: String {
        switch self {
        case .emptyTarget: "target: an empty class name or index"
        case .unknownLabel(let name, let suggestions):
            "target '\(name)' is not a class label"
                + (suggestions.isEmpty ? "" : "; did you mean \(suggestions.joined(separator: ", "))?")
        case .indexOutOfRange(let i, let k): "target class \(i) is outside 0..<\(k)"
        case .invalidTopK(let k, let classes): "targets top:K needs an integer K in 1...\(classes), got '\(k)'"
        case .badOutputs(let shape): "model outputs of shape \(shape) are not [N, K]"
        }
    }
}
