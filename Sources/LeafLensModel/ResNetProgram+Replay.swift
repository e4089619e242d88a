import LeafLensMath

/// The part of a program above one layer, run on activations the caller supplies (AblationCAM ablates
/// channels there). Its steps are the program's own — built from the one block table — so it serves every
/// depth, BasicBlock and Bottleneck alike.
///
/// A layer is a **boundary** when nothing above it reads a value from below it: the stem's outputs (`bn1`,
/// `relu`, `maxpool`),
/// every block output `layerS.B` (and its stage alias `layerS`), `avgpool`. Values inside a block
/// (`layer4.2.bn2`, `layer3.0.relu`, `layer2.0.downsample`) are not boundaries — the block's residual add
/// still reads the block's input — and have no tail. There, pytorch-grad-cam (which swaps the layer's module
/// for one returning the prepared activations and re-runs the whole network) would combine the new
/// activation with the clean block input; LeafLens declines instead.
public struct ResNetProgramTail<T: TensorScalar>: Sendable {
    /// The layer the tail resumes from, and its value id in the program.
    public let layer: String
    let start: Int
    /// The program's steps above the layer, in forward order.
    let steps: [ResNetProgram<T>.Step]
    let valueCount: Int
    /// The last step (index into `steps`) that reads each value.
    let lastUse: [Int: Int]

    /// Outputs `[B, K]` of the network above the layer for activations `[B, C, h, w]` at it.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ activation: Tensor<T>) throws(ModelError) -> Tensor<T> {
        guard activation.rank == 4, activation.shape[0] >= 1 else {
            throw .invalidInput("activation at '\(layer)' must be [B, C, h, w], got \(activation.shape)")
        }
        var values: [Int: Tensor<T>] = [start: activation]
        func value(_ id: Int) throws(ModelError) -> Tensor<T> {
            guard let v = values[id] else {
                throw .invalidInput("replay above '\(layer)' reads value \(id) it does not have")
            }
            return v
        }
        func checked<R>(_ what: String, _ body: () throws(TensorError) -> R) throws(ModelError) -> R {
            do { return try body() } catch { throw .invalidInput("replay above '\(layer)': \(what): \(error)") }
        }
        for (i, step) in steps.enumerated() {
            let x = try value(step.inputs[0])
            let y: Tensor<T>
            switch step.operation {
            case .convolution(let conv, _):
                y = try checked("convolution") { () throws(TensorError) in try conv.forward(x) }
            case .batchNorm(let bn, let name):
                y = try checked(name) { () throws(TensorError) in try bn.forward(x) }
            case .relu:
                y = ReLU.forward(x)
            case .maxPool(let pool):
                y = try checked("maxpool") { () throws(TensorError) in try pool.forwardValues(x) }
            case .add:
                let b = try value(step.inputs[1])
                y = try checked("residual add") { () throws(TensorError) in try ResidualAdd.forward(x, b) }
            case .averagePool:
                y = try checked("avgpool") { () throws(TensorError) in
                    try GlobalAveragePool.forward(x).reshaped([x.shape[0], x.shape[1], 1, 1])
                }
            case .linear(let fc, _):
                y = try checked("fc") { () throws(TensorError) in
                    try fc.forward(x.reshaped([x.shape[0], x.count / x.shape[0]]))
                }
            }
            values[step.output] = y
            for id in step.inputs where lastUse[id] == i { values[id] = nil }
        }
        return try value(valueCount - 1)
    }
}

extension ResNetProgram {
    /// The tail above `layer` when it is a boundary (see `ResNetProgramTail`); nil for a layer inside a
    /// block or the output `fc`. Throws for a name the program does not have.
    public func tail(above layer: String) throws(ModelError) -> ResNetProgramTail<T>? {
        guard let start = layers[layer] else { throw .unknownLayer(layer, available: availableLayers) }
        guard let producer = steps.firstIndex(where: { $0.output == start }), producer + 1 < steps.count else {
            return nil
        }
        let above = Array(steps[(producer + 1)...])
        // Every value read above is the layer's own or computed above it.
        let computed = Set(above.map(\.output)).union([start])
        guard above.allSatisfy({ $0.inputs.allSatisfy(computed.contains) }) else { return nil }
        var lastUse: [Int: Int] = [:]
        for (i, step) in above.enumerated() { for id in step.inputs { lastUse[id] = i } }
        return ResNetProgramTail(layer: layer, start: start, steps: above, valueCount: valueCount, lastUse: lastUse)
    }

    /// Names of the layers with a tail (`tail(above:)` non-nil), in forward order.
    public var boundaryLayers: [String] {
        layerOrder.filter { name in (try? tail(above: name)) != nil }  // safe: every listed name is known
    }
}
