import LeafLensMath

/// What a program is built for; it decides BatchNorm folding and each convolution's algorithm.
public enum ProgramPurpose: String, Sendable, CaseIterable {
    /// Forward passes only (`classify`, `bench forward`): BN folded; per convolution the packed AVX-512
    /// kernel where the CPU has it, else Winograd for 3×3/1/1 convolutions from 128 input channels (measured
    /// 10–45% faster there, slower at 64), else im2col.
    case classification
    /// Forward and input/layer gradients with fixed weights (attribution): BN folded; packed where the
    /// CPU allows, else im2col — never Winograd, whose rounding moved IG past the Captum tolerance.
    case attribution
    /// Every state_dict layer its own step (parameter gradients, training-mode BatchNorm, and taps at pre-BN
    /// convolution outputs such as `layer3.0.conv2`): BN unfolded; im2col. The reference the others are
    /// checked against (`leaflens verify`'s second implementation) and the program for pre-BN taps, where
    /// packing would hold two more copies of the weights for one map.
    case training
    /// One optimizer step: the unfolded program of `.training`, with the packed AVX-512 kernels where the CPU
    /// has them — the weights are packed when the program is built, so once per step (W for the forward
    /// pass, the rotated filters or Wᵀ for the input gradient); the weight gradients run im2col + GEMM.
    case optimizerStep

    public var foldsBatchNorm: Bool { self != .training && self != .optimizerStep }

    /// When packed convolutions pack their input gradient's copies: never for classification (no backward
    /// pass); on first use for attribution, so a run whose backward passes stop above a convolution
    /// (Grad-CAM at layer4, occlusion, the CAM family) never makes its copies; at once for an optimizer
    /// step, whose backward always reaches every convolution.
    var inputGradientPacking: InputGradientPacking {
        switch self {
        case .classification: .never
        case .attribution: .onFirstUse
        case .training, .optimizerStep: .now
        }
    }

    /// Winograd pays from this many input channels on (see `classification`).
    static let winogradMinimumChannels = 128

    /// The algorithm for `conv` in a program built for this purpose.
    func algorithm<T>(for conv: Conv2d<T>) -> ConvolutionAlgorithm {
        switch self {
        case .training: return .im2col
        case .attribution, .optimizerStep: return conv.supports(.packed) ? .packed : .im2col
        case .classification:
            if conv.supports(.packed) { return .packed }
            return conv.supports(.winograd) && conv.inChannels >= Self.winogradMinimumChannels ? .winograd : .im2col
        }
    }
}

/// A ResNet bound to its layers as a straight-line program: a list of steps, each reading value ids
/// and writing one. `forward` runs a schedule of those steps (fusions and value lifetimes planned once,
/// see `ResNetProgram+Schedule.swift`); `backward` runs the steps in reverse, one VJP per step, so a
/// reviewer checks one list against the other (the residual `add` is the only step with two inputs; a
/// value read twice — a block's input — receives the sum of both gradients).
///
/// Values carry torchvision module paths as names (`conv1`, `bn1`, `relu`, `maxpool`, `layer1` … `layer4`,
/// `layer4.1`, `layer4.1.conv2`, `layer4.1.bn2`, `layer4.2.conv3`, `layer2.0.downsample`, `avgpool`
/// (`[N, C, 1, 1]`), `fc`). `layerL.B.relu` names the first ReLU inside a block (torchvision reuses that
/// module two or three times; the last use is the block's output `layerL.B`). With BatchNorm folded into the
/// convolutions, the pre-BN convolution outputs (`conv1`, `…conv1`, `…conv2`, `…downsample.0`) do not exist.
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
    public let purpose: ProgramPurpose
    public let configuration: ResNetConfiguration
    /// Schedules planned when the program was built (no taps; without a backward plan, for input
    /// gradients, and for training); others are planned per call.
    var schedules: [ScheduleKey: Schedule<T>] = [:]

    public var foldsBatchNorm: Bool { purpose.foldsBatchNorm }

    /// Layer names available for taps, in forward order.
    public var availableLayers: [String] { layerOrder }

    /// Binds `model`'s layers as its block table (`ResNetConfiguration.blocks`) describes them, for `purpose`.
    public init(model: ResNet<T>, purpose: ProgramPurpose) throws(ModelError) {
        self.purpose = purpose
        configuration = model.configuration
        let p = model.parameters
        func tensor(_ name: String) throws(ModelError) -> Tensor<T> {
            guard let t = p[name] else { throw .missingKeys([name]) }
            return t
        }
        func bind(_ unit: ConvolutionUnit) throws(ModelError) -> (Conv2d<T>, BatchNorm2d<T>) {
            do {
                let conv = try Conv2d(
                    weight: try tensor("\(unit.convolution).weight"), stride: unit.stride, padding: unit.padding)
                let bn = try BatchNorm2d(
                    weight: try tensor("\(unit.norm).weight"), bias: try tensor("\(unit.norm).bias"),
                    runningMean: try tensor("\(unit.norm).running_mean"),
                    runningVar: try tensor("\(unit.norm).running_var"))
                return (conv, bn)
            } catch let e as ModelError { throw e } catch { throw .notResNet("\(unit.convolution): \(error)") }
        }
        // Folding writes a new copy of every convolution's weights (45 MB for the full-width ResNet18, most
        // of it first-touch page faults): spread over the workers, as the packing below is.
        let units = configuration.convolutionUnits
        let folded = purpose.foldsBatchNorm ? try Self.foldAll(units.map(bind), names: units.map(\.norm)) : []
        let foldedIndex = Dictionary(uniqueKeysWithValues: zip(units.map(\.norm), units.indices))
        /// conv (+ BN): one folded step named after the BN, or two steps.
        func unit(_ input: Int, _ unit: ConvolutionUnit) throws(ModelError) -> Int {
            // The convolutions are bound unprepared here and prepared together below.
            if purpose.foldsBatchNorm, let i = foldedIndex[unit.norm] {
                return emit(.convolution(folded[i], parameter: nil), [input], name: unit.norm)
            }
            let (conv, bn) = try bind(unit)
            let c = emit(.convolution(conv, parameter: unit.convolution), [input], name: unit.convolution)
            return emit(.batchNorm(bn, parameter: unit.norm), [c], name: unit.norm)
        }

        var x = try unit(0, configuration.stem)
        x = emit(.relu, [x], name: "relu")
        let pool = ResNetConfiguration.maxPool
        // safe: the table's window (3, 2, 1) is a valid max pool.
        x = emit(
            .maxPool(try! MaxPool2d(kernel: pool.kernel, stride: pool.stride, padding: pool.padding)), [x],  // safe: fixed valid window
            name: "maxpool")
        for block in configuration.blocks {
            let blockInput = x
            var y = blockInput
            for (k, conv) in block.body.enumerated() {
                y = try unit(y, conv)
                if k + 1 < block.body.count { y = emit(.relu, [y], name: k == 0 ? "\(block.name).relu" : nil) }
            }
            var identity = blockInput
            if let shortcut = block.shortcut {
                identity = try unit(blockInput, shortcut)
                alias("\(block.name).downsample", identity)
            }
            let sum = emit(.add, [y, identity], name: nil)
            x = emit(.relu, [sum], name: block.name)
            if block.index + 1 == configuration.stageBlocks[block.stage - 1] { alias("layer\(block.stage)", x) }
        }
        x = emit(.averagePool, [x], name: "avgpool")
        do {
            let fc = try Linear(weight: try tensor("fc.weight"), bias: try tensor("fc.bias"))
            _ = emit(.linear(fc, parameter: "fc"), [x], name: "fc")
        } catch let e as ModelError { throw e } catch { throw .notResNet("fc: \(error)") }
        prepareConvolutions()
        for key in [ScheduleKey(taps: [], plan: nil), ScheduleKey(taps: [], plan: .inputOnly)] {
            schedules[key] = schedule(for: key)
        }
        if !purpose.foldsBatchNorm {
            let key = ScheduleKey(taps: [], plan: BackwardPlan(parameterGradients: true, training: true))
            schedules[key] = schedule(for: key)
        }
    }

    /// Each BatchNorm folded into its convolution (`BatchNorm2d.folded(into:)`), the units spread over the
    /// workers, largest first; each fold is computed exactly as alone. Throws the first unit's error in
    /// `units` order, named by `names` (the BatchNorms').
    private static func foldAll(
        _ units: [(Conv2d<T>, BatchNorm2d<T>)], names: [String]
    ) throws(ModelError) -> [Conv2d<T>] {
        var results = [Result<Conv2d<T>, TensorError>?](repeating: nil, count: units.count)
        let work = units.indices.sorted { units[$0].0.weight.count > units[$1].0.weight.count }
        results.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            Parallel.forEach(work.count) { k in
                let (conv, bn) = units[work[k]]
                // Each worker writes its own element of `out`.
                do throws(TensorError) { out.value[work[k]] = .success(try bn.folded(into: conv)) } catch {
                    out.value[work[k]] = .failure(error)
                }
            }
        }
        var folded: [Conv2d<T>] = []
        folded.reserveCapacity(units.count)
        for (i, result) in results.enumerated() {
            switch result {
            case .success(let conv): folded.append(conv)
            case .failure(let error): throw .notResNet("\(names[i]): \(error)")
            case nil: throw .notResNet("\(names[i]) was not folded")
            }
        }
        return folded
    }

    /// Prepares every convolution for `purpose` (packs its weights, or transforms them for Winograd), the
    /// convolutions spread over the workers, largest first: packing is most of a one-image process's
    /// set-up, and the workers would otherwise spin idle beside it. Each convolution is prepared exactly as
    /// alone (`Conv2d.using`), so the numbers do not depend on this.
    private mutating func prepareConvolutions() {
        var found: [(step: Int, conv: Conv2d<T>)] = []
        for (i, step) in steps.enumerated() {
            if case .convolution(let conv, _) = step.operation { found.append((i, conv)) }
        }
        let work = found.indices.sorted { found[$0].conv.weight.count > found[$1].conv.weight.count }
        let (purpose, convs) = (self.purpose, found.map(\.conv))
        var prepared = convs
        prepared.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            Parallel.forEach(work.count) { k in
                let conv = convs[work[k]]
                // Each worker writes its own element of `out`.
                out.value[work[k]] = conv.using(
                    purpose.algorithm(for: conv), inputGradients: purpose.inputGradientPacking)
            }
        }
        for (k, item) in found.enumerated() {
            guard case .convolution(_, let parameter) = steps[item.step].operation else { continue }
            steps[item.step].operation = .convolution(prepared[k], parameter: parameter)
        }
    }

    /// The compatibility form: `foldingBatchNorm` with `fastConvolutions` is `.classification`, without it
    /// `.attribution`; no folding is `.training`.
    public init(model: ResNet<T>, foldingBatchNorm fold: Bool, fastConvolutions: Bool = false) throws(ModelError) {
        try self.init(model: model, purpose: fold ? (fastConvolutions ? .classification : .attribution) : .training)
    }

    /// A copy whose convolutions run `algorithm` where they can (for tests: e.g. Winograd's network-level
    /// torchvision parity on machines where classification would pack).
    func withConvolutions(_ algorithm: ConvolutionAlgorithm) -> ResNetProgram {
        var copy = self
        for i in copy.steps.indices {
            if case .convolution(let conv, let parameter) = copy.steps[i].operation {
                copy.steps[i].operation = .convolution(conv.using(algorithm), parameter: parameter)
            }
        }
        for key in copy.schedules.keys { copy.schedules[key] = copy.schedule(for: key) }
        return copy
    }

    /// What classification runs on CPUs without AVX-512 — Winograd for 3×3/1/1 convolutions from 128
    /// input channels, im2col elsewhere — so tests on any machine can check it against torchvision.
    func withWinogradConvolutions() -> ResNetProgram {
        var copy = self
        for i in copy.steps.indices {
            if case .convolution(let conv, let parameter) = copy.steps[i].operation {
                let winograd = conv.supports(.winograd) && conv.inChannels >= ProgramPurpose.winogradMinimumChannels
                copy.steps[i].operation = .convolution(conv.using(winograd ? .winograd : .im2col), parameter: parameter)
            }
        }
        for key in copy.schedules.keys { copy.schedules[key] = copy.schedule(for: key) }
        return copy
    }

    /// Each convolution's algorithm, in step order (for `leaflens info`/`bench` and tests).
    public var convolutionAlgorithms: [ConvolutionAlgorithm] {
        steps.compactMap { step in
            if case .convolution(let conv, _) = step.operation { return conv.algorithm }
            return nil
        }
    }

    /// Bytes held by the convolutions' prepared weight copies (packed or Winograd-transformed), beyond the
    /// weights themselves (for `leaflens info`).
    public var preparedWeightBytes: Int {
        steps.reduce(0) { total, step in
            if case .convolution(let conv, _) = step.operation { return total + conv.preparedBytes }
            return total
        }
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
public struct BackwardPlan: Sendable, Hashable {
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
    /// The index of the lowest step the backward pass may run (−1: all of them).
    let floor: Int
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

extension ResNet {
    /// Binds the layers once for `purpose` (BN folding and each convolution's algorithm follow from it).
    public func program(for purpose: ProgramPurpose) throws(ModelError) -> ResNetProgram<T> {
        try ResNetProgram(model: self, purpose: purpose)
    }

    /// The compatibility form of `program(for:)`: folded with `fastConvolutions` is `.classification`,
    /// folded without it `.attribution`, unfolded `.training`.
    public func program(
        foldingBatchNorm: Bool = true, fastConvolutions: Bool = false
    ) throws(ModelError) -> ResNetProgram<T> {
        try ResNetProgram(model: self, foldingBatchNorm: foldingBatchNorm, fastConvolutions: fastConvolutions)
    }
}
