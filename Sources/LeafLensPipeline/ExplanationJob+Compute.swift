import Foundation
import LeafLensAttribution
import LeafLensImaging

/// One input's attributions for one target, computed and not yet drawn: what `ExplanationJob.render`
/// turns into files. `--scale shared` keeps one per input (and target) until every input is computed,
/// fits the run's scales over their stored maps, then draws each: every attribution is computed once.
public struct ComputedInput: Sendable {
    public let input: LoadedInput
    /// The model's classes, best first.
    public let ranking: [Prediction]
    /// The class explained.
    public let target: Int
    /// "" or ".top<k>" (`--targets top:K`).
    public let fileSuffix: String
    let methods: [ComputedMethod]

    /// The methods computed, in the order they were asked for.
    public var methodNames: [AttributionMethod] { methods.map(\.method) }
}

extension ExplanationJob {
    /// Loads and classifies the input at `path` and runs every method for `target` (nil: the predicted
    /// class), or, with `topK`, for each of its K most probable classes (file suffix `.top<k>`).
    public func compute(
        _ path: String, methods: [AttributionMethod], target: Int?, topK: Int? = nil,
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }
    ) throws -> [ComputedInput] {
        let input = try loader.load(path)
        let ranking = try explainer.predictions(input)
        guard let topK else {
            return [try compute(input, ranking: ranking, methods: methods, target: target, progress: progress)]
        }
        guard topK >= 1, topK <= ranking.count else {
            throw PipelineError("--targets top:\(topK) needs 1...\(ranking.count) classes")
        }
        return try ranking.prefix(topK).enumerated().map { k, prediction in
            try compute(
                input, ranking: ranking, methods: methods, target: prediction.index, fileSuffix: ".top\(k + 1)",
                progress: progress)
        }
    }

    /// Draws several computed runs of one input (its `--targets top:K` classes) into one file set; its
    /// `predicted` and `target` are the first run's, its records every run's.
    public func render(_ computed: [ComputedInput], warning: (String) -> Void = { _ in }) throws -> ExplanationFileSet {
        var merged: ExplanationFileSet?
        for item in computed {
            let result = try render(item, warning: warning)
            if merged == nil {
                merged = result
            } else {
                for entry in result.files.entries { merged?.files.add(entry.name, entry.data) }
                merged?.records += result.records
            }
        }
        guard let merged else { throw PipelineError("no class to explain") }
        return merged
    }

    /// `--scale shared`: one scale per method fitted over the stored maps of every computed input, in
    /// input order (nothing is recomputed). Empty for other scales.
    public func sharedScales(over computed: [ComputedInput]) throws -> [AttributionMethod: AttributionScale] {
        guard visualization.rendering.scale == .shared else { return [:] }
        var order: [AttributionMethod] = []
        var maps: [AttributionMethod: (sign: AttributionSign, maps: [ReducedAttribution])] = [:]
        for item in computed.flatMap(\.methods) {
            if maps[item.method] == nil { order.append(item.method) }
            maps[item.method, default: (item.sign, [])].maps.append(item.reduced)
        }
        var scales: [AttributionMethod: AttributionScale] = [:]
        for method in order {
            guard let entry = maps[method] else { continue }
            do {
                scales[method] = try AttributionScale.fit(
                    entry.maps, sign: entry.sign, normalization: visualization.rendering.normalization,
                    outlierPercent: visualization.outlierPercent)
            } catch {
                throw PipelineError("\(method.rawValue): cannot fit the shared colour scale (\(error))")
            }
        }
        return scales
    }

    /// This job with `--scale shared`'s scales fitted over `computed` for every method that has none
    /// yet (unchanged for other scales).
    func withSharedScales(over computed: [ComputedInput]) throws -> ExplanationJob {
        guard visualization.rendering.scale == .shared else { return self }
        let missing = computed.map { item in
            ComputedInput(
                input: item.input, ranking: item.ranking, target: item.target, fileSuffix: item.fileSuffix,
                methods: item.methods.filter { visualization.rendering.sharedScales[$0.method] == nil })
        }
        guard missing.contains(where: { !$0.methods.isEmpty }) else { return self }
        var job = self
        for (method, scale) in try sharedScales(over: missing) {
            job.visualization.rendering.sharedScales[method] = scale
        }
        return job
    }

    /// `explain` over several inputs: each input's file set (or the error that stopped it) goes to
    /// `deliver`, in input order, and nothing is written here. Per map and per image, each input is
    /// computed, drawn and delivered before the next is loaded. With `--scale shared`, every input is
    /// computed first (the failures delivered as they happen), its attributions kept in memory, then
    /// one scale per method is fitted over all of them and each input is drawn on it and delivered: each
    /// attribution is computed once. An error thrown by `deliver` stops the run.
    public func run(
        _ paths: [String], methods: [AttributionMethod], target: Int?, topK: Int? = nil,
        progress: (_ label: String) -> AttributionProgress? = { _ in nil }, warning: (String) -> Void = { _ in },
        deliver: (_ path: String, _ result: Result<ExplanationFileSet, any Error>) throws -> Void
    ) throws {
        guard visualization.rendering.scale == .shared else {
            for path in paths {
                let result = Result { () throws -> ExplanationFileSet in
                    let computed = try compute(path, methods: methods, target: target, topK: topK, progress: progress)
                    return try render(computed, warning: warning)
                }
                try deliver(path, result)
            }
            return
        }
        var computed: [(path: String, runs: [ComputedInput])] = []
        for path in paths {
            do {
                computed.append(
                    (path, try compute(path, methods: methods, target: target, topK: topK, progress: progress)))
            } catch {
                try deliver(path, .failure(error))
            }
        }
        let job = try withSharedScales(over: computed.flatMap(\.runs))
        for (path, runs) in computed {
            try deliver(path, Result { try job.render(runs, warning: warning) })
        }
    }
}
