import LeafLensMath

/// Occlusion (Zeiler & Fergus 2014), as Captum 0.9's `Occlusion`: slide a window over each example
/// (shape `input.shape[1...]`, e.g. `[C, H, W]`), replace it by the baseline, and credit every covered
/// position with the output drop F(x) − F(x with the window replaced), averaged over all windows
/// that cover it.
///
/// Windows, per per-example axis d with size D, window W and stride s:
/// * count_d = ⌈(D − W)/s⌉ + 1; window index i_d starts at i_d·s;
/// * the last window is **clipped** at the border when the stride does not tile D (D=5, W=2, s=2
///   gives {0,1}, {2,3}, {4}), not shifted back inside;
/// * windows are numbered with the **first** axis varying fastest.
/// Validation: 1 ≤ W ≤ D, and 1 ≤ s ≤ W unless W = D.
///
/// `perturbationsPerEval` = k stacks k occluded copies of the whole batch into one forward, rows
/// ordered [window j: ex 0..N−1, window j+1: ex 0..N−1, …]; results do not depend on k.
/// The result is always Float (Captum returns float32 even for float64 models); `meanDrops` returns
/// the same averages unrounded, in the model's scalar type (the float64 parity tests use it).
/// A model with a fast path (`AttributionModel.occlusionEvaluator`; ResNet18 recomputes only the
/// region each window can change) is asked for the occluded outputs instead, k windows at a time.
/// `progress` is called after each forward: (forwards done, 1 + ⌈windows/k⌉ forwards in total).
/// Approximate occlusion (Krypton's projective-field thresholding and adaptive drill-down) is
/// `attribute(…, approximation:)` in Occlusion+Approximate.swift; this exact path is the default.
public enum Occlusion {
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], window: [Int],
        strides: [Int]? = nil, baseline: Baseline<Model.Scalar> = .zero,
        perturbationsPerEval: Int = 1, progress: AttributionProgress? = nil
    ) throws -> Tensor<Float> {
        let (total, coverage) = try dropSums(
            model: model, input: input, targets: targets, window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: perturbationsPerEval, progress: progress)
        let size = coverage.count
        var result = [Float](repeating: 0, count: input.count)
        for i in result.indices { result[i] = Float(total[i]) / Float(coverage[i % size]) }
        return try checkedTensor(shape: input.shape, storage: result)
    }

    /// The same averages as `attribute`, in the model's scalar type: Σ drops / windows covering each
    /// element, divided in `Model.Scalar` (no float32 rounding for a Double model).
    public static func meanDrops<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], window: [Int],
        strides: [Int]? = nil, baseline: Baseline<Model.Scalar> = .zero,
        perturbationsPerEval: Int = 1, progress: AttributionProgress? = nil
    ) throws -> Tensor<Model.Scalar> {
        let (total, coverage) = try dropSums(
            model: model, input: input, targets: targets, window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: perturbationsPerEval, progress: progress)
        let size = coverage.count
        var result = total
        for i in result.indices { result[i] = total[i] / Model.Scalar(coverage[i % size]) }
        return try checkedTensor(shape: input.shape, storage: result)
    }

    /// The checks every occlusion run starts with (batch and targets, `perturbationsPerEval` ≥ 1), its
    /// window grid over one example, and the baseline resolved to the input's shape.
    static func prepare<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], window: [Int], strides: [Int]?,
        baseline: Baseline<Model.Scalar>, perturbationsPerEval: Int
    ) throws -> (grid: OcclusionGrid, fill: Tensor<Model.Scalar>) {
        try validateBatch(input, targets: targets, classCount: model.classCount)
        guard perturbationsPerEval >= 1 else {
            throw AttributionError.invalidOption("perturbationsPerEval must be ≥ 1, got \(perturbationsPerEval)")
        }
        let grid = try OcclusionGrid(
            shape: Array(input.shape.dropFirst()), window: window, strides: strides ?? window.map { _ in 1 })
        return (grid, try baseline.resolved(for: input))
    }

    /// Σ over windows of the drop F(x) − F(x occluded), per element, and how many windows cover each
    /// per-example element.
    @_specialize(where Model == ResNetClassifier<Float>)
    static func dropSums<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], window: [Int],
        strides: [Int]?, baseline: Baseline<Model.Scalar>,
        perturbationsPerEval: Int, progress: AttributionProgress?
    ) throws -> (total: [Model.Scalar], coverage: [Int]) {
        typealias Scalar = Model.Scalar
        let (grid, fill) = try prepare(
            model: model, input: input, targets: targets, window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: perturbationsPerEval)
        let batch = input.shape[0]
        let size = input.count / batch  // per-example element count
        let evaluations = 1 + (grid.windowCount + perturbationsPerEval - 1) / perturbationsPerEval

        // A model's fast path (ResNet18 recomputes only what a window changes), else whole batches.
        var evaluators: [OcclusionEvaluator<Scalar>]? = []
        for n in 0..<batch {
            guard
                let evaluator = try model.occlusionEvaluator(
                    example: input.slice(n..<n + 1), fill: fill.slice(n..<n + 1), target: targets[n])
            else { evaluators = nil; break }
            evaluators?.append(evaluator)
        }
        let initial = try evaluators?.map(\.clean) ?? targetOutputs(model, input, targets: targets)
        progress?(1, evaluations)

        var total = [Scalar](repeating: 0, count: input.count)
        var coverage = [Int](repeating: 0, count: size)
        var first = 0
        var done = 1
        while first < grid.windowCount {
            let chunk = first..<min(grid.windowCount, first + perturbationsPerEval)
            let outputs: [Scalar]  // [copy · N + n]
            if let evaluators {
                let windows = chunk.map { grid.bounds(window: $0) }
                var values = [Scalar](repeating: 0, count: chunk.count * batch)
                for (n, evaluator) in evaluators.enumerated() {
                    for (copy, value) in try evaluator.evaluate(windows).enumerated() {
                        values[copy * batch + n] = value
                    }
                }
                outputs = values
            } else {
                outputs = try occludedOutputs(
                    model, input: input, fill: fill, targets: targets, grid: grid, windows: Array(chunk))
            }
            for (copy, index) in chunk.enumerated() {
                grid.forEachRun(window: index) { start, length in
                    for n in 0..<batch {
                        let drop = initial[n] - outputs[copy * batch + n]
                        let at = n * size + start
                        for j in at..<at + length { total[j] += drop }
                    }
                    for j in start..<start + length { coverage[j] += 1 }
                }
            }
            first = chunk.upperBound
            done += 1
            progress?(done, evaluations)
        }

        return (total, coverage)
    }
}

/// Target outputs of the occluded copies of the whole batch, windows `chunk`, in one forward:
/// rows [window j: ex 0..N−1, window j+1: …].
func occludedOutputs<Model: AttributionModel>(
    _ model: Model, input: Tensor<Model.Scalar>, fill: Tensor<Model.Scalar>, targets: [Int],
    grid: OcclusionGrid, windows chunk: [Int]
) throws -> [Model.Scalar] {
    let batch = input.shape[0]
    let size = input.count / batch
    var occluded = [Model.Scalar](repeating: 0, count: chunk.count * input.count)
    for (copy, index) in chunk.enumerated() {
        let offset = copy * input.count
        occluded.replaceSubrange(offset..<offset + input.count, with: input.storage)
        grid.forEachRun(window: index) { start, length in
            for n in 0..<batch {
                let at = n * size + start
                occluded.replaceSubrange(
                    offset + at..<offset + at + length, with: fill.storage[at..<at + length])
            }
        }
    }
    var shape = input.shape
    shape[0] *= chunk.count
    return try targetOutputs(
        model, try checkedTensor(shape: shape, storage: occluded),
        targets: Array([[Int]](repeating: targets, count: chunk.count).joined()))
}

/// The sliding-window layout over one example's shape: counts per axis, first axis fastest, last
/// window clipped at the border.
struct OcclusionGrid: Sendable {
    let shape: [Int]
    let window: [Int]
    let strides: [Int]
    let counts: [Int]
    var windowCount: Int { counts.reduce(1, *) }

    init(shape: [Int], window: [Int], strides: [Int]) throws(AttributionError) {
        guard window.count == shape.count else {
            throw .shapeMismatch("window \(window) needs one size per example axis of \(shape)")
        }
        guard strides.count == shape.count else {
            throw .shapeMismatch("strides \(strides) need one value per example axis of \(shape)")
        }
        for d in shape.indices {
            guard window[d] >= 1, window[d] <= shape[d] else {
                throw .invalidOption("window size \(window[d]) on axis \(d) must be in 1...\(shape[d])")
            }
            guard strides[d] >= 1, strides[d] <= window[d] || window[d] == shape[d] else {
                throw .invalidOption(
                    "stride \(strides[d]) on axis \(d) must be in 1...\(window[d]) (the window size)")
            }
        }
        self.shape = shape
        self.window = window
        self.strides = strides
        counts = shape.indices.map { d in
            (shape[d] - window[d] + strides[d] - 1) / strides[d] + 1
        }
    }

    /// The window's extent per axis: start i_d·s_d, clipped to the example's size.
    func bounds(window index: Int) -> [Range<Int>] {
        var rest = index
        return shape.indices.map { d in
            let i = rest % counts[d]
            rest /= counts[d]
            let start = i * strides[d]
            return start..<min(shape[d], start + window[d])
        }
    }

    /// Calls `body(offset, length)` for each contiguous run of the window along the last axis, with
    /// offsets into one example's row-major storage.
    func forEachRun(window index: Int, _ body: (Int, Int) -> Void) {
        let ranges = bounds(window: index)
        guard let last = ranges.last else { return body(0, 1) }
        let outer = Array(ranges.dropLast())
        var position = outer.map(\.lowerBound)
        if outer.contains(where: \.isEmpty) { return }
        while true {
            var offset = 0
            for d in outer.indices { offset = offset * shape[d] + position[d] }
            body(offset * shape[shape.count - 1] + last.lowerBound, last.count)
            var d = outer.count - 1
            while d >= 0 {
                position[d] += 1
                if position[d] < outer[d].upperBound { break }
                position[d] = outer[d].lowerBound
                d -= 1
            }
            if d < 0 { return }
        }
    }
}

extension Occlusion {
    /// Which channels one window spans (the first axis of Captum's `sliding_window_shapes` for
    /// `[C, H, W]` examples).
    public enum ChannelWindow: Sendable, Equatable {
        /// Every channel at once: window C, Captum's usual `(3, h, w)`.
        case all
        /// One channel at a time: window 1, channel stride 1 (Captum's `(1, h, w)`, strides `(1, …)`).
        case each
        /// `size` consecutive channels, sliding by `stride` (Captum's `(size, h, w)`, strides `(stride, …)`).
        case groups(size: Int, stride: Int)
    }

    /// Occlusion's options for image examples `[C, H, W]`: a rectangular window (Captum allows any
    /// h × w, e.g. 15 × 25), its strides, and the channels it spans. The fast ResNet path handles
    /// every shape (it recomputes the region a window's rows and columns can change, for the
    /// channels inside the window).
    public struct Parameters<Scalar: TensorScalar>: Sendable, Equatable {
        public var height: Int, width: Int
        public var strideHeight: Int, strideWidth: Int
        public var channels: ChannelWindow
        public var baseline: Baseline<Scalar>
        public var perturbationsPerEval: Int

        /// Strides default to the window size (no overlap is a common choice; Captum's own default is 1).
        public init(
            height: Int = 15, width: Int? = nil, strideHeight: Int? = nil, strideWidth: Int? = nil,
            channels: ChannelWindow = .all, baseline: Baseline<Scalar> = .zero, perturbationsPerEval: Int = 1
        ) {
            self.height = height
            self.width = width ?? height
            self.strideHeight = strideHeight ?? height
            self.strideWidth = strideWidth ?? (width ?? height)
            self.channels = channels
            self.baseline = baseline
            self.perturbationsPerEval = perturbationsPerEval
        }

        /// Captum's `sliding_window_shapes` and `strides` for examples of `channelCount` channels.
        public func captumWindow(channelCount: Int) throws(AttributionError) -> (window: [Int], strides: [Int]) {
            switch channels {
            case .all: return ([channelCount, height, width], [channelCount, strideHeight, strideWidth])
            case .each: return ([1, height, width], [1, strideHeight, strideWidth])
            case .groups(let size, let stride):
                guard size >= 1, size <= channelCount, stride >= 1 else {
                    throw .invalidOption(
                        "channel window \(size) (stride \(stride)) must fit 1...\(channelCount) channels")
                }
                return ([size, height, width], [stride, strideHeight, strideWidth])
            }
        }
    }

    /// Occlusion of `[N, C, H, W]` images with `parameters` (see `attribute(model:input:targets:window:…)`).
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters<Model.Scalar>,
        progress: AttributionProgress? = nil
    ) throws -> Tensor<Float> {
        guard input.rank == 4 else {
            throw AttributionError.shapeMismatch("occlusion windows need images [N, C, H, W], got \(input.shape)")
        }
        let (window, strides) = try parameters.captumWindow(channelCount: input.shape[1])
        return try attribute(
            model: model, input: input, targets: targets, window: window, strides: strides,
            baseline: parameters.baseline, perturbationsPerEval: parameters.perturbationsPerEval, progress: progress)
    }

    /// Parses a window spec `HxW` (`15x25`) or `S` (a square, `15`); throws naming `window`.
    public static func parseWindow(_ text: String) throws(AttributionError) -> (height: Int, width: Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0) }
        guard values.count == parts.count, (1...2).contains(values.count), values.allSatisfy({ $0 >= 1 }) else {
            throw .invalidOption("window '\(text)' must be HxW (e.g. 15x25) or one size, positive integers")
        }
        return (values[0], values.count == 2 ? values[1] : values[0])
    }
}
