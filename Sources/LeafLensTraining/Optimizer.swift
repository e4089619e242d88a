import Foundation
import LeafLensMath

/// The optimisers, with PyTorch's update rules (`torch.optim.SGD` / `torch.optim.Adam`, defaults
/// `dampening = 0`, `nesterov = False`, `amsgrad = False`, `maximize = False`), evaluated in Float like
/// PyTorch's float32 tensors. State is kept per parameter name so it can be saved and resumed.
public enum OptimizerKind: String, Sendable, Codable, CaseIterable {
    case sgd, adam
}

public struct OptimizerSettings: Sendable, Codable, Equatable {
    public var kind: OptimizerKind
    public var momentum: Double
    public var weightDecay: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double

    public init(
        kind: OptimizerKind, momentum: Double = 0.9, weightDecay: Double = 0, beta1: Double = 0.9,
        beta2: Double = 0.999, epsilon: Double = 1e-8
    ) {
        self.kind = kind
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }
}

/// One optimiser and its state.
///
/// SGD (momentum μ, weight decay λ, learning rate η), for each parameter p with gradient g:
///
///     d = g + λ·p;   b = d on the first step, else b = μ·b + d;   p ← p − η·b     (μ = 0: p ← p − η·d)
///
/// Adam (β₁, β₂, ε, weight decay λ as L2 added to the gradient — not AdamW), step t = 1, 2, …:
///
///     d = g + λ·p;   m ← m + (1 − β₁)(d − m)  (torch's lerp);   v ← β₂·v + (1 − β₂)·d²
///     p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
public struct Optimizer: Sendable {
    public let settings: OptimizerSettings
    /// Steps taken (Adam's t).
    public private(set) var stepCount: Int = 0
    /// SGD momentum buffers, or Adam first moments, by parameter name.
    public private(set) var firstMoments: [String: Tensor<Float>] = [:]
    /// Adam second moments by parameter name.
    public private(set) var secondMoments: [String: Tensor<Float>] = [:]

    public init(_ settings: OptimizerSettings) {
        self.settings = settings
    }

    /// Updates `parameters[name]` for every name in `gradients` (names missing in `parameters` are errors).
    public mutating func step(
        parameters: inout [String: Tensor<Float>], gradients: [String: Tensor<Float>], learningRate: Double
    ) throws(TrainingError) {
        stepCount += 1
        for name in gradients.keys.sorted() {
            guard let g = gradients[name], var p = parameters[name] else {
                throw .unknownParameter(name)
            }
            guard g.shape == p.shape else {
                throw .shapeMismatch("gradient of '\(name)' has shape \(g.shape), parameter \(p.shape)")
            }
            parameters[name] = nil  // keep p uniquely referenced
            switch settings.kind {
            case .sgd: sgd(name, &p, g, learningRate)
            case .adam: adam(name, &p, g, learningRate)
            }
            parameters[name] = p
        }
    }

    private mutating func sgd(_ name: String, _ p: inout Tensor<Float>, _ g: Tensor<Float>, _ lr: Double) {
        let wd = Float(settings.weightDecay), mu = Float(settings.momentum), eta = Float(lr)
        var d = g.storage
        if wd != 0 { for i in d.indices { d[i] += wd * p.storage[i] } }
        if mu != 0 {
            if var b = firstMoments.removeValue(forKey: name) {
                for i in d.indices { b.storage[i] = mu * b.storage[i] + d[i] }
                d = b.storage
                firstMoments[name] = b
            } else {
                firstMoments[name] = Tensor(uncheckedShape: g.shape, storage: d)
            }
        }
        p.storage.withUnsafeMutableBufferPointer { q in for i in q.indices { q[i] -= eta * d[i] } }
    }

    private mutating func adam(_ name: String, _ p: inout Tensor<Float>, _ g: Tensor<Float>, _ lr: Double) {
        let wd = Float(settings.weightDecay)
        let b1 = settings.beta1, b2 = settings.beta2
        var m = firstMoments.removeValue(forKey: name) ?? Tensor(zeros: g.shape)
        var v = secondMoments.removeValue(forKey: name) ?? Tensor(zeros: g.shape)
        let t = Double(stepCount)
        // Scalars as PyTorch computes them: Python floats (Double), used as float32 tensor operands.
        let stepSize = Float(lr / (1 - pow(b1, t)))
        let correction2Root = Float((1 - pow(b2, t)).squareRoot())
        let oneMinusB1 = Float(1 - b1), b2f = Float(b2), oneMinusB2 = Float(1 - b2), eps = Float(settings.epsilon)
        for i in 0..<g.count {
            var d = g.storage[i]
            if wd != 0 { d += wd * p.storage[i] }
            m.storage[i] += (d - m.storage[i]) * oneMinusB1
            v.storage[i] = v.storage[i] * b2f + oneMinusB2 * d * d
            let denominator = v.storage[i].squareRoot() / correction2Root + eps
            p.storage[i] -= stepSize * (m.storage[i] / denominator)
        }
        firstMoments[name] = m
        secondMoments[name] = v
    }

    /// The state as named tensors (`momentum_buffer.<p>` or `exp_avg.<p>` / `exp_avg_sq.<p>`) for a checkpoint.
    public var stateTensors: [String: Tensor<Float>] {
        var out: [String: Tensor<Float>] = [:]
        let firstName = settings.kind == .sgd ? "momentum_buffer" : "exp_avg"
        for (k, v) in firstMoments { out["\(firstName).\(k)"] = v }
        for (k, v) in secondMoments { out["exp_avg_sq.\(k)"] = v }
        return out
    }

    /// Restores state saved by `stateTensors`.
    public mutating func restore(stateTensors: [String: Tensor<Float>], stepCount steps: Int) {
        stepCount = steps
        firstMoments = [:]
        secondMoments = [:]
        for (key, value) in stateTensors {
            for prefix in ["momentum_buffer.", "exp_avg."] where key.hasPrefix(prefix) {
                firstMoments[String(key.dropFirst(prefix.count))] = value
            }
            if key.hasPrefix("exp_avg_sq.") { secondMoments[String(key.dropFirst("exp_avg_sq.".count))] = value }
        }
    }
}
