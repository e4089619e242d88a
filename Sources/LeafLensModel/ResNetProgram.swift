import LeafLensMath

/// A ResNet18 bound to its layers as a straight-line program: a list of steps, each reading value ids
/// and writing one. `forward` runs the list; `backward` runs it in reverse, one VJP per step, so a reviewer
/// checks one list against the other (the residual `add` is the only step with two inputs; a value read
/// twice — a block's input — receives the sum of both gradients).
///
/// Values carry torchvision module paths as names (`conv1`, `bn1`, `relu`, `maxpool`, `layer1` … `layer4`,
/// `layer4.1`, `layer4.1.conv2`, `layer4.1.bn2`, `layer2.0.downsample`, `avgpool` (`[N, C, 1, 1]`), `fc`).
/// `layerL.B.relu` names the first ReLU inside a block (torchvision reuses that module twice; the second
/// use is the block's output `layerL.B`). With BatchNorm folded into the convolutions (inference), the
/// pre-BN convolution outputs (`conv1`, `…conv1`, `…conv2`, `…downsample.0`) do not exist.
public struct ResNetProgram<T: TensorScalar>: Sendable {
    enum Operation: Sendable {
        case convolution(Conv2d<T>, parameter: String?)
        case batchNorm(BatchNorm2d<T>, parameter: String)
        case relu
        case maxPool(MaxPool2d)
        case add
        case averagePool
        case linear(Linear<T>, parameter: String)
    }

    struct Step: Sendable {
        var operation: Operation
        var inputs: [Int]
        var output: Int
    }

    var steps: [Step] = []
    /// Public layer names → value id.
    public private(set) var layers: [String: Int] = [:]
    var layerOrder: [String] = []
    var valueCount = 1  // value 0 is the input
    public let foldsBatchNorm: Bool
    public let configuration: ResNet18Configuration

    /// Layer names available for taps, in forward order.
    public var availableLayers: [String] { layerOrder }

    /// With `fold`, the convolutions carry their weights packed for LeafLens's AVX-512 kernel where the CPU
    /// has it (`Conv2d.withPackedWeights()`), for classification and attribution alike. `fastConvolutions`
    /// (with `fold`) lets 3×3 convolutions use Winograd on CPUs without that kernel: for classification
    /// only (see `Conv2d.preparedForInference()` for why attribution does not).
    public init(model: ResNet18<T>, foldingBatchNorm fold: Bool, fastConvolutions: Bool = false) throws(ModelError) {
        foldsBatchNorm = fold
        configuration = model.configuration
        let p = model.parameters
        func tensor(_ name: String) throws(ModelError) -> Tensor<T> {
            guard let t = p[name] else { throw .missingKeys([name]) }
            return t
        }
        func batchNorm(_ prefix: String) throws(ModelError) -> BatchNorm2d<T> {
            do {
                return try BatchNorm2d(
                    weight: try tensor("\(prefix).weight"), bias: try tensor("\(prefix).bias"),
                    runningMean: try tensor("\(prefix).running_mean"), runningVar: try tensor("\(prefix).running_var"))
            } catch let e as ModelError { throw e } catch { throw .notResNet18("\(prefix): \(error)") }
        }
        /// conv (+ BN): emits one folded step named after the BN, or two steps.
        func convBN(_ input: Int, conv convName: String, bn bnName: String, stride: Int, padding: Int) throws(ModelError) -> Int {
            let conv: Conv2d<T>
            do { conv = try Conv2d(weight: try tensor("\(convName).weight"), stride: stride, padding: padding) } catch let e as ModelError { throw e } catch { throw .notResNet18("\(convName): \(error)") }
            let bn = try batchNorm(bnName)
            if fold {
                var folded: Conv2d<T>
                do {
                    folded = try bn.folded(into: conv).withPackedWeights()
                    if fastConvolutions && !PackedMatrix.isAvailable { folded = folded.preparedForInference() }
                } catch { throw .notResNet18("\(bnName): \(error)") }
                return emit(.convolution(folded, parameter: nil), [input], name: bnName)
            }
            let c = emit(.convolution(conv, parameter: convName), [input], name: convName)
            return emit(.batchNorm(bn, parameter: bnName), [c], name: bnName)
        }

        var x = try convBN(0, conv: "conv1", bn: "bn1", stride: 2, padding: 3)
        x = emit(.relu, [x], name: "relu")
        do { x = emit(.maxPool(try MaxPool2d(kernel: 3, stride: 2, padding: 1)), [x], name: "maxpool") } catch { throw .invalidInput("\(error)") }
        var inChannels = configuration.width
        for (stage, planes) in configuration.stageWidths.enumerated() {
            for block in 0..<ResNet18Configuration.blocksPerStage[stage] {
                let prefix = "layer\(stage + 1).\(block)"
                let stride = block == 0 ? ResNet18Configuration.stageStrides[stage] : 1
                let blockInput = x
                var y = try convBN(blockInput, conv: "\(prefix).conv1", bn: "\(prefix).bn1", stride: stride, padding: 1)
                y = emit(.relu, [y], name: "\(prefix).relu")
                y = try convBN(y, conv: "\(prefix).conv2", bn: "\(prefix).bn2", stride: 1, padding: 1)
                var identity = blockInput
                if block == 0 && (stride != 1 || inChannels != planes) {
                    identity = try convBN(
                        blockInput, conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", stride: stride, padding: 0)
                    alias("\(prefix).downsample", identity)
                }
                let sum = emit(.add, [y, identity], name: nil)
                x = emit(.relu, [sum], name: prefix)
                inChannels = planes
            }
            alias("layer\(stage + 1)", x)
        }
        x = emit(.averagePool, [x], name: "avgpool")
        do {
            let fc = try Linear(weight: try tensor("fc.weight"), bias: try tensor("fc.bias"))
            _ = emit(.linear(fc, parameter: "fc"), [x], name: "fc")
        } catch let e as ModelError { throw e } catch { throw .notResNet18("fc: \(error)") }
    }

    /// A copy whose convolutions carry their weights packed for LeafLens's AVX-512 kernel (see
    /// `Conv2d.withPackedWeights()`); for programs whose weights stay fixed (folded programs have it already).
    public func withPackedWeights() -> ResNetProgram {
        var copy = self
        for i in copy.steps.indices {
            if case .convolution(let conv, let parameter) = copy.steps[i].operation {
                copy.steps[i].operation = .convolution(conv.packed == nil ? conv.withPackedWeights() : conv, parameter: parameter)
            }
        }
        return copy
    }

    /// A copy whose 3×3 convolutions take the Winograd path and none the packed kernel: what classification
    /// runs on CPUs without AVX-512, so that tests on any machine can check it against torchvision.
    func withWinogradConvolutions() -> ResNetProgram {
        var copy = self
        for i in copy.steps.indices {
            if case .convolution(var conv, let parameter) = copy.steps[i].operation {
                conv.packed = nil
                copy.steps[i].operation = .convolution(conv.preparedForInference(), parameter: parameter)
            }
        }
        return copy
    }

    private mutating func emit(_ operation: Operation, _ inputs: [Int], name: String?) -> Int {
        let id = valueCount
        valueCount += 1
        steps.append(Step(operation: operation, inputs: inputs, output: id))
        if let name { alias(name, id) }
        return id
    }

    private mutating func alias(_ name: String, _ id: Int) {
        layers[name] = id
        layerOrder.append(name)
    }

    var outputValue: Int { valueCount - 1 }
}

/// What a forward pass must keep for the backward pass that follows it.
public struct BackwardPlan: Sendable, Equatable {
    /// Also compute parameter gradients (keeps layer inputs).
    public var parameterGradients: Bool
    /// Run BatchNorm in training mode (batch statistics; running statistics updated).
    public var training: Bool

    /// When set, the backward pass will stop at this layer's output (a layer gradient, e.g. for
    /// Grad-CAM): the forward pass keeps nothing for the steps at or below it.
    public var lowestLayer: String?

    public init(parameterGradients: Bool = false, training: Bool = false, lowestLayer: String? = nil) {
        self.parameterGradients = parameterGradients
        self.training = training
        self.lowestLayer = lowestLayer
    }

    public static let inputOnly = BackwardPlan()

    /// For gradients at `layer` only.
    public static func layerOnly(_ layer: String) -> BackwardPlan { BackwardPlan(lowestLayer: layer) }
}

/// The result of a forward pass: outputs `[N, K]`, requested layer activations, and (when a backward
/// plan was given) what the backward pass needs.
public struct ForwardRecord<T: TensorScalar>: Sendable {
    public let outputs: Tensor<T>
    public let layerActivations: [String: Tensor<T>]
    /// Updated BatchNorm running statistics (training mode only), keyed by state_dict name.
    public let updatedStatistics: [String: Tensor<T>]
    let plan: BackwardPlan?
    var values: [Tensor<T>?]
    var shapes: [[Int]]
    var argmax: [Int: [Int32]]
    var batchNormCaches: [Int: BatchNormCache<T>]
}

/// The result of a backward pass.
public struct BackwardResult<T: TensorScalar>: Sendable {
    /// ∂L/∂input, when requested.
    public var input: Tensor<T>?
    /// ∂L/∂(layer output) for each requested layer.
    public var layers: [String: Tensor<T>]
    /// ∂L/∂θ under state_dict names, when the forward plan asked for parameter gradients.
    public var parameters: [String: Tensor<T>]
}
