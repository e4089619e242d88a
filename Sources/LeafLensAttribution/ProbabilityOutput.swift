import Foundation
import LeafLensMath
import LeafLensModel

/// A classifier seen through the softmax of its logits: outputs pₖ = exp(zₖ)/Σⱼ exp(zⱼ), so every
/// method explains a class *probability* instead of a logit (pytorch-grad-cam's
/// `ClassifierOutputSoftmaxTarget`; MATLAB's occlusion sensitivity). Wrap the model, then call any
/// method with it.
///
/// Softmax and its backward run in Double per row (max subtracted first), rounded to the scalar type:
///
///     ∂L/∂zₖ = pₖ·(vₖ − Σⱼ vⱼ pⱼ)     for an output gradient v (one-hot eₜ: pₜ(δₜₖ − pₖ))
///
/// Occlusion has no fast path through this wrapper (each window needs every logit): it forwards
/// whole occluded batches.
public struct ProbabilityOutput<Base: OutputGradientModel>: OutputGradientModel {
    public typealias Scalar = Base.Scalar
    public let base: Base

    public init(_ base: Base) { self.base = base }

    public var classCount: Int { base.classCount }

    public func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try Self.softmax(try base.outputs(input))
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
        var probabilities: Tensor<Scalar>?
        let (_, gradient) = try base.inputGradient(input, reluRule: reluRule) { logits in
            let p = try Self.softmax(logits)
            probabilities = p
            return try Self.softmaxBackward(p, try outputGradient(p))
        }
        guard let probabilities else { throw AttributionError.shapeMismatch("the model ran no forward pass") }
        return (probabilities, gradient)
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
        var probabilities: Tensor<Scalar>?
        let (_, activation, gradient) = try base.layerGradient(input, layer: layer) { logits in
            let p = try Self.softmax(logits)
            probabilities = p
            return try Self.softmaxBackward(p, try outputGradient(p))
        }
        guard let probabilities else { throw AttributionError.shapeMismatch("the model ran no forward pass") }
        return (probabilities, activation, gradient)
    }

    /// Row-wise softmax of `[N, K]` (in Double, max subtracted, rounded once).
    public static func softmax(_ logits: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard logits.rank == 2 else {
            throw AttributionError.shapeMismatch("softmax needs [N, K], got \(logits.shape)")
        }
        let k = logits.shape[1]
        var out = logits.storage
        for row in 0..<logits.shape[0] {
            let z = logits.storage[row * k..<(row + 1) * k].map(Double.init)
            let top = z.max() ?? 0
            let e = z.map { exp($0 - top) }
            let total = e.reduce(0, +)
            for j in 0..<k { out[row * k + j] = Scalar(e[j] / total) }
        }
        return try checkedTensor(shape: logits.shape, storage: out)
    }

    /// ∂L/∂z = p ⊙ (v − ⟨v, p⟩) per row.
    static func softmaxBackward(_ p: Tensor<Scalar>, _ v: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard v.shape == p.shape else {
            throw AttributionError.shapeMismatch("output gradient \(v.shape) does not match outputs \(p.shape)")
        }
        let k = p.shape[1]
        var out = v.storage
        for row in 0..<p.shape[0] {
            var dot = 0.0
            for j in 0..<k { dot += Double(v.storage[row * k + j]) * Double(p.storage[row * k + j]) }
            for j in 0..<k {
                let i = row * k + j
                out[i] = Scalar(Double(p.storage[i]) * (Double(v.storage[i]) - dot))
            }
        }
        return try checkedTensor(shape: p.shape, storage: out)
    }
}
