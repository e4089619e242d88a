import LeafLensMath
import LeafLensModel

/// A classifier seen as "class t versus class B": outputs zₖ − z_B, so explaining target t explains
/// logit(t) − logit(B) ("why rust and not brown spot"). Wrap the model (or a `ProbabilityOutput`,
/// for pₜ − p_B), then call any method with it. The output gradient v becomes v − (Σₖ vₖ)·e_B on the
/// logits; target B itself explains the constant 0.
///
/// Occlusion keeps the base model's fast path: the two evaluators for t and B are run on the same
/// windows and subtracted.
public struct ContrastiveOutput<Base: OutputGradientModel>: OutputGradientModel {
    public typealias Scalar = Base.Scalar
    public let base: Base
    /// The class B subtracted from every output.
    public let versus: Int

    public init(_ base: Base, versus: Int) throws(AttributionError) {
        guard (0..<base.classCount).contains(versus) else {
            throw .targetOutOfRange(target: versus, classCount: base.classCount)
        }
        self.base = base
        self.versus = versus
    }

    public var classCount: Int { base.classCount }

    public func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try contrast(try base.outputs(input))
    }

    public func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        try inputGradient(input, targets: targets, reluRule: .standard)
    }

    public func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int], reluRule: ReLUBackwardRule
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        try validateBatch(input, targets: targets, classCount: classCount)
        let classes = classCount
        return try inputGradient(input, reluRule: reluRule) { _ in oneHotRows(targets: targets, classCount: classes) }
    }

    public func inputGradient(
        _ input: Tensor<Scalar>, reluRule: ReLUBackwardRule, outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        var contrasted: Tensor<Scalar>?
        let (_, gradient) = try base.inputGradient(input, reluRule: reluRule) { outputs in
            let c = try contrast(outputs)
            contrasted = c
            return try pullBack(try outputGradient(c))
        }
        guard let contrasted else { throw AttributionError.shapeMismatch("the model ran no forward pass") }
        return (contrasted, gradient)
    }

    public func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        try validateBatch(input, targets: targets, classCount: classCount)
        let classes = classCount
        return try layerGradient(input, layer: layer) { _ in oneHotRows(targets: targets, classCount: classes) }
    }

    public func layerGradient(
        _ input: Tensor<Scalar>, layer: String, outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        var contrasted: Tensor<Scalar>?
        let (_, activation, gradient) = try base.layerGradient(input, layer: layer) { outputs in
            let c = try contrast(outputs)
            contrasted = c
            return try pullBack(try outputGradient(c))
        }
        guard let contrasted else { throw AttributionError.shapeMismatch("the model ran no forward pass") }
        return (contrasted, activation, gradient)
    }

    public func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int
    ) throws
        -> OcclusionEvaluator<Scalar>?
    {
        try occlusionEvaluator(example: example, fill: fill, target: target, projectiveFieldThreshold: 1)
    }

    public func occlusionEvaluator(
        example: Tensor<Scalar>, fill: Tensor<Scalar>, target: Int, projectiveFieldThreshold tau: Double
    ) throws
        -> OcclusionEvaluator<Scalar>?
    {
        guard
            let t = try base.occlusionEvaluator(
                example: example, fill: fill, target: target, projectiveFieldThreshold: tau),
            let b = try base.occlusionEvaluator(
                example: example, fill: fill, target: versus, projectiveFieldThreshold: tau)
        else { return nil }
        return OcclusionEvaluator(clean: t.clean - b.clean) { windows in
            zip(try t.evaluate(windows), try b.evaluate(windows)).map { $0 - $1 }
        }
    }

    /// zₖ − z_B per row of `[N, K]`.
    func contrast(_ outputs: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard outputs.rank == 2, outputs.shape[1] == classCount else {
            throw AttributionError.shapeMismatch("model returned outputs \(outputs.shape), expected [N, \(classCount)]")
        }
        let k = classCount
        var out = outputs.storage
        for row in 0..<outputs.shape[0] {
            let reference = outputs.storage[row * k + versus]
            for j in 0..<k { out[row * k + j] -= reference }
        }
        return try checkedTensor(shape: outputs.shape, storage: out)
    }

    /// v on the contrasted outputs → v − (Σₖ vₖ)·e_B on the base outputs.
    func pullBack(_ v: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let k = classCount
        guard v.rank == 2, v.shape[1] == k else {
            throw AttributionError.shapeMismatch("output gradient \(v.shape), expected [N, \(k)]")
        }
        var out = v.storage
        for row in 0..<v.shape[0] {
            var total: Scalar = 0
            for j in 0..<k { total += v.storage[row * k + j] }
            out[row * k + versus] -= total
        }
        return try checkedTensor(shape: v.shape, storage: out)
    }
}
