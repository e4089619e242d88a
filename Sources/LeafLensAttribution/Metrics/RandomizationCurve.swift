/// The model-randomization sanity check of Adebayo et al. (2018) as curves: the Spearman rank
/// correlation between a method's map on the trained model and on models with blocks re-initialised,
///
///   - cascading: blocks randomized from the top (`fc`) down, each stage keeping the earlier ones;
///   - independent: one block at a time, the rest trained.
///
/// A method that passes drops toward 0 as the cascade reaches the input. The randomization itself is a
/// closure — `randomize(stages)` returns the model with exactly those stages re-initialised (LeafLens'
/// `ModelRandomization.randomized(_:prefixes:seed:)` over the union of the stages' prefixes) — and so is
/// the method, `explain(model)`, returning the H·W ranking map (`PixelRanking.map`).
public struct RandomizationCurve: Codable, Sendable, Equatable {
    public var method: String
    /// Stage names in cascade order, e.g. fc, layer4, layer3, layer2, layer1, conv1.
    public var stages: [String]
    /// ρ after randomizing stages[0...k], k = 0…count−1.
    public var cascading: [Double]
    /// ρ with only stages[k] randomized.
    public var independent: [Double]
    /// Whether ρ was computed on |map| (Adebayo et al. show both).
    public var absolute: Bool

    public static func compute<Model>(
        method: String, stages: [String], absolute: Bool = false, independent: Bool = true,
        trained: Model, randomize: ([String]) throws -> Model, explain: (Model) throws -> [Float]
    ) throws -> RandomizationCurve {
        guard !stages.isEmpty else { throw MetricError.invalidOption("the randomization needs at least one stage") }
        let prepare = { (m: [Float]) in absolute ? m.map { Swift.abs($0) } : m }
        let reference = prepare(try explain(trained))
        var cascade: [Double] = [], single: [Double] = []
        for k in stages.indices {
            let map = prepare(try explain(randomize(Array(stages[0...k]))))
            guard map.count == reference.count else {
                throw MetricError.shapeMismatch("randomized map has \(map.count) values, trained \(reference.count)")
            }
            cascade.append(RankCorrelation.spearman(reference, map))
            if independent {
                single.append(
                    k == 0
                        ? cascade[0]
                        : RankCorrelation.spearman(reference, prepare(try explain(randomize([stages[k]])))))
            }
        }
        return RandomizationCurve(
            method: method, stages: stages, cascading: cascade, independent: single,
            absolute: absolute)
    }
}
