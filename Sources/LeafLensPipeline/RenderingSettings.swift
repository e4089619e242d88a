import Foundation
import LeafLensImaging

// The rendering choices options name, re-exported so the CLI needs only this module.
public typealias ScaleScope = LeafLensImaging.ScaleScope
public typealias Normalization = LeafLensImaging.Normalization
public typealias OverlayBase = LeafLensImaging.OverlayBase
public typealias OverlayStyle = LeafLensImaging.OverlayStyle
public typealias AttributionView = LeafLensImaging.AttributionView
public typealias RenderingError = LeafLensImaging.RenderingError
public typealias AttributionScale = LeafLensImaging.AttributionScale

/// How `explain` draws its pictures beyond sign, outlier percentage and colormap (issue 14): colour
/// bars, which maps share a scale, the normalization, the overlay's look and which views are written.
///
/// The defaults reproduce the files LeafLens wrote before these settings existed: per-map outlier
/// normalization, Captum's look over a grey image at image weight 0.5, heat map and overlay, no
/// colour bar on single pictures (panels and reports draw one).
public struct RenderingSettings: Sendable {
    /// nil: on in panels and reports, off on single pictures. true / false: everywhere.
    public var colorBar: Bool?
    public var scale: ScaleScope = .perMap
    public var normalization: Normalization = .outlier
    /// nil: the style's own base (`RenderingOptions.defaultOverlayBase`).
    public var overlayBase: OverlayBase?
    public var imageWeight = 0.5
    /// nil: `defaultStyle` for every method.
    public var style: OverlayStyle?
    /// What a method gets when `style` is nil. `.captum` draws every method in today's look; set
    /// `.perMethod` for `RenderingOptions.defaultStyle(isCAMMethod:)` (grad-cam style for CAM methods).
    public var defaultStyle: DefaultStyle = .captum
    public var views: [AttributionView] = [.heat, .overlay]
    /// `--scale shared`: one scale per method, fitted over every input's stored maps by
    /// `ExplanationJob.sharedScales(over:)` before any picture is drawn.
    public var sharedScales: [AttributionMethod: AttributionScale] = [:]

    public enum DefaultStyle: Sendable {
        case captum
        case perMethod
    }

    public init() {}

    /// The style `method` is drawn in.
    public func style(for method: AttributionMethod) -> OverlayStyle {
        if let style { return style }
        switch defaultStyle {
        case .captum: return .captum
        case .perMethod: return RenderingOptions.defaultStyle(isCAMMethod: method.space == .layer)
        }
    }

    /// The library's options for one method's pictures; `colorBar` is the single-picture setting.
    public func options(for method: AttributionMethod, outlierPercent: Double) -> RenderingOptions {
        let style = style(for: method)
        return RenderingOptions(
            colorBar: colorBar ?? false, scale: scale, normalization: normalization, outlierPercent: outlierPercent,
            overlayBase: overlayBase ?? RenderingOptions.defaultOverlayBase(for: style), imageWeight: imageWeight,
            style: style, views: views)
    }

    /// Colour bars in the panel and the report.
    public var colorBarInSummaries: Bool { colorBar ?? true }

    /// Checks the settings against a sign (Captum's rule for masked / alpha, the image weight).
    public func validate(sign: AttributionSign) throws(RenderingError) {
        try RenderingOptions(imageWeight: imageWeight, views: views).validate(sign: sign)
    }

    /// What a method's values measure, so a scale shared by several maps can say when their units
    /// disagree (the report's comparison row, `--scale per-image`). Names carry no brackets: they are
    /// listed inside brackets. nil when unknown.
    public static func unit(of method: AttributionMethod) -> String? {
        switch method {
        case .gradCAM: return "layer gradient × activation"
        case .saliency: return "gradient"
        case .guidedBackprop: return "guided gradient"
        case .deconvolution: return "deconvolution signal"
        case .guidedGradCAM: return "guided gradient × Grad-CAM"
        case .integratedGradients, .inputXGradient, .occlusion, .gradientShap, .featureAblation,
            .shapleyValueSampling, .kernelShap, .lime:
            return "model output"
        default: return method.isCAMFamily ? camUnit : nil
        }
    }

    /// The unit of one computed explanation: `unit(of:)`, except Grad-CAM through pytorch-grad-cam's
    /// post-processing (a min-max map like the CAM family's) and NoiseTunnel's squared kinds.
    public static func unit(of explanation: Explanation) -> String? {
        let method = explanation.method
        var unit = unit(of: method)
        if method == .gradCAM, explanation.parameters.postprocess == CAMPostprocessing.gradCAM.rawValue {
            unit = camUnit
        }
        if let kind = explanation.parameters.noiseTunnel?.kind, kind != NoiseTunnelKind.smoothGrad.rawValue {
            unit = unit.map { "squared \($0)" }
        }
        return unit
    }

    /// pytorch-grad-cam's finished maps: each scaled to 0…1 on its own.
    static let camUnit = "CAM scaled 0 to 1 per map"
}
