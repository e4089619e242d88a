import LeafLensMath

extension Occlusion {
    /// Krypton's approximations of occlusion (Nakandala, Kumar & Papakonstantinou, "Incremental and
    /// Approximate Inference for Faster Occlusion-based Deep CNN Explanations", SIGMOD 2019). The
    /// result has the exact map's shape and meaning (Σ drops / windows covering each position, over
    /// the given window grid); only some drops are approximated.
    ///
    /// * **Projective-field thresholding** τ ∈ (0, 1]: the model's incremental path recomputes, at every
    ///   layer, at most ⌈τ·side⌉ rows and columns of that layer's map around the exact changed region,
    ///   and takes the rest as unchanged (`RegionalOcclusion`). τ = 1 is exact. Needs a model with an
    ///   incremental occlusion path (ResNet); others are refused for τ < 1.
    /// * **Adaptive drill-down** R ∈ (0, 1]: the windows of the given grid are numbered i_d per axis.
    ///   The *coarse pass* evaluates the windows with every spatial index even (the last two axes of
    ///   the example; all axes for a 1-D example) — the same window at twice the given stride,
    ///   starting at 0. Each window's *parent* is the coarse window at (2⌊i_d/2⌋) on those axes, so a
    ///   coarse window stands for its 2×2 block of fine windows. The coarse windows are ranked by
    ///   their drop d = F(x) − F(occluded), largest first — by |d| by default (`DrillDownRanking`:
    ///   windows whose occlusion raises the score matter as much, and LeafLens draws occlusion's
    ///   absolute value), or signed d as Krypton ranks it — ties to the lower window number; the
    ///   top ⌈R·coarse count⌉ (rounded
    ///   up to within 1e-9, at least one) are *drilled into*: every window of their blocks is
    ///   evaluated at the given stride. Every other window takes its parent's drop. The map is then
    ///   Captum's average over all windows of the given grid, so **R = 1 evaluates every window and
    ///   gives the exact map**, and an undrilled region shows its coarse drop (averaged with its
    ///   neighbours' where windows overlap).
    ///
    /// Both combine: the coarse and drilled windows are evaluated with τ.
    public struct Approximation: Sendable, Equatable {
        /// τ ∈ (0, 1]; 1: no thresholding.
        public var projectiveFieldThreshold: Double
        /// R ∈ (0, 1]; nil: no drill-down (every window evaluated).
        public var drillDown: Double?
        /// How the drill-down ranks the coarse windows' drops.
        public var ranking: DrillDownRanking

        public init(
            projectiveFieldThreshold: Double = 1, drillDown: Double? = nil, ranking: DrillDownRanking = .magnitude
        ) {
            self.projectiveFieldThreshold = projectiveFieldThreshold
            self.drillDown = drillDown
            self.ranking = ranking
        }

        /// Throws unless τ and R are in (0, 1].
        public func validate() throws(AttributionError) {
            let tau = projectiveFieldThreshold
            guard tau.isFinite, tau > 0, tau <= 1 else {
                throw .invalidOption("the projective-field threshold τ must be in (0, 1], got \(tau)")
            }
            if let r = drillDown, !(r.isFinite && r > 0 && r <= 1) {
                throw .invalidOption("the drill-down fraction R must be in (0, 1], got \(r)")
            }
        }
    }

    /// The key the drill-down ranks coarse windows by, largest first.
    public enum DrillDownRanking: String, Sendable, Equatable, CaseIterable {
        /// |F(x) − F(occluded)|: the strongest evidence for or against the target.
        case magnitude
        /// F(x) − F(occluded): the strongest evidence for the target (Krypton's rule).
        case signed
    }

    /// An approximate occlusion map and how much work it took.
    public struct ApproximateResult: Sendable {
        /// Shaped like the input, as `attribute` returns.
        public var attributions: Tensor<Float>
        /// Windows of the given grid per example.
        public var windowCount: Int
        /// Occluded copies evaluated, summed over the examples (windowCount × N when nothing is skipped).
        public var evaluatedWindows: Int
        /// The coarse pass's strides per example axis (nil without drill-down).
        public var coarseStrides: [Int]?
    }

    /// Occlusion with Krypton's approximations (see `Approximation`); the window grid, baseline and
    /// validation are `attribute(model:input:targets:window:…)`'s. Examples are explained one at a time
    /// (the drill-down picks windows per example), `perturbationsPerEval` copies per evaluation.
    /// With τ = 1 and no drill-down this evaluates the same windows in the same batches as the exact
    /// path and returns its numbers (for a model with an incremental path, bit for bit).
    /// `progress`: (evaluations done, an upper bound of the total, reached at the end).
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], window: [Int],
        strides: [Int]? = nil, baseline: Baseline<Model.Scalar> = .zero,
        perturbationsPerEval: Int = 1, approximation: Approximation, progress: AttributionProgress? = nil
    ) throws -> ApproximateResult {
        typealias Scalar = Model.Scalar
        try approximation.validate()
        let (grid, fill) = try prepare(
            model: model, input: input, targets: targets, window: window, strides: strides, baseline: baseline,
            perturbationsPerEval: perturbationsPerEval)
        let batch = input.shape[0]
        let size = input.count / batch
        let tau = approximation.projectiveFieldThreshold
        let plan = DrillDownPlan(grid: grid, enabled: approximation.drillDown != nil)
        let k = perturbationsPerEval
        func chunks(_ n: Int) -> Int { (n + k - 1) / k }
        let perExample = 1 + chunks(plan.coarse.count) + chunks(grid.windowCount - plan.coarse.count)
        let budget = batch * perExample
        var done = 0

        var total = [Scalar](repeating: 0, count: input.count)
        var evaluated = 0
        for n in 0..<batch {
            let example = input.slice(n..<n + 1), exampleFill = fill.slice(n..<n + 1)
            let evaluator = try model.occlusionEvaluator(
                example: example, fill: exampleFill, target: targets[n], projectiveFieldThreshold: tau)
            if tau < 1, evaluator == nil {
                throw AttributionError.invalidOption(
                    "projective-field thresholding (τ = \(tau) < 1) needs a model with an incremental occlusion "
                        + "path (ResNet); this model has none")
            }
            let clean = try evaluator?.clean ?? targetOutputs(model, example, targets: [targets[n]])[0]
            done += 1
            progress?(done, budget)
            var outputs = [Scalar?](repeating: nil, count: grid.windowCount)
            func evaluate(_ windows: [Int]) throws {
                var first = 0
                while first < windows.count {
                    let chunk = Array(windows[first..<min(windows.count, first + k)])
                    let values =
                        try evaluator?.evaluate(chunk.map { grid.bounds(window: $0) })
                        ?? occludedOutputs(
                            model, input: example, fill: exampleFill, targets: [targets[n]], grid: grid,
                            windows: chunk)
                    for (index, value) in zip(chunk, values) { outputs[index] = value }
                    evaluated += chunk.count
                    first = chunk.count + first
                    done += 1
                    progress?(done, budget)
                }
            }
            if let r = approximation.drillDown {
                try evaluate(plan.coarse)
                // safe: the coarse pass just set every coarse window's output.
                let drops = plan.coarse.map { clean - outputs[$0]! }
                try evaluate(plan.drilled(drops: drops, fraction: r, ranking: approximation.ranking))
                for index in 0..<grid.windowCount where outputs[index] == nil {
                    outputs[index] = outputs[plan.parent[index]]
                }
            } else {
                try evaluate(Array(0..<grid.windowCount))
            }
            done = (n + 1) * perExample
            progress?(done, budget)
            // Accumulate in window order, as the exact path does.
            for index in 0..<grid.windowCount {
                let drop = clean - outputs[index]!  // safe: every window has an output or its parent's
                grid.forEachRun(window: index) { start, length in
                    let at = n * size + start
                    for j in at..<at + length { total[j] += drop }
                }
            }
        }

        var coverage = [Int](repeating: 0, count: size)
        for index in 0..<grid.windowCount {
            grid.forEachRun(window: index) { start, length in
                for j in start..<start + length { coverage[j] += 1 }
            }
        }
        var result = [Float](repeating: 0, count: input.count)
        for i in result.indices { result[i] = Float(total[i]) / Float(coverage[i % size]) }
        return ApproximateResult(
            attributions: try checkedTensor(shape: input.shape, storage: result), windowCount: grid.windowCount,
            evaluatedWindows: evaluated, coarseStrides: approximation.drillDown == nil ? nil : plan.coarseStrides)
    }

    /// Approximate occlusion of `[N, C, H, W]` images with `parameters` (see `attribute(…, approximation:)`).
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters<Model.Scalar>,
        approximation: Approximation, progress: AttributionProgress? = nil
    ) throws -> ApproximateResult {
        guard input.rank == 4 else {
            throw AttributionError.shapeMismatch("occlusion windows need images [N, C, H, W], got \(input.shape)")
        }
        let (window, strides) = try parameters.captumWindow(channelCount: input.shape[1])
        return try attribute(
            model: model, input: input, targets: targets, window: window, strides: strides,
            baseline: parameters.baseline, perturbationsPerEval: parameters.perturbationsPerEval,
            approximation: approximation, progress: progress)
    }
}

/// Which windows the drill-down's coarse pass evaluates, and each window's parent (see
/// `Occlusion.Approximation`).
struct DrillDownPlan: Sendable {
    /// Coarse window numbers, ascending.
    let coarse: [Int]
    /// parent[j]: the coarse window standing for window j (j itself for a coarse window).
    let parent: [Int]
    let coarseStrides: [Int]

    init(grid: OcclusionGrid, enabled: Bool) {
        let rank = grid.shape.count
        let refined = Set(rank >= 2 ? [rank - 2, rank - 1] : [0])
        var parent = [Int](repeating: 0, count: grid.windowCount)
        var coarse: [Int] = []
        for j in 0..<grid.windowCount {
            guard enabled else { parent[j] = j; coarse.append(j); continue }
            // Window numbers have the first axis fastest.
            var rest = j, number = 0, scale = 1
            for d in 0..<rank {
                var i = rest % grid.counts[d]
                rest /= grid.counts[d]
                if refined.contains(d) { i -= i % 2 }
                number += i * scale
                scale *= grid.counts[d]
            }
            parent[j] = number
            if number == j { coarse.append(j) }
        }
        self.coarse = coarse
        self.parent = parent
        coarseStrides = grid.strides.indices.map { refined.contains($0) ? 2 * grid.strides[$0] : grid.strides[$0] }
    }

    /// The fine (non-coarse) windows of the blocks whose coarse drops (`drops[i]` for `coarse[i]`)
    /// rank in the top ⌈fraction·coarse count⌉ by `ranking`, largest first, ties to the lower number.
    func drilled<Scalar: TensorScalar>(
        drops: [Scalar], fraction: Double, ranking: Occlusion.DrillDownRanking
    ) -> [Int] {
        let count = min(coarse.count, max(1, Int((fraction * Double(coarse.count) - 1e-9).rounded(.up))))
        let keys = ranking == .magnitude ? drops.map { abs($0) } : drops
        let ranked = coarse.indices.sorted { a, b in
            keys[a] != keys[b] ? keys[a] > keys[b] : coarse[a] < coarse[b]
        }
        let chosen = Set(ranked.prefix(count).map { coarse[$0] })
        return parent.indices.filter { parent[$0] != $0 && chosen.contains(parent[$0]) }
    }
}
