import LeafLensMath

extension ResNetProgram {
    /// Checks an input batch: `[N, 3, H, W]` with N ≥ 1 and H, W ≥ 32.
    public func validateInput(_ shape: [Int]) throws(ModelError) {
        guard shape.count == 4, shape[0] >= 1, shape[1] == 3 else {
            throw .invalidInput("input must be [N, 3, H, W], got \(shape)")
        }
        guard shape[2] >= 32, shape[3] >= 32 else {
            throw .invalidInput("input is \(shape[2])×\(shape[3]); ResNet18 needs at least 32×32")
        }
    }

    /// Runs the network on `[N, 3, H, W]`. `taps` names layers whose activations to return. With a
    /// `backward` plan, keeps what `backward(_:)` needs; without one, frees each value after its last use.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(
        _ input: Tensor<T>, taps: Set<String> = [], backward plan: BackwardPlan? = nil
    ) throws(ModelError) -> ForwardRecord<T> {
        try validateInput(input.shape)
        for name in taps where layers[name] == nil { throw .unknownLayer(name, available: availableLayers) }
        // Steps up to `floor` need nothing kept for a backward pass that stops above them.
        var floor = -1
        if let lowest = plan?.lowestLayer {
            guard let id = layers[lowest] else { throw .unknownLayer(lowest, available: availableLayers) }
            floor = steps.firstIndex { $0.output == id } ?? -1
        }
        let keep = retainedValues(taps: taps, plan: plan, above: floor)
        var lastUse = [Int](repeating: -1, count: valueCount)
        var readers = [Int](repeating: 0, count: valueCount)
        for (i, step) in steps.enumerated() {
            for v in step.inputs {
                lastUse[v] = i
                readers[v] += 1
            }
        }
        /// Whether value `v` is read by step `i` alone and need not be kept: then it never has to exist.
        func passesThrough(_ v: Int, into i: Int) -> Bool {
            readers[v] == 1 && lastUse[v] == i && !keep.contains(v)
        }
        var skipThrough = -1  // steps already computed by a fused step

        var values = [Tensor<T>?](repeating: nil, count: valueCount)
        var shapes = [[Int]](repeating: [], count: valueCount)
        var argmax: [Int: [Int32]] = [:]
        var caches: [Int: BatchNormCache<T>] = [:]
        var statistics: [String: Tensor<T>] = [:]
        values[0] = input
        shapes[0] = input.shape
        do {
            for (i, step) in steps.enumerated() {
                if i <= skipThrough { continue }
                // conv → ReLU and conv → add → ReLU (a block's end) run as one pass over the output when the
                // convolution has packed weights and the intermediate values are needed by nothing else.
                // The backward pass reads only the ReLU output, which is produced as usual.
                if case .convolution(let conv, _) = step.operation, conv.fuses, i + 1 < steps.count,
                    passesThrough(step.output, into: i + 1), let x = values[step.inputs[0]]
                {
                    let next = steps[i + 1]
                    var fused: (y: Tensor<T>, last: Int, identity: Int?)?
                    if case .relu = next.operation {
                        fused = (try conv.forwardFused(x, residual: nil, relu: true), i + 1, nil)
                    } else if case .add = next.operation, i + 2 < steps.count, next.inputs[0] == step.output,
                        next.inputs[1] != step.output, passesThrough(next.output, into: i + 2),
                        case .relu = steps[i + 2].operation, let identity = values[next.inputs[1]]
                    {
                        fused = (try conv.forwardFused(x, residual: identity, relu: true), i + 2, next.inputs[1])
                    }
                    if let fused {
                        for j in i...fused.last { shapes[steps[j].output] = fused.y.shape }
                        values[steps[fused.last].output] = fused.y
                        for v in step.inputs where lastUse[v] == i && !keep.contains(v) { values[v] = nil }
                        if let id = fused.identity, lastUse[id] == i + 1, !keep.contains(id) { values[id] = nil }
                        skipThrough = fused.last
                        continue
                    }
                }
                // A value read for the last time and not kept can be updated in place (ReLU, add):
                // taking it out of `values` leaves it uniquely referenced, so no copy is made.
                let first = step.inputs[0]
                let consumable = lastUse[first] == i && !keep.contains(first)
                    && step.inputs.dropFirst().allSatisfy { $0 != first }
                if consumable, case .relu = step.operation, var x = values[first] {
                    values[first] = nil
                    ReLU.apply(&x)
                    shapes[step.output] = x.shape
                    values[step.output] = x
                    continue
                }
                if consumable, case .add = step.operation, var x = values[first], let b = values[step.inputs[1]] {
                    values[first] = nil
                    try ResidualAdd.add(b, into: &x)
                    shapes[step.output] = x.shape
                    values[step.output] = x
                    for v in step.inputs where lastUse[v] == i && !keep.contains(v) { values[v] = nil }
                    continue
                }
                // safe: every step reads values produced by earlier steps, kept until their last use.
                let x = values[first]!
                let y: Tensor<T>
                switch step.operation {
                case .convolution(let conv, _):
                    y = try conv.forward(x)
                case .batchNorm(var bn, let name):
                    if plan?.training == true {
                        let (out, cache) = try bn.forwardTraining(x)
                        caches[i] = cache
                        statistics["\(name).running_mean"] = bn.runningMean
                        statistics["\(name).running_var"] = bn.runningVar
                        y = out
                    } else {
                        y = try bn.forward(x)
                    }
                case .relu:
                    y = ReLU.forward(x)
                case .maxPool(let pool):
                    if plan != nil && i > floor {
                        let (out, indices) = try pool.forward(x)
                        argmax[i] = indices
                        y = out
                    } else {
                        y = try pool.forwardValues(x)
                    }
                case .add:
                    y = try ResidualAdd.forward(x, values[step.inputs[1]]!)  // safe: as above
                case .averagePool:
                    y = try GlobalAveragePool.forward(x).reshaped([x.shape[0], x.shape[1], 1, 1])
                case .linear(let fc, _):
                    y = try fc.forward(x.reshaped([x.shape[0], x.count / x.shape[0]]))
                }
                shapes[step.output] = y.shape
                values[step.output] = y
                for v in step.inputs where lastUse[v] == i && !keep.contains(v) { values[v] = nil }
            }
        } catch {
            throw .invalidInput("\(error)")
        }
        let outputs = values[outputValue] ?? Tensor(zeros: [0])
        var activations: [String: Tensor<T>] = [:]
        for name in taps { if let id = layers[name], let v = values[id] { activations[name] = v } }
        return ForwardRecord(
            outputs: outputs, layerActivations: activations, updatedStatistics: statistics, plan: plan,
            values: plan == nil ? [] : values, shapes: shapes, argmax: argmax, batchNormCaches: caches)
    }

    /// Values the backward pass reads: ReLU outputs (their masks), tapped layers, and — for parameter
    /// gradients or training-mode BatchNorm — the inputs of parameterised layers.
    private func retainedValues(taps: Set<String>, plan: BackwardPlan?, above floor: Int) -> Set<Int> {
        var keep = Set(taps.compactMap { layers[$0] })
        keep.insert(outputValue)
        guard let plan else { return keep }
        for step in steps[(floor + 1)...] {
            switch step.operation {
            case .relu: keep.insert(step.output)
            case .convolution(_, let name), .linear(_, let name as String?):
                if plan.parameterGradients && name != nil { keep.insert(step.inputs[0]) }
            case .batchNorm:
                if plan.parameterGradients || plan.training { keep.insert(step.inputs[0]) }
            default: break
            }
        }
        return keep
    }

    /// Reverse pass. `gradOutput` is ∂L/∂outputs (`[N, K]`, e.g. one-hot rows for per-image targets).
    /// Returns ∂L/∂input if `input` is true, ∂L/∂(layer) for each name in `layers`, and parameter gradients
    /// if the forward plan asked for them. Stops as soon as nothing further down is needed.
    /// `reluRule` replaces every ReLU's local gradient (guided backprop, deconvolution; see `ReLUBackwardRule`).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(
        _ record: ForwardRecord<T>, gradOutput: Tensor<T>, input wantInput: Bool = true, layers names: Set<String> = [],
        reluRule: ReLUBackwardRule = .standard
    ) throws(ModelError) -> BackwardResult<T> {
        guard let plan = record.plan else { throw .invalidInput("backward needs a forward pass run with a backward plan") }
        guard gradOutput.shape == record.outputs.shape else {
            throw .invalidInput("output gradient has shape \(gradOutput.shape), outputs are \(record.outputs.shape)")
        }
        var producer = [Int](repeating: -1, count: valueCount)
        for (i, step) in steps.enumerated() { producer[step.output] = i }
        var stopAt = wantInput || plan.parameterGradients ? -1 : steps.count
        for name in names {
            guard let id = layers[name] else { throw .unknownLayer(name, available: availableLayers) }
            stopAt = min(stopAt, producer[id])
        }

        let tappedValues = Set(names.compactMap { layers[$0] })
        var grads = [Tensor<T>?](repeating: nil, count: valueCount)
        grads[outputValue] = gradOutput
        var parameterGradients: [String: Tensor<T>] = [:]
        let values = record.values
        do {
            for i in stride(from: steps.count - 1, to: stopAt, by: -1) {
                let step = steps[i]
                guard var dy = grads[step.output] else { continue }
                // Each gradient is read by exactly one step: release it (so `dy` is uniquely referenced and
                // can be updated in place) unless it was asked for as a layer gradient.
                let tapped = tappedValues.contains(step.output)
                if !tapped { grads[step.output] = nil }
                let inShape = record.shapes[step.inputs[0]]
                var dx: Tensor<T>
                switch step.operation {
                case .convolution(let conv, let name):
                    var g: ConvGradients<T>? = plan.parameterGradients && name != nil
                        ? ConvGradients(weightShape: conv.weight.shape, hasBias: conv.bias != nil) : nil
                    dx = try conv.backward(
                        gradOutput: dy, inputShape: inShape, input: g == nil ? nil : values[step.inputs[0]],
                        parameterGradients: &g)
                    if let g, let name { parameterGradients["\(name).weight"] = g.weight }
                case .batchNorm(let bn, let name):
                    var g: BatchNormGradients<T>? = plan.parameterGradients ? BatchNormGradients(channels: bn.channels) : nil
                    if plan.training, let cache = record.batchNormCaches[i], let x = values[step.inputs[0]] {
                        dx = try bn.backwardTraining(gradOutput: dy, input: x, cache: cache, parameterGradients: &g)
                    } else {
                        dx = try bn.backward(gradOutput: dy, input: values[step.inputs[0]], parameterGradients: &g)
                    }
                    if let g {
                        parameterGradients["\(name).weight"] = g.weight
                        parameterGradients["\(name).bias"] = g.bias
                    }
                case .relu:
                    guard let y = values[step.output] else { throw ModelError.invalidInput("ReLU output was not kept") }
                    if tapped {
                        dx = ReLU.backward(gradOutput: dy, output: y, rule: reluRule)
                    } else {
                        ReLU.backwardInPlace(&dy, output: y, rule: reluRule)
                        dx = dy
                    }
                case .maxPool(let pool):
                    guard let indices = record.argmax[i] else { throw ModelError.invalidInput("max-pool indices were not kept") }
                    dx = pool.backward(gradOutput: dy, argmax: indices, inputShape: inShape)
                case .add:
                    accumulate(&grads, step.inputs[1], dy)
                    dx = dy
                case .averagePool:
                    dx = GlobalAveragePool.backward(gradOutput: try dy.reshaped([inShape[0], inShape[1]]), inputShape: inShape)
                case .linear(let fc, let name):
                    var g: LinearGradients<T>? = plan.parameterGradients
                        ? LinearGradients(weightShape: fc.weight.shape, hasBias: fc.bias != nil) : nil
                    let flatInput = try values[step.inputs[0]].map { x throws(TensorError) in
                        try x.reshaped([x.shape[0], x.count / x.shape[0]])
                    }
                    dx = try fc.backward(gradOutput: dy, input: g == nil ? nil : flatInput, parameterGradients: &g)
                    dx = try dx.reshaped(inShape)
                    if let g {
                        parameterGradients["\(name).weight"] = g.weight
                        if let b = g.bias { parameterGradients["\(name).bias"] = b }
                    }
                }
                accumulate(&grads, step.inputs[0], dx)
            }
        } catch let error as ModelError {
            throw error
        } catch {
            throw .invalidInput("\(error)")
        }
        var layerGrads: [String: Tensor<T>] = [:]
        for name in names { if let id = layers[name], let g = grads[id] { layerGrads[name] = g } }
        return BackwardResult(input: wantInput ? grads[0] : nil, layers: layerGrads, parameters: parameterGradients)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func accumulate(_ grads: inout [Tensor<T>?], _ id: Int, _ g: Tensor<T>) {
        if var existing = grads[id] {
            grads[id] = nil  // keep the storage uniquely referenced while adding
            existing.storage.withUnsafeMutableBufferPointer { a in
                g.storage.withUnsafeBufferPointer { b in for j in 0..<a.count { a[j] += b[j] } }
            }
            grads[id] = existing
        } else {
            grads[id] = g
        }
    }

    /// One-hot rows: ∂(Σᵢ outputs[i, targets[i]])/∂outputs.
    public static func oneHot(targets: [Int], classCount: Int) throws(ModelError) -> Tensor<T> {
        var g = Tensor<T>(zeros: [targets.count, classCount])
        for (i, t) in targets.enumerated() {
            guard t >= 0 && t < classCount else {
                throw .invalidInput("target \(t) is outside the model's classes 0..<\(classCount)")
            }
            g.storage[i * classCount + t] = 1
        }
        return g
    }
}

extension ResNet18 {
    /// Binds the layers once; with `foldingBatchNorm`, each eval-mode BN is folded into its convolution;
    /// `fastConvolutions` enables Winograd for classification-only programs on CPUs without LeafLens's
    /// AVX-512 convolution kernel.
    public func program(foldingBatchNorm: Bool = true, fastConvolutions: Bool = false) throws(ModelError) -> ResNetProgram<T> {
        try ResNetProgram(model: self, foldingBatchNorm: foldingBatchNorm, fastConvolutions: fastConvolutions)
    }
}
