import LeafLensAttribution
import LeafLensMath
import Synchronization

// Captum's hand-weighted toy models (captum/testing/helpers/basic_models.py, spec §7.1) written
// against `AttributionModel`, each with a hand-written forward and, right below it, its backward.
// Two-input models take their inputs concatenated along the feature axis; ConvNet_One_Conv takes its
// second input as a fixed addend, which is how Captum's multi-input occlusion sees it (the other
// input is never ablated in the same evaluation). ReLU′(0) = 0 throughout.

/// Everything one forward (and, with targets, backward) pass computes.
struct Trace<Scalar: TensorScalar> {
    var outputs: Tensor<Scalar>
    var activations: [String: Tensor<Scalar>] = [:]
    var gradients: [String: Tensor<Scalar>] = [:]
    var inputGradient: Tensor<Scalar>?
}

protocol ToyModel: AttributionModel {
    var layerNames: [String] { get }
    /// Forward; with `targets`, also the backward of Σᵢ outputs[i, targets[i]].
    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar>
}

extension ToyModel {
    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try trace(input, targets: nil).outputs
    }

    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        let t = try trace(input, targets: targets)
        return (t.outputs, t.inputGradient ?? Tensor(zeros: input.shape))
    }

    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        guard layerNames.contains(layer) else {
            throw AttributionError.unknownLayer(layer, available: layerNames)
        }
        let t = try trace(input, targets: targets)
        guard let a = t.activations[layer], let g = t.gradients[layer] else {
            throw AttributionError.unknownLayer(layer, available: layerNames)
        }
        return (t.outputs, a, g)
    }
}

// MARK: - Building blocks

func relu<S: TensorScalar>(_ x: [S]) -> [S] { x.map { $0 > 0 ? $0 : 0 } }
/// ReLU backward: passes the gradient where the pre-activation is > 0 (so relu′(0) = 0).
func reluBackward<S: TensorScalar>(_ g: [S], pre: [S]) -> [S] { zip(g, pre).map { $1 > 0 ? $0 : 0 } }

/// The seed gradient of Σᵢ outputs[i, targets[i]]: one-hot rows `[N, K]`.
func oneHot<S: TensorScalar>(_ targets: [Int], classes: Int) -> [S] {
    var g = [S](repeating: 0, count: targets.count * classes)
    for (i, t) in targets.enumerated() { g[i * classes + t] = 1 }
    return g
}

/// nn.Linear: y[n, o] = Σᵢ W[o, i]·x[n, i] + b[o], W `[out, in]` row-major.
struct Dense<S: TensorScalar> {
    let weights: [S]
    let bias: [S]
    let inputs: Int
    var outputs: Int { bias.count }

    func forward(_ x: [S], batch: Int) -> [S] {
        var y = [S](repeating: 0, count: batch * outputs)
        for n in 0..<batch {
            for o in 0..<outputs {
                var sum: S = 0
                for i in 0..<inputs { sum += weights[o * inputs + i] * x[n * inputs + i] }
                y[n * outputs + o] = sum + bias[o]
            }
        }
        return y
    }

    /// ∂/∂x = gᵀW (parameter gradients are not needed here).
    func backward(_ g: [S], batch: Int) -> [S] {
        var gx = [S](repeating: 0, count: batch * inputs)
        for n in 0..<batch {
            for i in 0..<inputs {
                var sum: S = 0
                for o in 0..<outputs { sum += weights[o * inputs + i] * g[n * outputs + o] }
                gx[n * inputs + i] = sum
            }
        }
        return gx
    }
}

// MARK: - Models

/// BasicModel: f(x) = 1 − relu(1 − x) per scalar example. Input `[N]` or `[N, 1]`, output `[N, 1]`.
struct BasicModel<Scalar: TensorScalar>: ToyModel {
    var classCount: Int { 1 }
    var layerNames: [String] { [] }

    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar> {
        let x = input.storage
        let out = x.map { 1 - ($0 < 1 ? 1 - $0 : 0) }
        var t = Trace(outputs: try Tensor(shape: [x.count, 1], storage: out))
        guard targets != nil else { return t }
        // d/dx = relu′(1 − x)
        t.inputGradient = try Tensor(shape: input.shape, storage: x.map { 1 - $0 > 0 ? 1 : 0 })
        return t
    }
}

/// BasicModel2 (x₁, x₂) = relu(relu(x₁) − 1 − relu(x₂)) and
/// BasicModel3 (x₁, x₂) = relu(relu(x₁ − 1) − relu(x₂)), inputs concatenated as `[N, 2]`.
struct TwoInputModel<Scalar: TensorScalar>: ToyModel {
    enum Kind { case basicModel2, basicModel3 }
    let kind: Kind
    var classCount: Int { 1 }
    var layerNames: [String] { [] }

    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar> {
        let n = input.shape[0]
        var out = [Scalar](repeating: 0, count: n)
        var grad = [Scalar](repeating: 0, count: 2 * n)
        for i in 0..<n {
            let x1 = input.storage[2 * i], x2 = input.storage[2 * i + 1]
            let p1 = kind == .basicModel2 ? x1 : x1 - 1  // pre-activation of the first relu
            let h = (p1 > 0 ? p1 : 0) - (kind == .basicModel2 ? 1 : 0) - (x2 > 0 ? x2 : 0)
            out[i] = h > 0 ? h : 0
            // backward: relu′(h)·(relu′(p1), −relu′(x2))
            let gh: Scalar = h > 0 ? 1 : 0
            grad[2 * i] = p1 > 0 ? gh : 0
            grad[2 * i + 1] = x2 > 0 ? -gh : 0
        }
        var t = Trace(outputs: try Tensor(shape: [n, 1], storage: out))
        if targets != nil { t.inputGradient = try Tensor(shape: input.shape, storage: grad) }
        return t
    }
}

/// BasicModel_MultiLayer (3 → 2): linear0 = I₃; linear1 = ones(4, 3), b = [−10, 1, 1, 1]; relu;
/// linear2 = ones(2, 4), b = [−1, 1]. Layers "linear0", "linear1", "relu", "linear2".
struct MultiLayerModel<Scalar: TensorScalar>: ToyModel {
    let linear0 = Dense<Scalar>(weights: [1, 0, 0, 0, 1, 0, 0, 0, 1], bias: [0, 0, 0], inputs: 3)
    let linear1 = Dense<Scalar>(weights: Array(repeating: 1, count: 12), bias: [-10, 1, 1, 1], inputs: 3)
    let linear2 = Dense<Scalar>(weights: Array(repeating: 1, count: 8), bias: [-1, 1], inputs: 4)
    var classCount: Int { 2 }
    var layerNames: [String] { ["linear0", "linear1", "relu", "linear2"] }

    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar> {
        let n = input.shape[0]
        guard input.shape == [n, 3] else { throw AttributionError.shapeMismatch("MultiLayer needs [N, 3]") }
        let a0 = linear0.forward(input.storage, batch: n)
        let a1 = linear1.forward(a0, batch: n)
        let r = relu(a1)
        let out = linear2.forward(r, batch: n)
        var t = Trace(outputs: try Tensor(shape: [n, 2], storage: out))
        t.activations = [
            "linear0": try Tensor(shape: [n, 3], storage: a0), "linear1": try Tensor(shape: [n, 4], storage: a1),
            "relu": try Tensor(shape: [n, 4], storage: r), "linear2": t.outputs,
        ]
        guard let targets else { return t }
        let gOut: [Scalar] = oneHot(targets, classes: 2)
        let gR = linear2.backward(gOut, batch: n)
        let gA1 = reluBackward(gR, pre: a1)
        let gA0 = linear1.backward(gA1, batch: n)
        let gX = linear0.backward(gA0, batch: n)
        t.gradients = [
            "linear0": try Tensor(shape: [n, 3], storage: gA0), "linear1": try Tensor(shape: [n, 4], storage: gA1),
            "relu": try Tensor(shape: [n, 4], storage: gR), "linear2": try Tensor(shape: [n, 2], storage: gOut),
        ]
        t.inputGradient = try Tensor(shape: input.shape, storage: gX)
        return t
    }
}

/// BasicModel_ConvNet_One_Conv: conv1 (1→2, 3×3, weights 1, bias [−50, −75]) → relu1 → flatten to 8
/// (channel-major) → fc1 (8→4, rows [1,1,1,1,1,−1,−1,−1]) → relu2. Layers "conv1", "relu1", "fc1",
/// "relu2". Input `[N, 1, 4, 4]` or `[N, 1, 4, 1]` (broadcast along the width, like Captum's
/// second input in O11); `addend` `[1, 1, 4, 4]` is added first, like Captum's x + x2.
struct ConvNetModel<Scalar: TensorScalar>: ToyModel {
    var addend: Tensor<Scalar>?
    let bias: [Scalar] = [-50, -75]
    let fc1 = Dense<Scalar>(
        weights: Array([[Scalar]](repeating: [1, 1, 1, 1, 1, -1, -1, -1], count: 4).joined()),
        bias: [0, 0, 0, 0], inputs: 8)
    var classCount: Int { 4 }
    var layerNames: [String] { ["conv1", "relu1", "fc1", "relu2"] }

    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar> {
        let n = input.shape[0]
        let width = input.shape.last ?? 0
        guard input.shape == [n, 1, 4, width], width == 4 || width == 1 else {
            throw AttributionError.shapeMismatch("ConvNet needs [N, 1, 4, 4] or [N, 1, 4, 1]")
        }
        // x = broadcast(input) + addend, [N, 16]
        var x = [Scalar](repeating: 0, count: n * 16)
        for i in 0..<n {
            for h in 0..<4 {
                for w in 0..<4 {
                    let v = input.storage[(i * 4 + h) * width + (width == 1 ? 0 : w)]
                    x[i * 16 + h * 4 + w] = v + (addend?.storage[h * 4 + w] ?? 0)
                }
            }
        }
        // conv1: c[n, ch, i, j] = Σ_{a,b<3} x[n, i+a, j+b] + bias[ch]
        var conv = [Scalar](repeating: 0, count: n * 8)
        for i in 0..<n {
            for ch in 0..<2 {
                for r in 0..<2 {
                    for c in 0..<2 {
                        var sum: Scalar = 0
                        for a in 0..<3 { for b in 0..<3 { sum += x[i * 16 + (r + a) * 4 + c + b] } }
                        conv[i * 8 + ch * 4 + r * 2 + c] = sum + bias[ch]
                    }
                }
            }
        }
        let r1 = relu(conv)
        let f = fc1.forward(r1, batch: n)
        let out = relu(f)
        var t = Trace(outputs: try Tensor(shape: [n, 4], storage: out))
        t.activations = [
            "conv1": try Tensor(shape: [n, 2, 2, 2], storage: conv),
            "relu1": try Tensor(shape: [n, 2, 2, 2], storage: r1),
            "fc1": try Tensor(shape: [n, 4], storage: f), "relu2": t.outputs,
        ]
        guard let targets else { return t }
        let gOut: [Scalar] = oneHot(targets, classes: 4)
        let gF = reluBackward(gOut, pre: f)
        let gR1 = fc1.backward(gF, batch: n)
        let gConv = reluBackward(gR1, pre: conv)
        // conv1 backward with an all-ones kernel: every output spreads its gradient over its 3×3 patch.
        var gX = [Scalar](repeating: 0, count: n * 16)
        for i in 0..<n {
            for ch in 0..<2 {
                for r in 0..<2 {
                    for c in 0..<2 {
                        let g = gConv[i * 8 + ch * 4 + r * 2 + c]
                        for a in 0..<3 { for b in 0..<3 { gX[i * 16 + (r + a) * 4 + c + b] += g } }
                    }
                }
            }
        }
        // broadcast backward: a width-1 input collects its row's gradient
        var gInput = [Scalar](repeating: 0, count: input.count)
        for i in 0..<n {
            for h in 0..<4 {
                for w in 0..<4 { gInput[(i * 4 + h) * width + (width == 1 ? 0 : w)] += gX[i * 16 + h * 4 + w] }
            }
        }
        t.gradients = [
            "conv1": try Tensor(shape: [n, 2, 2, 2], storage: gConv),
            "relu1": try Tensor(shape: [n, 2, 2, 2], storage: gR1),
            "fc1": try Tensor(shape: [n, 4], storage: gF), "relu2": try Tensor(shape: [n, 4], storage: gOut),
        ]
        t.inputGradient = try Tensor(shape: input.shape, storage: gInput)
        return t
    }
}

/// f(x) = Σ w ⊙ x + bias over each example's flattened features; output `[N, 1]`. Layer "identity"
/// is the input itself (activation x, gradient w), for Grad-CAM on a known map.
struct LinearModel<Scalar: TensorScalar>: ToyModel {
    let weights: [Scalar]
    var bias: Scalar = 0
    var classCount: Int { 1 }
    var layerNames: [String] { ["identity"] }

    func trace(_ input: Tensor<Scalar>, targets: [Int]?) throws -> Trace<Scalar> {
        let n = input.shape[0]
        guard input.count == n * weights.count else {
            throw AttributionError.shapeMismatch("LinearModel has \(weights.count) weights")
        }
        var out = [Scalar](repeating: 0, count: n)
        for i in 0..<n {
            var sum: Scalar = 0
            for j in weights.indices { sum += weights[j] * input.storage[i * weights.count + j] }
            out[i] = sum + bias
        }
        var t = Trace(outputs: try Tensor(shape: [n, 1], storage: out))
        t.activations["identity"] = input
        guard targets != nil else { return t }
        let g = try Tensor(shape: input.shape, storage: Array(repeatElement(weights, count: n).joined()))
        t.gradients["identity"] = g
        t.inputGradient = g
        return t
    }
}

/// Wraps a model and records the batch size of every call and progress reports, to check
/// memory bounds and chunking.
final class RecordingModel<Base: AttributionModel>: AttributionModel {
    typealias Scalar = Base.Scalar
    let base: Base
    private let calls = Mutex<[Int]>([])
    init(_ base: Base) { self.base = base }

    var classCount: Int { base.classCount }
    /// Rows of every batch the wrapped model was asked to run, in call order.
    var batches: [Int] { calls.withLock { $0 } }
    private func record(_ input: Tensor<Scalar>) { calls.withLock { $0.append(input.shape.first ?? 0) } }

    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        record(input)
        return try base.outputs(input)
    }
    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        record(input)
        return try base.inputGradient(input, targets: targets)
    }
    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        record(input)
        return try base.layerGradient(input, layer: layer, targets: targets)
    }
}

/// Collects progress reports (done, total).
final class ProgressLog: Sendable {
    private let reports = Mutex<[[Int]]>([])
    var values: [[Int]] { reports.withLock { $0 } }
    var callback: AttributionProgress { { done, total in self.reports.withLock { $0.append([done, total]) } } }
}

/// A Float tensor from literal values.
func tensor(_ shape: [Int], _ values: [Double]) throws -> Tensor<Float> {
    try Tensor(shape: shape, storage: values.map { Float($0) })
}

/// 0, 1, …, 15 as `[1, 1, 4, 4]`.
func arange16<S: TensorScalar>(_: S.Type = Float.self) throws -> Tensor<S> {
    try Tensor(shape: [1, 1, 4, 4], storage: (0..<16).map { S($0) })
}
