import LeafLensAttribution
import LeafLensMath
import LeafLensModel

// Hand-weighted toy models whose backward takes any output gradient and any ReLU rule, for the
// guided methods, the target wrappers, NoiseTunnel and GradientShap (reference A1–A4, §0.1). Each
// forward is written out with its backward right below it; ReLU′(0) = 0 and x = 0 blocks under
// every rule.

protocol RuleToyModel: OutputGradientModel {
    var layerNames: [String] { get }
    /// Forward; with `outputGradient`, also the backward from ∂L/∂outputs = outputGradient(outputs).
    func run(
        _ input: Tensor<Scalar>, rule: ReLUBackwardRule, outputGradient: ((Tensor<Scalar>) throws -> Tensor<Scalar>)?
    ) throws -> Trace<Scalar>
}

extension RuleToyModel {
    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        try run(input, rule: .standard, outputGradient: nil).outputs
    }

    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        try inputGradient(input, targets: targets, reluRule: .standard)
    }

    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int], reluRule: ReLUBackwardRule
    ) throws
        -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        let k = classCount
        return try inputGradient(input, reluRule: reluRule) { _ in
            try Tensor(shape: [targets.count, k], storage: oneHot(targets, classes: k))
        }
    }

    func inputGradient(
        _ input: Tensor<Scalar>, reluRule: ReLUBackwardRule, outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        let t = try withoutActuallyEscaping(outputGradient) { try run(input, rule: reluRule, outputGradient: $0) }
        return (t.outputs, t.inputGradient ?? Tensor(zeros: input.shape))
    }

    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        let k = classCount
        return try layerGradient(input, layer: layer) { _ in
            try Tensor(shape: [targets.count, k], storage: oneHot(targets, classes: k))
        }
    }

    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, outputGradient: (Tensor<Scalar>) throws -> Tensor<Scalar>
    ) throws -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        guard layerNames.contains(layer) else { throw AttributionError.unknownLayer(layer, available: layerNames) }
        let t = try withoutActuallyEscaping(outputGradient) { try run(input, rule: .standard, outputGradient: $0) }
        guard let a = t.activations[layer], let g = t.gradients[layer] else {
            throw AttributionError.unknownLayer(layer, available: layerNames)
        }
        return (t.outputs, a, g)
    }
}

/// ReLU backward under a rule, from the pre-activation.
func ruleBackward<S: TensorScalar>(_ g: [S], pre: [S], rule: ReLUBackwardRule) -> [S] {
    zip(g, pre).map { g, x in
        switch rule {
        case .standard: x > 0 ? g : 0
        case .guided: x > 0 && g > 0 ? g : 0
        case .deconvolution: g > 0 ? g : 0
        }
    }
}

/// Captum's ConvNet_One_Conv (see `ConvNetModel`), input `[N, 1, 4, 4]`, with ReLU rules at relu1
/// and relu2 (both `nn.ReLU` modules in Captum).
struct RuleConvNet<Scalar: TensorScalar>: RuleToyModel {
    let bias: [Scalar] = [-50, -75]
    let fc1 = Dense<Scalar>(
        weights: Array([[Scalar]](repeating: [1, 1, 1, 1, 1, -1, -1, -1], count: 4).joined()),
        bias: [0, 0, 0, 0], inputs: 8)
    var classCount: Int { 4 }
    var layerNames: [String] { ["conv1", "relu1"] }

    func run(
        _ input: Tensor<Scalar>, rule: ReLUBackwardRule, outputGradient: ((Tensor<Scalar>) throws -> Tensor<Scalar>)?
    ) throws -> Trace<Scalar> {
        let n = input.shape[0]
        guard input.shape == [n, 1, 4, 4] else {
            throw AttributionError.shapeMismatch("RuleConvNet needs [N, 1, 4, 4]")
        }
        let x = input.storage
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
        var t = Trace(outputs: try Tensor(shape: [n, 4], storage: relu(f)))
        t.activations = [
            "conv1": try Tensor(shape: [n, 2, 2, 2], storage: conv),
            "relu1": try Tensor(shape: [n, 2, 2, 2], storage: r1),
        ]
        guard let outputGradient else { return t }
        let gOut = try outputGradient(t.outputs).storage
        let gF = ruleBackward(gOut, pre: f, rule: rule)
        let gR1 = fc1.backward(gF, batch: n)
        let gConv = ruleBackward(gR1, pre: conv, rule: rule)
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
        t.gradients = [
            "conv1": try Tensor(shape: [n, 2, 2, 2], storage: gConv),
            "relu1": try Tensor(shape: [n, 2, 2, 2], storage: gR1),
        ]
        t.inputGradient = try Tensor(shape: input.shape, storage: gX)
        return t
    }
}

/// l2(relu(l1(x))), l1 W = [[1, −1], [2, 1]], l2 W = [[−1, 1]], no biases; `[N, 2]` → `[N, 1]`
/// (reference A3's two-layer net; optionally a second output row for the target wrappers).
struct TwoLayerNet<Scalar: TensorScalar>: RuleToyModel {
    let l1 = Dense<Scalar>(weights: [1, -1, 2, 1], bias: [0, 0], inputs: 2)
    var l2 = Dense<Scalar>(weights: [-1, 1], bias: [0], inputs: 2)
    var classCount: Int { l2.outputs }
    var layerNames: [String] { ["hidden"] }

    func run(
        _ input: Tensor<Scalar>, rule: ReLUBackwardRule, outputGradient: ((Tensor<Scalar>) throws -> Tensor<Scalar>)?
    ) throws -> Trace<Scalar> {
        let n = input.shape[0]
        let h = l1.forward(input.storage, batch: n)
        let r = relu(h)
        var t = Trace(outputs: try Tensor(shape: [n, l2.outputs], storage: l2.forward(r, batch: n)))
        t.activations["hidden"] = try Tensor(shape: [n, 2], storage: r)
        guard let outputGradient else { return t }
        let gR = l2.backward(try outputGradient(t.outputs).storage, batch: n)
        t.gradients["hidden"] = try Tensor(shape: [n, 2], storage: gR)
        t.inputGradient = try Tensor(
            shape: input.shape, storage: l1.backward(ruleBackward(gR, pre: h, rule: rule), batch: n))
        return t
    }
}

/// Quad: f(x) = Σⱼ xⱼ², `[N, D]` → `[N, 1]`, gradient 2x (no ReLU).
struct QuadModel<Scalar: TensorScalar>: RuleToyModel {
    var classCount: Int { 1 }
    var layerNames: [String] { [] }

    func run(
        _ input: Tensor<Scalar>, rule: ReLUBackwardRule, outputGradient: ((Tensor<Scalar>) throws -> Tensor<Scalar>)?
    ) throws -> Trace<Scalar> {
        let n = input.shape[0], d = input.count / max(1, n)
        let out = (0..<n).map { i in input.storage[i * d..<(i + 1) * d].reduce(0) { $0 + $1 * $1 } }
        var t = Trace(outputs: try Tensor(shape: [n, 1], storage: out))
        guard let outputGradient else { return t }
        let g = try outputGradient(t.outputs).storage
        t.inputGradient = try Tensor(
            shape: input.shape, storage: input.storage.indices.map { 2 * input.storage[$0] * g[$0 / d] })
        return t
    }
}
