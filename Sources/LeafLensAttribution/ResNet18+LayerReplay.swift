import LeafLensMath
import LeafLensModel

/// ResNet18's `layerReplay`: the residual blocks above a block boundary, then average pooling and fc,
/// with BatchNorm folded into the convolutions (the same folded weights as `outputs`).
///
/// Layers it can resume from: `maxpool`, every block output `layerL.B` (and its stage alias `layerL`),
/// and `avgpool`. A block's inner values (`layerL.B.bn2`, …) are not boundaries — the block's residual
/// reads its input too — so they return nil, and AblationCAM reports that it cannot use them.
extension ResNetClassifier {
    public func layerReplay(_ input: Tensor<T>, layer: String) throws -> LayerReplay<T>? {
        guard let start = Self.firstBlockAbove(layer) else { return nil }
        let record = try folded.forward(input, taps: [layer])
        guard let activation = record.layerActivations[layer] else { return nil }
        let tail = try ResNetTail(model, from: start)
        return LayerReplay(activation: activation) { try tail.forward($0) }
    }

    /// (stage, block) index of the first block above `layer` in forward order; 8 = none (only avgpool →
    /// fc remain, the tail pools its input); nil for layers that are not a boundary.
    static func firstBlockAbove(_ layer: String) -> Int? {
        if layer == "maxpool" { return 0 }
        if layer == "avgpool" { return 8 }
        let parts = layer.split(separator: ".")
        guard parts.count <= 2, parts[0].hasPrefix("layer"), let stage = Int(parts[0].dropFirst(5)),
            (1...4).contains(stage)
        else { return nil }
        let block = parts.count == 2 ? Int(parts[1]) : 1
        guard let block, (0..<2).contains(block) else { return nil }
        return (stage - 1) * 2 + block + 1
    }
}

/// The blocks of a ResNet18 from a given index (0…7, stage-major) to the end, plus pooling and fc.
struct ResNetTail<T: TensorScalar>: Sendable {
    struct Block: Sendable {
        let conv1: Conv2d<T>, conv2: Conv2d<T>, downsample: Conv2d<T>?
    }
    let blocks: [Block]
    let fc: Linear<T>

    init(_ model: ResNet18<T>, from start: Int) throws {
        let p = model.parameters
        func tensor(_ name: String) throws -> Tensor<T> {
            guard let t = p[name] else { throw ModelError.missingKeys([name]) }
            return t
        }
        func folded(conv: String, bn: String, stride: Int, padding: Int) throws -> Conv2d<T> {
            let c = try Conv2d(weight: try tensor("\(conv).weight"), stride: stride, padding: padding)
            let b = try BatchNorm2d(
                weight: try tensor("\(bn).weight"), bias: try tensor("\(bn).bias"),
                runningMean: try tensor("\(bn).running_mean"), runningVar: try tensor("\(bn).running_var"))
            return try b.folded(into: c).using(.packed)
        }
        var blocks: [Block] = []
        for index in start..<8 {
            let (stage, block) = (index / 2, index % 2)
            let prefix = "layer\(stage + 1).\(block)"
            let stride = block == 0 ? ResNet18Configuration.stageStrides[stage] : 1
            let conv1 = try folded(conv: "\(prefix).conv1", bn: "\(prefix).bn1", stride: stride, padding: 1)
            let conv2 = try folded(conv: "\(prefix).conv2", bn: "\(prefix).bn2", stride: 1, padding: 1)
            var downsample: Conv2d<T>? = nil
            if p["\(prefix).downsample.0.weight"] != nil {
                downsample = try folded(
                    conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1", stride: stride, padding: 0)
            }
            blocks.append(Block(conv1: conv1, conv2: conv2, downsample: downsample))
        }
        self.blocks = blocks
        fc = try Linear(weight: try tensor("fc.weight"), bias: try tensor("fc.bias"))
    }

    /// `[B, C, h, w]` at the resume point → logits `[B, K]`.
    func forward(_ x: Tensor<T>) throws -> Tensor<T> {
        var x = x
        for block in blocks {
            var y = try block.conv1.forward(x)
            ReLU.apply(&y)
            y = try block.conv2.forward(y)
            try ResidualAdd.add(try block.downsample?.forward(x) ?? x, into: &y)
            ReLU.apply(&y)
            x = y
        }
        let pooled = try GlobalAveragePool.forward(x)
        return try fc.forward(pooled)
    }
}
