import LeafLensMath

/// What attribution methods need from a model. ResNet18 implements it; tests implement Captum's
/// hand-weighted toy models against it with exactly known answers.
///
/// Shapes: `input` is `[N, ...]` (images `[N, 3, H, W]`); outputs are `[N, K]` (a model with one
/// scalar per example returns `[N, 1]` and is targeted with class 0). `targets` has one class index per
/// example. Gradients are of the scalar Σᵢ outputs[i, targets[i]]; since examples do not interact, the
/// rows of that gradient are the per-example gradients. ReLU'(0) = 0, as in PyTorch.
public protocol AttributionModel: Sendable {
    associatedtype Scalar: TensorScalar

    /// Number of output classes K.
    var classCount: Int { get }

    /// Forward pass only: `[N, K]`.
    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar>

    /// Forward and backward: outputs `[N, K]` and ∂(Σᵢ outputs[i, targets[i]])/∂input, shaped like `input`.
    func inputGradient(_ input: Tensor<Scalar>, targets: [Int]) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)

    /// Forward and backward to a named layer: outputs, the layer's output activation A (e.g. `[N, C, h, w]`)
    /// and ∂(Σᵢ outputs[i, targets[i]])/∂A, shaped like A. Throws `AttributionError.unknownLayer` for a
    /// name the model does not have.
    func layerGradient(_ input: Tensor<Scalar>, layer: String, targets: [Int]) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
}

/// Reports progress of long attributions: (units done, units total).
public typealias AttributionProgress = @Sendable (_ done: Int, _ total: Int) -> Void

/// Errors attribution methods throw for options or inputs that do not fit.
public enum AttributionError: Error, Equatable, CustomStringConvertible {
    case unknownLayer(String, available: [String])
    case targetOutOfRange(target: Int, classCount: Int)
    case invalidOption(String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .unknownLayer(let name, let available):
            "unknown layer '\(name)'; available: \(available.joined(separator: ", "))"
        case .targetOutOfRange(let t, let k): "target \(t) is outside the model's classes 0..<\(k)"
        case .invalidOption(let message): message
        case .shapeMismatch(let message): message
        }
    }
}
