import LeafLensMath

extension ResNetProgram {
    /// Checks an input batch: `[N, 3, H, W]` with N ≥ 1 and H, W ≥ 32.
    public func validateInput(_ shape: [Int]) throws(ModelError) {
        guard shape.count == 4, shape[0] >= 1, shape[1] == 3 else {
            throw .invalidInput("input must be [N, 3, H, W], got \(shape)")
        }
        guard shape[2] >= 32, shape[3] >= 32 else {
            throw .invalidInput("input is \(shape[2])×\(shape[3]); a ResNet needs at least 32×32")
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
        if let lowest = plan?.lowestLayer, layers[lowest] == nil {
            throw .unknownLayer(lowest, available: availableLayers)
        }
        let schedule = plannedSchedule(for: ScheduleKey(taps: taps, plan: plan))

        var values = [Tensor<T>?](repeating: nil, count: valueCount)
        var shapes = [[Int]](repeating: [], count: valueCount)
        var argmax: [Int: [Int32]] = [:]
        var caches: [Int: BatchNormCache<T>] = [:]
        var statistics: [String: Tensor<T>] = [:]
        values[0] = input
        shapes[0] = input.shape
        // safe: each action reads values written by earlier actions and released only after their last use.
        func value(_ id: Int) -> Tensor<T> { values[id]! }
        /// The value, taken out of the list so that it is uniquely referenced and can be updated in place.
        func take(_ id: Int) -> Tensor<T> {
            defer { values[id] = nil }
            return values[id]!  // safe: as above
        }
        for entry in schedule.entries {
            let step = steps[entry.step]
            let first = step.inputs[0]
            let y: Tensor<T>
            switch entry.action {
            case .convolution(let conv):
                y = layer { () throws(TensorError) in try conv.forward(value(first)) }
            case .convolutionReLU(let conv):
                y = layer { () throws(TensorError) in try conv.forwardFused(value(first), residual: nil) }
            case .convolutionAddReLU(let conv, let identity):
                y = layer { () throws(TensorError) in try conv.forwardFused(value(first), residual: value(identity)) }
            case .batchNorm(var bn, let name, let training):
                if training {
                    let (out, cache) = layer { () throws(TensorError) in try bn.forwardTraining(value(first)) }
                    caches[entry.step] = cache
                    statistics["\(name).running_mean"] = bn.runningMean
                    statistics["\(name).running_var"] = bn.runningVar
                    y = out
                } else {
                    y = layer { () throws(TensorError) in try bn.forward(value(first)) }
                }
            case .relu(let inPlace):
                if inPlace {
                    var x = take(first)
                    ReLU.apply(&x)
                    y = x
                } else {
                    y = ReLU.forward(value(first))
                }
            case .add(let inPlace):
                let b = value(step.inputs[1])
                if inPlace {
                    var x = take(first)
                    layer { () throws(TensorError) in try ResidualAdd.add(b, into: &x) }
                    y = x
                } else {
                    y = layer { () throws(TensorError) in try ResidualAdd.forward(value(first), b) }
                }
            case .maxPool(let pool, let keepIndices):
                if keepIndices {
                    let (out, indices) = layer { () throws(TensorError) in try pool.forward(value(first)) }
                    argmax[entry.step] = indices
                    y = out
                } else {
                    y = layer { () throws(TensorError) in try pool.forwardValues(value(first)) }
                }
            case .averagePool:
                let x = value(first)
                y = layer { () throws(TensorError) in
                    try GlobalAveragePool.forward(x).reshaped([x.shape[0], x.shape[1], 1, 1])
                }
            case .linear(let fc):
                let x = value(first)
                y = layer { () throws(TensorError) in try fc.forward(x.reshaped([x.shape[0], x.count / x.shape[0]])) }
            }
            for id in entry.covers { shapes[id] = y.shape }
            values[entry.output] = y
            for id in entry.release { values[id] = nil }
        }
        let outputs = value(outputValue)
        var activations: [String: Tensor<T>] = [:]
        for name in taps { if let id = layers[name], let v = values[id] { activations[name] = v } }
        return ForwardRecord(
            outputs: outputs, layerActivations: activations, updatedStatistics: statistics, plan: plan,
            floor: schedule.floor, values: plan == nil ? [] : values, shapes: shapes, argmax: argmax,
            batchNormCaches: caches)
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
        guard let plan = record.plan else {
            throw .invalidInput("backward needs a forward pass run with a backward plan")
        }
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
        guard stopAt >= record.floor else {
            throw .invalidInput(
                "the forward pass kept state only above '\(plan.lowestLayer ?? "")'; run it with a plan that reaches the input or layers asked for"
            )
        }

        prepareInputGradients(steps: (stopAt + 1)..<steps.count)
        let tappedValues = Set(names.compactMap { layers[$0] })
        var grads = [Tensor<T>?](repeating: nil, count: valueCount)
        grads[outputValue] = gradOutput
        var parameterGradients: [String: Tensor<T>] = [:]
        let values = record.values
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
                var g: ConvGradients<T>? =
                    plan.parameterGradients && name != nil
                    ? ConvGradients(weightShape: conv.weight.shape, hasBias: conv.bias != nil) : nil
                dx = layer { () throws(TensorError) in
                    try conv.backward(
                        gradOutput: dy, inputShape: inShape, input: g == nil ? nil : values[step.inputs[0]],
                        parameterGradients: &g)
                }
                if let g, let name { parameterGradients["\(name).weight"] = g.weight }
            case .batchNorm(let bn, let name):
                var g: BatchNormGradients<T>? =
                    plan.parameterGradients ? BatchNormGradients(channels: bn.channels) : nil
                if plan.training, let cache = record.batchNormCaches[i], let x = values[step.inputs[0]] {
                    dx = layer { () throws(TensorError) in
                        try bn.backwardTraining(gradOutput: dy, input: x, cache: cache, parameterGradients: &g)
                    }
                } else {
                    dx = layer { () throws(TensorError) in
                        try bn.backward(gradOutput: dy, input: values[step.inputs[0]], parameterGradients: &g)
                    }
                }
                if let g {
                    parameterGradients["\(name).weight"] = g.weight
                    parameterGradients["\(name).bias"] = g.bias
                }
            case .relu:
                // safe: a forward pass with a plan keeps every ReLU output above its floor.
                let y = values[step.output]!
                if tapped {
                    dx = ReLU.backward(gradOutput: dy, output: y, rule: reluRule)
                } else {
                    ReLU.backwardInPlace(&dy, output: y, rule: reluRule)
                    dx = dy
                }
            case .maxPool(let pool):
                let indices = record.argmax[i]!  // safe: kept by a planned forward above its floor
                dx = pool.backward(gradOutput: dy, argmax: indices, inputShape: inShape)
            case .add:
                accumulate(&grads, step.inputs[1], dy)
                dx = dy
            case .averagePool:
                dx = layer { () throws(TensorError) in
                    GlobalAveragePool.backward(
                        gradOutput: try dy.reshaped([inShape[0], inShape[1]]), inputShape: inShape)
                }
            case .linear(let fc, let name):
                var g: LinearGradients<T>? =
                    plan.parameterGradients
                    ? LinearGradients(weightShape: fc.weight.shape, hasBias: fc.bias != nil) : nil
                dx = layer { () throws(TensorError) in
                    let flatInput = try values[step.inputs[0]].map { x throws(TensorError) in
                        try x.reshaped([x.shape[0], x.count / x.shape[0]])
                    }
                    return try fc.backward(gradOutput: dy, input: g == nil ? nil : flatInput, parameterGradients: &g)
                        .reshaped(inShape)
                }
                if let g {
                    parameterGradients["\(name).weight"] = g.weight
                    if let b = g.bias { parameterGradients["\(name).bias"] = b }
                }
            }
            accumulate(&grads, step.inputs[0], dx)
        }
        var layerGrads: [String: Tensor<T>] = [:]
        for name in names { if let id = layers[name], let g = grads[id] { layerGrads[name] = g } }
        return BackwardResult(input: wantInput ? grads[0] : nil, layers: layerGrads, parameters: parameterGradients)
    }

    /// Runs one layer of a validated program on shapes the program produced itself: a shape error
    /// there is a bug in LeafLens, not in the input (which `validateInput` checked).
    @inline(__always)
    private func layer<R>(_ body: () throws(TensorError) -> R) -> R {
        do { return try body() } catch { preconditionFailure("ResNetProgram invariant broken: \(error)") }  // safe: see above
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

extension ResNetProgram {
    /// Packs every convolution's input-gradient copies not made yet (`leaflens info` measures them).
    public func prepareInputGradients() { prepareInputGradients(steps: steps.indices) }

    /// Packs, on all workers and largest first, the input-gradient copies (`InputGradientPacking.onFirstUse`)
    /// that the convolutions among `steps` have not made yet, which their first backward pass would
    /// otherwise make one after another on the calling thread. The copies are the same either way.
    func prepareInputGradients(steps range: Range<Int>) {
        var pending: [Conv2d<T>] = []
        for i in range {
            if case .convolution(let conv, _) = steps[i].operation, conv.inputGradientPending { pending.append(conv) }
        }
        guard !pending.isEmpty else { return }
        pending.sort { $0.weight.count > $1.weight.count }
        let work = pending
        Parallel.forEach(work.count) { work[$0].prepareInputGradient() }
    }
}
