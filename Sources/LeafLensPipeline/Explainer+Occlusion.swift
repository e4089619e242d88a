import Foundation
import LeafLensAttribution
import LeafLensMath

/// The JSON record of an approximate occlusion run (`--occlusion-tau`, `--occlusion-drilldown`).
public struct OcclusionApproximationRecord: Codable, Equatable, Sendable {
    /// τ, the projective-field threshold (1: none).
    public var tau: Double
    /// R, the drill-down fraction (absent: no drill-down), and the ranking of the coarse windows
    /// ("magnitude" |drop| or "signed" drop).
    public var drillDown: Double?
    public var drillDownRanking: String?
    /// The drill-down's coarse pass strides `[C, H, W]` (twice the given spatial strides).
    public var coarseStrides: [Int]?
    /// Windows of the given grid, and how many were evaluated (the rest took their coarse parent's drop).
    public var windows: Int
    public var evaluatedWindows: Int
    /// Seconds of the approximate attribution alone.
    public var seconds: Double
    /// With `--check-exact`: the SSIM of the channel-summed approximate map to the exact one
    /// (`StructuralSimilarity`: Gaussian window 11, σ 1.5, K1 0.01, K2 0.03, L = the exact map's
    /// max − min), and the exact attribution's seconds.
    public var ssimToExact: Double?
    public var exactSeconds: Double?

    /// One report line: "τ 0.5, drill-down R 0.25 (343 of 784 windows), SSIM 0.9512 to exact".
    var summary: String {
        var parts = ["τ \(tau)"]
        if let r = drillDown { parts.append("drill-down R \(r) by \(drillDownRanking ?? "magnitude")") }
        var text = parts.joined(separator: ", ") + " (\(evaluatedWindows) of \(windows) windows evaluated)"
        if let ssim = ssimToExact {
            text += String(format: ", SSIM %.4f to exact", locale: Locale(identifier: "en_US_POSIX"), ssim)
        }
        return text
    }
}

extension Explainer {
    /// Occlusion with Krypton's approximations (`settings.occlusion`'s τ and R), and, with
    /// `checkExact`, the exact map too (timed separately) and the SSIM between them.
    func approximateOcclusion<Model: AttributionModel>(
        _ input: LoadedInput, target: Int, parameters: Occlusion.Parameters<Float>, progress: AttributionProgress?,
        model: Model
    ) throws -> (Tensor<Float>, OcclusionApproximationRecord) where Model.Scalar == Float {
        let options = settings.occlusion
        let approximation = Occlusion.Approximation(
            projectiveFieldThreshold: options.projectiveFieldThreshold ?? 1, drillDown: options.drillDown,
            ranking: options.drillDownRanking)
        let clock = ContinuousClock()
        let start = clock.now
        let result = try Occlusion.attribute(
            model: model, input: input.tensor, targets: [target], parameters: parameters,
            approximation: approximation, progress: progress)
        var record = OcclusionApproximationRecord(
            tau: approximation.projectiveFieldThreshold, drillDown: approximation.drillDown,
            drillDownRanking: approximation.drillDown == nil ? nil : approximation.ranking.rawValue,
            coarseStrides: result.coarseStrides, windows: result.windowCount, evaluatedWindows: result.evaluatedWindows,
            seconds: Self.seconds(clock.now - start))
        if options.checkExact {
            let exactStart = clock.now
            let exact = try Occlusion.attribute(
                model: model, input: input.tensor, targets: [target], parameters: parameters)
            record.exactSeconds = Self.seconds(clock.now - exactStart)
            record.ssimToExact = try StructuralSimilarity.index(result.attributions, reference: exact)
        }
        return (result.attributions, record)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}

/// Krypton's approximations for the CLI (which imports only the pipeline).
public typealias OcclusionApproximation = Occlusion.Approximation
public typealias OcclusionDrillDownRanking = Occlusion.DrillDownRanking
