import LeafLensMath

/// One deletion or insertion curve (RISE, Petsiuk et al. 2018): the softmax probability of the clean
/// image's top-1 class after each step of pixel replacement, and its area.
public struct CausalCurve: Codable, Sendable, Equatable {
    /// n_steps + 1 probabilities: `scores[0]` on the untouched start image, the last on the finished one.
    public var scores: [Double]
    /// `(Σ scores − scores₀/2 − scores_last/2)/(count − 1)`: the trapezoid rule on a uniform grid over
    /// [0, 1], as RISE's `auc` computes it (also when the last step is shorter).
    public var auc: Double
    /// Pixels replaced per step.
    public var step: Int
    /// The class scored: argmax of the model's output on the clean image.
    public var scoredClass: Int

    enum CodingKeys: String, CodingKey {
        case scores, auc, step
        case scoredClass = "class"
    }

    public init(scores: [Double], step: Int, scoredClass: Int) {
        self.scores = scores
        self.auc = CausalCurve.trapezoidAUC(scores)
        self.step = step
        self.scoredClass = scoredClass
    }

    /// RISE's `auc(arr)`; 0 for fewer than two points.
    public static func trapezoidAUC(_ scores: [Double]) -> Double {
        guard scores.count > 1, let first = scores.first, let last = scores.last else { return 0 }
        return (scores.reduce(0, +) - first / 2 - last / 2) / Double(scores.count - 1)
    }
}

/// RISE's `CausalMetric.single_run`, batched: pixels in decreasing ranking order are moved from a
/// start image to a finish image, `step` pixels (all channels) at a time.
///
///     deletion:  start = image,           finish = substrate (zeros)
///     insertion: start = blurred image,   finish = image
///
/// n_steps = ⌈H·W / step⌉; state i (i = 0…n_steps) has the first min(i·step, H·W) ranked pixels
/// replaced. Every state is scored by the softmax probability of c = argmax F(image) — the clean
/// image's top class, whatever class the explanation was made for. States are forwarded `batchSize`
/// at a time (RISE forwards them one by one; the numbers do not depend on the batch).
public enum CausalMetric {
    public enum Mode: String, Sendable, Codable { case deletion, insertion }

    /// Default RISE step: the image width (224 for 224×224, as RISE's notebook uses).
    public static func defaultStep(width: Int) -> Int { width }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func curve<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, ranking: [Float], mode: Mode, step: Int? = nil,
        ties: PixelRanking.TieOrder = .ascendingIndex, batchSize: Int = 16
    ) throws -> CausalCurve {
        let (channels, height, width) = try imageDimensions(image)
        let pixels = height * width
        let step = step ?? defaultStep(width: width)
        guard (1...pixels).contains(step) else { throw MetricError.invalidStep(step: step, pixels: pixels) }
        guard batchSize >= 1 else { throw MetricError.invalidOption("batch size must be ≥ 1, got \(batchSize)") }
        guard ranking.count == pixels else {
            throw MetricError.shapeMismatch("ranking map has \(ranking.count) values for a \(height)×\(width) image")
        }
        let clean = try model.outputs(image)
        guard clean.rank == 2, clean.shape[0] == 1, clean.shape[1] > 0 else {
            throw MetricError.shapeMismatch("model returned \(clean.shape) for one image")
        }
        let scoredClass = argmax(clean.storage[...])
        let substrate: Tensor<Model.Scalar> =
            mode == .deletion ? Tensor(zeros: image.shape) : try RISEBlur.blur(image)
        let (start, finish) = mode == .deletion ? (image, substrate) : (substrate, image)
        let order = PixelRanking.order(ranking, ties: ties)
        let steps = (pixels + step - 1) / step

        var state = start.storage
        var scores: [Double] = []
        scores.reserveCapacity(steps + 1)
        var i = 0
        while i <= steps {
            let count = min(batchSize, steps + 1 - i)
            var batch: [Model.Scalar] = []
            batch.reserveCapacity(count * state.count)
            for s in i..<(i + count) {
                batch.append(contentsOf: state)
                if s < steps {
                    for p in order[(s * step)..<min((s + 1) * step, pixels)] {
                        for c in 0..<channels { state[c * pixels + p] = finish.storage[c * pixels + p] }
                    }
                }
            }
            let outputs = try model.outputs(
                Tensor(uncheckedShape: [count, channels, height, width], storage: batch))
            scores += try probabilities(outputs, columns: Array(repeating: scoredClass, count: count))
            i += count
        }
        return CausalCurve(scores: scores.map { Double(Float($0)) }, step: step, scoredClass: scoredClass)
    }

    /// (C, H, W) of a `[1, C, H, W]` image.
    static func imageDimensions<Scalar: TensorScalar>(_ image: Tensor<Scalar>) throws -> (Int, Int, Int) {
        guard image.rank == 4, image.shape[0] == 1, image.shape.allSatisfy({ $0 > 0 }) else {
            throw MetricError.shapeMismatch("metrics take one image [1, C, H, W], got \(image.shape)")
        }
        return (image.shape[1], image.shape[2], image.shape[3])
    }
}
