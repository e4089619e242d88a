import LeafLensMath

/// Occlusion's forwards through a BN-folded program, computed only where the occluded copy differs from
/// the input.
///
/// An occluded copy equals the input outside one window, so every activation equals the clean
/// (unoccluded) one outside the window's cone of influence: a convolution (k, s, p) maps dirty rows
/// [a, b) to output rows [⌈(a + p − k + 1)/s⌉, ⌊(b − 1 + p)/s⌋ + 1), clipped to the map. Each copy's
/// state at a value is the clean activation plus one box containing that dirty range; only the box is
/// computed, from a patch of the previous value's state (zero padding outside the map, as the
/// convolutions pad; −∞ for the max-pool). ReLU acts on the box; a residual add's box contains both
/// inputs' dirty ranges. All copies of a batch use one box size per value, so their patches form one
/// `[K, C, h, w]` batch for the batched convolutions. By layer4 a 15×15 window's box is the whole map,
/// and the rest runs on full maps.
///
/// The steps are the folded program's own (any depth), evaluated in a different order: results agree
/// with its forward pass to float rounding. The convolutions run im2col + GEMM (one algorithm for the
/// clean pass and the boxes). For a 15×15 window at 224×224 the stem and layer1 run on ≈7% of their area,
/// layer2 on ≈25%, which is most of a forward pass's FLOPs.
///
/// Projective-field thresholding (Krypton, Nakandala et al. 2019), τ ∈ (0, 1]: after every convolution,
/// max-pool and residual add, each copy's dirty range on an axis is capped at ⌈τ·side⌉ positions of
/// that map's side (rounded up, to within 1e-9; at least 1), centred on the exact range (its first
/// position moves in by ⌊(exact − cap)/2⌋), so inside the map; positions outside the capped range are
/// taken as unchanged (the clean activation, also inside a box larger than the range). The raw input's
/// range (the window itself) is never capped. τ = 1 caps nothing and runs exactly the exact code
/// (same operations, bit for bit).
public struct RegionalOcclusion<T: TensorScalar>: Sendable {
    /// A convolution with BatchNorm folded in, as the clean pass runs it (padded) and as the boxes do
    /// (unpadded, the padding kept for geometry).
    struct Layer: Sendable {
        let padded: Conv2d<T>
        let conv: Conv2d<T>
        let kernel: Int, stride: Int, padding: Int
    }

    enum Operation: Sendable {
        case convolution(Layer)
        case relu
        case maxPool(MaxPool2d)
        case add
        case averagePool
        case linear(Linear<T>)
    }

    struct Step: Sendable {
        let operation: Operation
        let inputs: [Int]
        let output: Int
    }

    let steps: [Step]
    let valueCount: Int
    /// The last step reading each value (its state is released there).
    let lastUse: [Int]
    let inputChannels = 3

    /// The fast path for `program`'s network; throws unless the program folds BatchNorm.
    public init(program: ResNetProgram<T>) throws(ModelError) {
        guard program.foldsBatchNorm else {
            throw .invalidInput("regional occlusion runs a BN-folded program (purpose .attribution or .classification)")
        }
        var steps: [Step] = []
        for step in program.steps {
            let operation: Operation
            switch step.operation {
            case .convolution(let folded, _):
                // safe: the program's convolutions are square and valid; the same weights without padding
                // and on im2col are valid too.
                precondition(  // safe: see above
                    folded.kernel.h == folded.kernel.w && folded.stride.h == folded.stride.w
                        && folded.padding.h == folded.padding.w)
                do {
                    let padded = try Conv2d(
                        weight: folded.weight, bias: folded.bias, stride: folded.stride, padding: folded.padding)
                    let unpadded = try Conv2d(
                        weight: folded.weight, bias: folded.bias, stride: folded.stride, padding: (0, 0))
                    operation = .convolution(
                        Layer(
                            padded: padded, conv: unpadded, kernel: folded.kernel.h, stride: folded.stride.h,
                            padding: folded.padding.h))
                } catch {
                    preconditionFailure("\(error)")  // safe: see above
                }
            case .batchNorm: preconditionFailure("a folded program has no BatchNorm steps")  // safe: checked above
            case .relu: operation = .relu
            case .maxPool(let pool): operation = .maxPool(pool)
            case .add: operation = .add
            case .averagePool: operation = .averagePool
            case .linear(let fc, _): operation = .linear(fc)
            }
            steps.append(Step(operation: operation, inputs: step.inputs, output: step.output))
        }
        self.steps = steps
        valueCount = program.valueCount
        var lastUse = [Int](repeating: -1, count: valueCount)
        for (i, step) in steps.enumerated() { for v in step.inputs { lastUse[v] = i } }
        self.lastUse = lastUse
    }

    /// Every value of the unoccluded forward pass of one example `[1, 3, H, W]`.
    public struct CleanPass: Sendable {
        let values: [Tensor<T>]
        /// The example's outputs `[1, K]`, computed the same way as the occluded ones.
        public var outputs: Tensor<T> { values[values.count - 1] }
        var input: Tensor<T> { values[0] }
    }

    /// The clean pass of `example` `[1, 3, H, W]` (H, W ≥ 32).
    @_specialize(where T == Float)
    public func cleanPass(_ example: Tensor<T>) throws(ModelError) -> CleanPass {
        guard example.rank == 4, example.shape[0] == 1, example.shape[1] == inputChannels,
            example.shape[2] >= 32, example.shape[3] >= 32
        else {
            throw .invalidInput("occlusion's fast path needs one example [1, 3, H ≥ 32, W ≥ 32], got \(example.shape)")
        }
        var values = [Tensor<T>](repeating: Tensor(zeros: [0]), count: valueCount)
        values[0] = example
        for step in steps {
            let x = values[step.inputs[0]]
            values[step.output] = invariant { () throws(TensorError) in
                switch step.operation {
                case .convolution(let layer): return try layer.padded.forward(x)
                case .relu:
                    var y = x
                    ReLU.apply(&y)
                    return y
                case .maxPool(let pool): return try pool.forward(x).output
                case .add:
                    var y = x
                    try ResidualAdd.add(values[step.inputs[1]], into: &y)
                    return y
                case .averagePool: return try GlobalAveragePool.forward(x)
                case .linear(let fc): return try fc.forward(x)
                }
            }
        }
        return CleanPass(values: values)
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

    /// Outputs `[K, classes]` of K copies of the clean pass's example whose windows (channel, row and
    /// column ranges) are replaced by the same positions of `fill` `[1, 3, H, W]`.
    /// `projectiveFieldThreshold` τ ∈ (0, 1] caps each layer's updated region (see the type's comment).
    @_specialize(where T == Float)
    public func occludedOutputs(
        _ clean: CleanPass, fill: Tensor<T>, windows: [[Range<Int>]], projectiveFieldThreshold tau: Double = 1
    ) throws(ModelError) -> Tensor<T> {
        let (channels, height, width) = (clean.input.shape[1], clean.input.shape[2], clean.input.shape[3])
        guard tau > 0, tau <= 1 else {
            throw .invalidInput("the projective-field threshold τ must be in (0, 1], got \(tau)")
        }
        guard fill.shape == clean.input.shape else {
            throw .invalidInput("occlusion fill has shape \(fill.shape), the example \(clean.input.shape)")
        }
        for window in windows {
            guard window.count == 3, window[0].lowerBound >= 0, window[0].upperBound <= channels,
                window[1].lowerBound >= 0, window[1].upperBound <= height, window[2].lowerBound >= 0,
                window[2].upperBound <= width, window.allSatisfy({ !$0.isEmpty })
            else { throw .invalidInput("occlusion window \(window) is not inside [\(channels), \(height), \(width)]") }
        }
        guard !windows.isEmpty else { return Tensor(zeros: [0, clean.outputs.shape[1]]) }
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

        var states = [State?](repeating: nil, count: valueCount)
        var full = [Tensor<T>?](repeating: nil, count: valueCount)  // values past avgpool: whole [K, …] tensors
        states[0] = input
        var current = 0
        /// The state of value `id`, taken out of the list at its last reader (so its patches can be
        /// updated in place). safe: each step reads values of earlier steps (the program's order).
        func state(_ id: Int) -> State {
            defer { if lastUse[id] == current { states[id] = nil } }
            return states[id]!
        }
        return invariant { () throws(TensorError) in
            for (i, step) in steps.enumerated() {
                current = i
                let out = clean.values[step.output]
                switch step.operation {
                case .convolution(let layer):
                    states[step.output] = try convolve(state(step.inputs[0]), layer, clean: out, tau: tau)
                case .relu:
                    var s = state(step.inputs[0])
                    s.clean = out
                    if var p = s.patches {
                        s.patches = nil
                        ReLU.apply(&p)
                        s.patches = p
                    }
                    states[step.output] = s
                case .maxPool(let pool):
                    states[step.output] = try maxPool(state(step.inputs[0]), pool, clean: out, tau: tau)
                case .add:
                    states[step.output] = try add(
                        state(step.inputs[0]), state(step.inputs[1]), clean: out, tau: tau)
                case .averagePool:
                    let s = state(step.inputs[0])
                    let whole = extract(
                        s, origins: Array(repeating: (0, 0), count: windows.count), height: s.height, width: s.width,
                        pad: 0)
                    full[step.output] = try GlobalAveragePool.forward(whole)
                case .linear(let fc):
                    full[step.output] = try fc.forward(full[step.inputs[0]]!)  // safe: avgpool precedes fc
                }
            }
            return full[valueCount - 1]!  // safe: the program ends in fc
        }
    }

    /// The residual add's state: boxes containing both inputs' dirty ranges (the residual branch's own
    /// boxes when they do, as in every ResNet block), each input read over them.
    @_specialize(where T == Float)
    func add(_ a: State, _ b: State, clean: Tensor<T>, tau: Double = 1) throws(TensorError) -> State {
        let (mapH, mapW) = (clean.shape[2], clean.shape[3])
        let dirty = zip(a.dirty, b.dirty).map { x, y in
            (
                rows: Self.cap(union(x.rows, y.rows), side: mapH, tau: tau),
                cols: Self.cap(union(x.cols, y.cols), side: mapW, tau: tau)
            )
        }
        var next = a
        next.clean = clean
        next.dirty = dirty
        let contained = zip(dirty, a.origins).allSatisfy { d, o in
            d.rows.isEmpty || d.cols.isEmpty
                || (d.rows.lowerBound >= o.y && d.rows.upperBound <= o.y + a.boxHeight
                    && d.cols.lowerBound >= o.x && d.cols.upperBound <= o.x + a.boxWidth)
        }
        if !contained {
            let (h, w) = (clean.shape[2], clean.shape[3])
            next.boxHeight = min(h, max(1, dirty.map(\.rows.count).max() ?? 1))
            next.boxWidth = min(w, max(1, dirty.map(\.cols.count).max() ?? 1))
            next.origins = dirty.map {
                (min($0.rows.lowerBound, h - next.boxHeight), min($0.cols.lowerBound, w - next.boxWidth))
            }
        }
        var sum =
            contained && a.patches != nil
            ? a.patches!  // safe: checked
            : extract(a, origins: next.origins, height: next.boxHeight, width: next.boxWidth, pad: 0)
        try ResidualAdd.add(
            extract(b, origins: next.origins, height: next.boxHeight, width: next.boxWidth, pad: 0), into: &sum)
        next.patches = sum
        if tau < 1 { restrictToDirty(&next) }
        return next
    }

    private func union(_ a: Range<Int>, _ b: Range<Int>) -> Range<Int> {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        return min(a.lowerBound, b.lowerBound)..<max(a.upperBound, b.upperBound)
    }

    @inline(__always)
    private func invariant<R>(_ body: () throws(TensorError) -> R) -> R {
        do { return try body() } catch { preconditionFailure("RegionalOcclusion invariant broken: \(error)") }  // safe: shapes are the program's own
    }

    /// The next layer's state: its dirty ranges, one box size (the largest dirty extent) for all
    /// copies, and the boxes computed from the unpadded convolution over the matching input patches.
    @_specialize(where T == Float)
    func convolve(_ state: State, _ layer: Layer, clean: Tensor<T>, tau: Double = 1) throws(TensorError) -> State {
        let (k, s, p) = (layer.kernel, layer.stride, layer.padding)
        var next = boxes(after: state, clean: clean, kernel: k, stride: s, padding: p, tau: tau)
        let source = extract(
            state, origins: next.origins.map { ($0.y * s - p, $0.x * s - p) },
            height: (next.boxHeight - 1) * s + k, width: (next.boxWidth - 1) * s + k, pad: 0)
        next.patches = try layer.conv.forward(source)
        if tau < 1 { restrictToDirty(&next) }
        return next
    }

    @_specialize(where T == Float)
    func maxPool(_ state: State, _ pool: MaxPool2d, clean: Tensor<T>, tau: Double = 1) throws(TensorError) -> State {
        let (k, s, p) = (pool.kernel, pool.stride, pool.padding)
        var next = boxes(after: state, clean: clean, kernel: k, stride: s, padding: p, tau: tau)
        let source = extract(
            state, origins: next.origins.map { ($0.y * s - p, $0.x * s - p) },
            height: (next.boxHeight - 1) * s + k, width: (next.boxWidth - 1) * s + k, pad: -T.infinity)
        next.patches = try MaxPool2d(kernel: k, stride: s, padding: 0).forward(source).output
        if tau < 1 { restrictToDirty(&next) }
        return next
    }

    /// Dirty ranges through a window (k, s, p), capped by τ, and boxes of one common size containing them.
    func boxes(
        after state: State, clean: Tensor<T>, kernel k: Int, stride s: Int, padding p: Int, tau: Double = 1
    ) -> State {
        let (outH, outW) = (clean.shape[2], clean.shape[3])
        func map(_ r: Range<Int>, _ size: Int) -> Range<Int> {
            let first = r.lowerBound + p - k + 1
            let lo = first <= 0 ? 0 : (first + s - 1) / s
            let hi = min(size, (r.upperBound - 1 + p) / s + 1)
            return min(lo, hi)..<hi
        }
        let dirty = state.dirty.map {
            (Self.cap(map($0.rows, outH), side: outH, tau: tau), Self.cap(map($0.cols, outW), side: outW, tau: tau))
        }
        let boxH = min(outH, max(1, dirty.map(\.0.count).max() ?? 1))
        let boxW = min(outW, max(1, dirty.map(\.1.count).max() ?? 1))
        let origins = dirty.map { (min($0.0.lowerBound, outH - boxH), min($0.1.lowerBound, outW - boxW)) }
        return State(clean: clean, boxHeight: boxH, boxWidth: boxW, origins: origins, dirty: dirty, patches: nil)
    }

    /// Krypton's projective-field threshold: `range` (inside a map of `side` positions) cut to at most
    /// ⌈τ·side⌉ positions, centred on it. τ = 1 returns `range` unchanged.
    static func cap(_ range: Range<Int>, side: Int, tau: Double) -> Range<Int> {
        guard tau < 1 else { return range }
        let limit = max(1, Int((tau * Double(side) - 1e-9).rounded(.up)))
        guard range.count > limit else { return range }
        let lower = range.lowerBound + (range.count - limit) / 2
        return lower..<lower + limit
    }

    /// Sets each copy's patch to the clean map outside its (capped) dirty range, so positions the
    /// threshold leaves out are unchanged whatever box size the batch shares.
    @_specialize(where T == Float)
    func restrictToDirty(_ state: inout State) {
        guard var patches = state.patches else { return }
        state.patches = nil
        let channels = state.clean.shape[1]
        let (mapH, mapW, boxH, boxW) = (state.height, state.width, state.boxHeight, state.boxWidth)
        patches.storage.withUnsafeMutableBufferPointer { p in
            state.clean.storage.withUnsafeBufferPointer { clean in
                for (k, origin) in state.origins.enumerated() {
                    let dirty = state.dirty[k]
                    for c in 0..<channels {
                        for r in 0..<boxH {
                            let y = origin.y + r
                            let rowDirty = dirty.rows.contains(y)
                            let to = ((k * channels + c) * boxH + r) * boxW
                            let from = (c * mapH + y) * mapW + origin.x
                            for j in 0..<boxW where !(rowDirty && dirty.cols.contains(origin.x + j)) {
                                p[to + j] = clean[from + j]
                            }
                        }
                    }
                }
            }
        }
        state.patches = patches
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
