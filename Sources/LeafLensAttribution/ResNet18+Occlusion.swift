import LeafLensMath
import LeafLensModel

/// Occlusion's forwards on a ResNet18, computed only where the occluded copy differs from the input.
///
/// An occluded copy equals the input outside one window, so every activation equals the clean
/// (unoccluded) one outside the window's cone of influence: a convolution (k, s, p) maps dirty rows
/// [a, b) to output rows [⌈(a + p − k + 1)/s⌉, ⌊(b − 1 + p)/s⌋ + 1), clipped to the map. Each copy's
/// state at a layer is the clean activation plus one box containing that dirty range; only the box is
/// computed, from a patch of the previous layer's state (zero padding outside the map, as the
/// convolutions pad; −∞ for the max-pool). All copies of a batch use one box size per layer, so their
/// patches form one `[K, C, h, w]` batch for the model's batched convolutions. By layer4 a 15×15
/// window's box is the whole map, and the rest runs on full maps.
///
/// Same function as the BN-folded program, evaluated in a different order: results agree to float
/// rounding. For a 15×15 window at 224×224 the stem and layer1 run on ≈7% of their area, layer2 on
/// ≈25%, which is most of a forward pass's FLOPs.
struct ResNetRegionalForward<T: TensorScalar>: Sendable {
    /// A convolution with BatchNorm folded in, unpadded, with the padding it had kept for geometry.
    struct Layer: Sendable {
        let conv: Conv2d<T>
        let padded: Conv2d<T>
        let kernel: Int, stride: Int, padding: Int
    }

    struct Block: Sendable {
        let conv1: Layer, conv2: Layer
        let downsample: Layer?
    }

    let stem: Layer
    let blocks: [Block]
    let fc: Linear<T>
    let pool = (kernel: 3, stride: 2, padding: 1)

    init(_ model: ResNet18<T>) throws {
        let p = model.parameters
        func tensor(_ name: String) throws -> Tensor<T> {
            guard let t = p[name] else { throw AttributionError.invalidOption("missing parameter \(name)") }
            return t
        }
        func layer(_ conv: String, _ bn: String, kernel: Int, stride: Int, padding: Int) throws -> Layer {
            let norm = try BatchNorm2d(
                weight: try tensor("\(bn).weight"), bias: try tensor("\(bn).bias"),
                runningMean: try tensor("\(bn).running_mean"), runningVar: try tensor("\(bn).running_var"))
            let folded = try norm.folded(
                into: try Conv2d(weight: try tensor("\(conv).weight"), stride: stride, padding: padding))
            let unpadded = try Conv2d(weight: folded.weight, bias: folded.bias, stride: stride, padding: 0)
            return Layer(conv: unpadded, padded: folded, kernel: kernel, stride: stride, padding: padding)
        }
        stem = try layer("conv1", "bn1", kernel: 7, stride: 2, padding: 3)
        var blocks: [Block] = []
        var inChannels = model.configuration.width
        for (stage, planes) in model.configuration.stageWidths.enumerated() {
            for block in 0..<ResNet18Configuration.blocksPerStage[stage] {
                let prefix = "layer\(stage + 1).\(block)"
                let stride = block == 0 ? ResNet18Configuration.stageStrides[stage] : 1
                let downsample = block == 0 && (stride != 1 || inChannels != planes)
                blocks.append(Block(
                    conv1: try layer("\(prefix).conv1", "\(prefix).bn1", kernel: 3, stride: stride, padding: 1),
                    conv2: try layer("\(prefix).conv2", "\(prefix).bn2", kernel: 3, stride: 1, padding: 1),
                    downsample: downsample
                        ? try layer(
                            "\(prefix).downsample.0", "\(prefix).downsample.1", kernel: 1, stride: stride, padding: 0)
                        : nil))
                inChannels = planes
            }
        }
        self.blocks = blocks
        fc = try Linear(weight: try tensor("fc.weight"), bias: try tensor("fc.bias"))
    }

    /// The unoccluded activations of one example `[1, 3, H, W]`, in forward order.
    struct CleanPass: Sendable {
        var input: Tensor<T>
        var stem: Tensor<T>  // after ReLU
        var pool: Tensor<T>
        var mids: [Tensor<T>]  // each block's relu(bn1(conv1(x)))
        var outs: [Tensor<T>]  // each block's output
        var logits: Tensor<T>
    }

    @_specialize(where T == Float)
    func cleanPass(_ x: Tensor<T>) throws -> CleanPass {
        var stemOut = try stem.padded.forward(x)
        ReLU.apply(&stemOut)
        let pooled = try MaxPool2d(kernel: pool.kernel, stride: pool.stride, padding: pool.padding)
            .forward(stemOut).output
        var mids: [Tensor<T>] = [], outs: [Tensor<T>] = []
        var current = pooled
        for block in blocks {
            var mid = try block.conv1.padded.forward(current)
            ReLU.apply(&mid)
            var out = try block.conv2.padded.forward(mid)
            try ResidualAdd.add(try block.downsample?.padded.forward(current) ?? current, into: &out)
            ReLU.apply(&out)
            mids.append(mid)
            outs.append(out)
            current = out
        }
        return CleanPass(
            input: x, stem: stemOut, pool: pooled, mids: mids, outs: outs, logits: try head(current))
    }

    @_specialize(where T == Float)
    func head(_ x: Tensor<T>) throws -> Tensor<T> {
        let pooled = try GlobalAveragePool.forward(x)
        return try fc.forward(try pooled.reshaped([x.shape[0], x.shape[1]]))
    }

    /// One layer's state for K copies: the clean map with copy k's box [y, y + h) × [x, x + w)
    /// replaced by `patches[k]`; `dirty[k]` ⊆ box is where the copy can differ from the clean map.
    struct State {
        var clean: Tensor<T>
        var boxHeight: Int, boxWidth: Int
        var origins: [(y: Int, x: Int)]
        var dirty: [(rows: Range<Int>, cols: Range<Int>)]
        var patches: Tensor<T>?  // [K, C, h, w]; nil: no box computed yet (the raw input)
        var height: Int { clean.shape[2] }
        var width: Int { clean.shape[3] }
    }

    /// Logits `[K, classes]` of K copies of `clean.input` whose windows (channel, row and column
    /// ranges) are replaced by the same positions of `fill` `[1, 3, H, W]`.
    @_specialize(where T == Float)
    func occludedLogits(_ clean: CleanPass, fill: Tensor<T>, windows: [[Range<Int>]]) throws -> Tensor<T> {
        let (channels, height, width) = (clean.input.shape[1], clean.input.shape[2], clean.input.shape[3])
        // Input state: box = the window's rows and columns, patch = input with the window filled.
        let boxH = windows.map { $0[1].count }.max() ?? 1, boxW = windows.map { $0[2].count }.max() ?? 1
        var input = State(
            clean: clean.input, boxHeight: boxH, boxWidth: boxW,
            origins: windows.map { (min($0[1].lowerBound, height - boxH), min($0[2].lowerBound, width - boxW)) },
            dirty: windows.map { ($0[1], $0[2]) }, patches: nil)
        var patches = extract(input, origins: input.origins, height: boxH, width: boxW, pad: 0)
        patches.storage.withUnsafeMutableBufferPointer { p in
            fill.storage.withUnsafeBufferPointer { f in
                for (k, window) in windows.enumerated() {
                    let (y0, x0) = input.origins[k]
                    for c in window[0] {
                        for r in window[1] {
                            let from = (c * height + r) * width, to = ((k * channels + c) * boxH + r - y0) * boxW - x0
                            for col in window[2] { p[to + col] = f[from + col] }
                        }
                    }
                }
            }
        }
        input.patches = patches

        let stemState = try convolve(input, stem, clean: clean.stem, relu: true)
        var state = try maxPool(stemState, clean: clean.pool)
        for (i, block) in blocks.enumerated() {
            let mid = try convolve(state, block.conv1, clean: clean.mids[i], relu: true)
            var out = try convolve(mid, block.conv2, clean: clean.outs[i], relu: false)
            // The shortcut over the output's boxes (which contain its dirty range).
            let shortcut: Tensor<T>
            if let down = block.downsample {
                let s = down.stride
                let source = extract(
                    state, origins: out.origins.map { ($0.y * s, $0.x * s) },
                    height: (out.boxHeight - 1) * s + 1, width: (out.boxWidth - 1) * s + 1, pad: 0)
                shortcut = try down.conv.forward(source)
            } else {
                shortcut = extract(state, origins: out.origins, height: out.boxHeight, width: out.boxWidth, pad: 0)
            }
            // safe: convolve always sets patches.
            var sum = out.patches!
            try ResidualAdd.add(shortcut, into: &sum)
            ReLU.apply(&sum)
            out.patches = sum
            state = out
        }
        let full = extract(
            state, origins: Array(repeating: (0, 0), count: windows.count), height: state.height,
            width: state.width, pad: 0)
        return try head(full)
    }

    /// The next layer's state: its dirty ranges, one box size (the largest dirty extent) for all
    /// copies, and the boxes computed from the unpadded convolution over the matching input patches.
    @_specialize(where T == Float)
    func convolve(_ state: State, _ layer: Layer, clean: Tensor<T>, relu: Bool) throws -> State {
        let (k, s, p) = (layer.kernel, layer.stride, layer.padding)
        var next = boxes(
            after: state, clean: clean, kernel: k, stride: s, padding: p)
        let source = extract(
            state, origins: next.origins.map { ($0.y * s - p, $0.x * s - p) },
            height: (next.boxHeight - 1) * s + k, width: (next.boxWidth - 1) * s + k, pad: 0)
        var out = try layer.conv.forward(source)
        if relu { ReLU.apply(&out) }
        next.patches = out
        return next
    }

    @_specialize(where T == Float)
    func maxPool(_ state: State, clean: Tensor<T>) throws -> State {
        let (k, s, p) = pool
        var next = boxes(after: state, clean: clean, kernel: k, stride: s, padding: p)
        let source = extract(
            state, origins: next.origins.map { ($0.y * s - p, $0.x * s - p) },
            height: (next.boxHeight - 1) * s + k, width: (next.boxWidth - 1) * s + k, pad: -T.infinity)
        next.patches = try MaxPool2d(kernel: k, stride: s, padding: 0).forward(source).output
        return next
    }

    /// Dirty ranges through a window (k, s, p), and boxes of one common size containing them.
    func boxes(after state: State, clean: Tensor<T>, kernel k: Int, stride s: Int, padding p: Int) -> State {
        let (outH, outW) = (clean.shape[2], clean.shape[3])
        func map(_ r: Range<Int>, _ size: Int) -> Range<Int> {
            let first = r.lowerBound + p - k + 1
            let lo = first <= 0 ? 0 : (first + s - 1) / s
            let hi = min(size, (r.upperBound - 1 + p) / s + 1)
            return min(lo, hi)..<hi
        }
        let dirty = state.dirty.map { (map($0.rows, outH), map($0.cols, outW)) }
        let boxH = min(outH, max(1, dirty.map(\.0.count).max() ?? 1))
        let boxW = min(outW, max(1, dirty.map(\.1.count).max() ?? 1))
        let origins = dirty.map { (min($0.0.lowerBound, outH - boxH), min($0.1.lowerBound, outW - boxW)) }
        return State(clean: clean, boxHeight: boxH, boxWidth: boxW, origins: origins, dirty: dirty, patches: nil)
    }

    /// `[K, C, height, width]`: copy k's state over rows [y, y + height) × [x, x + width) at
    /// `origins[k]`, reading its patch inside its box, the clean map elsewhere, `pad` off the map.
    @_specialize(where T == Float)
    func extract(_ state: State, origins: [(y: Int, x: Int)], height: Int, width: Int, pad: T) -> Tensor<T> {
        let channels = state.clean.shape[1]
        let (mapH, mapW, boxH, boxW) = (state.height, state.width, state.boxHeight, state.boxWidth)
        var out = Tensor<T>(repeating: pad, shape: [origins.count, channels, height, width])
        out.storage.withUnsafeMutableBufferPointer { o in
            state.clean.storage.withUnsafeBufferPointer { clean in
                let patches = state.patches?.storage ?? []
                patches.withUnsafeBufferPointer { patch in
                    for (k, origin) in origins.enumerated() {
                        let box = state.patches == nil ? nil : state.origins[k]
                        // Columns of the request that fall on the map.
                        let c0 = max(0, -origin.x), c1 = min(width, mapW - origin.x)
                        guard c0 < c1 else { continue }
                        for c in 0..<channels {
                            for r in 0..<height {
                                let y = origin.y + r
                                guard y >= 0 && y < mapH else { continue }
                                let to = ((k * channels + c) * height + r) * width
                                let cleanRow = (c * mapH + y) * mapW + origin.x
                                for j in c0..<c1 { o[to + j] = clean[cleanRow + j] }
                                guard let box, y >= box.y && y < box.y + boxH else { continue }
                                // Overwrite the part of the row inside the box with the patch.
                                let b0 = max(c0, box.x - origin.x), b1 = min(c1, box.x + boxW - origin.x)
                                guard b0 < b1 else { continue }
                                let patchRow = ((k * channels + c) * boxH + y - box.y) * boxW + origin.x - box.x
                                for j in b0..<b1 { o[to + j] = patch[patchRow + j] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
