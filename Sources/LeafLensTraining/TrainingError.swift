/// Errors of the loss and the optimiser: arguments that do not fit each other.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Logits and targets (or a gradient and its parameter) whose shapes disagree.
    case shapeMismatch(String)
    /// A class index outside the model's classes.
    case targetOutOfRange(target: Int, classCount: Int)
    /// A gradient for a parameter the optimiser was not given.
    case unknownParameter(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let m): m
        case .targetOutOfRange(let t, let k): "target \(t) is outside 0..<\(k)"
        case .unknownParameter(let name): "the optimiser got a gradient for unknown parameter '\(name)'"
        }
    }
}
