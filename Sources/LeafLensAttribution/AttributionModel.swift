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
    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)

    /// Forward and backward to a named layer: outputs, the layer's output activation A (e.g. `[N, C, h, w]`)
    /// and ∂(Σᵢ outputs[i, targets[i]])/∂A, shaped like A. Throws `AttributionError.unknownLayer` for a
    /// name the model does not have.
    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)

    /// An optional fast path for Occlusion on one example `[1, ...]`: F(example)[target], and a function
    /// giving F(copy)[target] for copies whose windows are set to `fill`'s values. nil (the default)
    /// makes Occlusion forward whole occluded batches through `outputs`.
    func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int
    ) throws
        -> OcclusionEvaluator<Scalar>?

    /// The same fast path with Krypton's projective-field threshold τ ∈ (0, 1] (approximate occlusion,
    /// `Occlusion.Approximation`): each layer recomputes at most τ × its side around the exact region.
    /// The default gives `occlusionEvaluator(example:fill:target:)` for τ = 1 and nil (no approximate
    /// path) otherwise.
    func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int, projectiveFieldThreshold: Double
    ) throws
        -> OcclusionEvaluator<Scalar>?

    /// An optional ability (AblationCAM): the activation at `layer` for `input` and a function running
    /// only the network above it on replaced activations (`LayerReplay`). nil (the default) when the
    /// model or that layer cannot.
    func layerReplay(_ input: Tensor<Scalar>, layer: String) throws -> LayerReplay<Scalar>?
}

extension AttributionModel {
    public func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int
    ) throws
        -> OcclusionEvaluator<Scalar>?
    {
        nil
    }

    public func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int, projectiveFieldThreshold: Double
    ) throws
        -> OcclusionEvaluator<Scalar>?
    {
        projectiveFieldThreshold >= 1 ? try occlusionEvaluator(example: example, fill: fill, target: target) : nil
    }
}

/// Target outputs of occluded copies of one example, from a model that can compute them faster than
/// a forward pass over each copy (see `AttributionModel.occlusionEvaluator`).
public struct OcclusionEvaluator<Scalar: TensorScalar> {
    /// F(example)[target], computed the same way as the occluded outputs.
    public let clean: Scalar
    /// F(copy)[target] for each window; a window is one range per example axis (`[C, H, W]`: channels,
    /// rows, columns), and the copy takes `fill`'s values inside it.
    public let evaluate: ([[Range<Int>]]) throws -> [Scalar]

    public init(clean: Scalar, evaluate: @escaping ([[Range<Int>]]) throws -> [Scalar]) {
        self.clean = clean
        self.evaluate = evaluate
    }
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
