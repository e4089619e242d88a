import Foundation

/// How attribution pictures are drawn: one value type the pipeline fills from its flags.
///
/// `RenderingOptions()` reproduces what LeafLens drew before these options existed: outlier
/// normalization per map, Captum's look (the sign's colormap blended over a grey image at 0.5), heat
/// map and overlay only, no colour bar on single pictures. Panels and reports turn colour bars on
/// (`forPanelsAndReports`).
public struct RenderingOptions: Sendable, Equatable {
    /// Draw a colour bar under heat maps, overlays, panel columns and report figures.
    public var colorBar: Bool
    /// Which maps share one colour scale.
    public var scale: ScaleScope
    /// How raw attributions are mapped onto the colormap.
    public var normalization: Normalization
    /// Captum's `outlier_perc` for `normalization == .outlier`: the top share of the attribution
    /// *mass* that saturates.
    public var outlierPercent: Double
    /// What the heat map is blended over.
    public var overlayBase: OverlayBase
    /// Weight of the image in overlays, in [0, 1] (Captum: 1 − alpha_overlay; pytorch-grad-cam:
    /// `image_weight`). Both libraries default to 0.5.
    public var imageWeight: Double
    /// Whose look overlays follow.
    public var style: OverlayStyle
    /// Which pictures are written.
    public var views: [AttributionView]

    public init(
        colorBar: Bool = false, scale: ScaleScope = .perMap, normalization: Normalization = .outlier,
        outlierPercent: Double = 2, overlayBase: OverlayBase = .gray, imageWeight: Double = 0.5,
        style: OverlayStyle = .captum, views: [AttributionView] = [.heat, .overlay]
    ) {
        self.colorBar = colorBar
        self.scale = scale
        self.normalization = normalization
        self.outlierPercent = outlierPercent
        self.overlayBase = overlayBase
        self.imageWeight = imageWeight
        self.style = style
        self.views = views
    }

    /// Today's pictures (see the type's comment).
    public static let standard = RenderingOptions()
    /// `standard` with colour bars on, as panels and reports draw by default.
    public static let forPanelsAndReports = RenderingOptions(colorBar: true)

    /// The style a method is drawn in unless the user chooses: the CAM family (Grad-CAM, Grad-CAM++,
    /// Score-CAM, …: maps of a layer's activations, upsampled) in pytorch-grad-cam's look, where that
    /// community expects JET over the colour image; input-space methods (Integrated Gradients,
    /// Saliency, Occlusion, …) in Captum's.
    public static func defaultStyle(isCAMMethod: Bool) -> OverlayStyle { isCAMMethod ? .gradCAM : .captum }

    /// The overlay base that goes with a style by default: pytorch-grad-cam blends over the colour
    /// image, Captum over a grey one.
    public static func defaultOverlayBase(for style: OverlayStyle) -> OverlayBase {
        style == .gradCAM ? .color : .gray
    }

    /// Checks every option against every other and against `sign`; throws the first problem.
    ///
    /// - image weight outside [0, 1] (or not finite) → `.imageWeightOutOfRange`;
    /// - outlier percentage outside [0, 100) → `.outlierPercentOutOfRange`;
    /// - `masked` or `alpha` with sign `all` → `.viewNeedsSign` (Captum's rule: those views scale the
    ///   picture by the map, which has no meaning for signed values);
    /// - no views → `.noViews`.
    public func validate(sign: AttributionSign) throws(RenderingError) {
        guard imageWeight.isFinite, imageWeight >= 0, imageWeight <= 1 else {
            throw .imageWeightOutOfRange(imageWeight)
        }
        guard outlierPercent.isFinite, outlierPercent >= 0, outlierPercent < 100 else {
            throw .outlierPercentOutOfRange(outlierPercent)
        }
        guard !views.isEmpty else { throw .noViews }
        if sign == .all, let view = views.first(where: \.needsSignOtherThanAll) {
            throw .viewNeedsSign(view)
        }
    }

    /// The normalization as text, for captions and colour bars: "outliers 2%, per map",
    /// "min-max, shared (4 maps)", "raw values, per image".
    public func normalizationText(sharedMapCount: Int? = nil) -> String {
        let how: String =
            switch normalization {
            case .outlier: "outliers \(Self.compact(outlierPercent))%"
            case .minMax: "min-max"
            case .none: "raw values"
            }
        let scope: String =
            switch scale {
            case .perMap: "per map"
            case .perImage: "per image"
            case .shared: sharedMapCount.map { "shared (\($0) maps)" } ?? "shared"
            }
        return "\(how), \(scope)"
    }

    /// "2" for 2.0, "2.5" for 2.5.
    static func compact(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// `--scale`: which maps share one colour scale.
public enum ScaleScope: String, Sendable, CaseIterable {
    /// Every map on its own scale (LeafLens's and Captum's behaviour).
    case perMap = "per-map"
    /// One scale for all methods of an image (meaningful only where their units agree; the scale
    /// reports when they do not).
    case perImage = "per-image"
    /// One scale for one method across all inputs of a run.
    case shared

    /// Parses a flag value; unknown text is a typed error naming the choices.
    public init(parsing text: String) throws(RenderingError) {
        guard let value = Self(rawValue: text) else {
            throw .unknownChoice(option: "scale", value: text, choices: Self.allCases.map(\.rawValue))
        }
        self = value
    }
}

/// `--normalize`: how raw attributions become colormap positions.
public enum Normalization: String, Sendable, CaseIterable {
    /// Captum's `visualize_image_attr`: divide by the value at which the cumulative sorted |a| reaches
    /// (100 − outlier)% of the total mass; clip to [−1, 1].
    case outlier
    /// pytorch-grad-cam's `scale_cam_image`: (a − min) / (1e-7 + max(a − min)), in Float32. For sign
    /// `all` LeafLens divides by max |a| instead, so 0 stays at the centre of the diverging map.
    case minMax = "minmax"
    /// The values as they are (clipped to the colormap's range [0, 1], or [−1, 1] for sign `all`).
    case none

    public init(parsing text: String) throws(RenderingError) {
        guard let value = Self(rawValue: text) else {
            throw .unknownChoice(option: "normalize", value: text, choices: Self.allCases.map(\.rawValue))
        }
        self = value
    }
}

/// `--overlay`: what heat maps are blended over.
public enum OverlayBase: String, Sendable, CaseIterable {
    /// The mean of the image's channels (Captum's `blended_heat_map`).
    case gray
    /// The image itself (pytorch-grad-cam's `show_cam_on_image`).
    case color

    public init(parsing text: String) throws(RenderingError) {
        guard let value = Self(rawValue: text) else {
            throw .unknownChoice(option: "overlay", value: text, choices: Self.allCases.map(\.rawValue))
        }
        self = value
    }
}

/// `--style`: whose look overlays follow.
public enum OverlayStyle: String, Sendable, CaseIterable {
    /// Captum: the sign's colormap (Blues, Greens, Reds, RdWhGn), blended with alpha 1 − image weight.
    case captum
    /// pytorch-grad-cam 1.5.7 `show_cam_on_image`: OpenCV's JET, image weight 0.5, the result divided
    /// by its maximum and truncated to 8 bits.
    case gradCAM = "grad-cam"

    public init(parsing text: String) throws(RenderingError) {
        guard let value = Self(rawValue: text) else {
            throw .unknownChoice(option: "style", value: text, choices: Self.allCases.map(\.rawValue))
        }
        self = value
    }
}

/// `--views`: the pictures of one attribution, as Captum's `visualize_image_attr` methods.
public enum AttributionView: String, Sendable, CaseIterable {
    /// `heat_map`: the colormapped values.
    case heat
    /// `blended_heat_map` (Captum style) or `show_cam_on_image` (grad-cam style).
    case overlay
    /// `masked_image`: the image multiplied by the map. Needs a sign other than `all`.
    case masked
    /// `alpha_scaling`: the image with the map as its alpha channel. Needs a sign other than `all`.
    case alpha
    /// `original_image`: the image as the model saw it.
    case original

    public var needsSignOtherThanAll: Bool { self == .masked || self == .alpha }

    /// Parses "heat,overlay,masked": comma-separated, no repeats, at least one.
    public static func parseList(_ text: String) throws(RenderingError) -> [AttributionView] {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw .noViews }
        var views: [AttributionView] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let view = AttributionView(rawValue: name) else {
                throw .unknownChoice(option: "views", value: name, choices: allCases.map(\.rawValue))
            }
            if !views.contains(view) { views.append(view) }
        }
        guard !views.isEmpty else { throw .noViews }
        return views
    }
}

/// A rendering option that cannot be honoured. Each case names the option and what was wrong, so
/// the CLI can print it as a usage error.
public enum RenderingError: Error, Equatable, Sendable, CustomStringConvertible {
    case imageWeightOutOfRange(Double)
    case outlierPercentOutOfRange(Double)
    /// Captum's rule: `masked_image` and `alpha_scaling` need a sign other than `all`.
    case viewNeedsSign(AttributionView)
    case unknownChoice(option: String, value: String, choices: [String])
    case noViews
    /// An image and a map (or two maps on one scale) whose sizes disagree.
    case sizeMismatch(String)
    /// Anything else the caller passed that cannot be drawn (empty input, absurd sizes).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .imageWeightOutOfRange(let w): "image weight must be in [0, 1], got \(w)"
        case .outlierPercentOutOfRange(let p): "outlier percentage must be in [0, 100), got \(p)"
        case .viewNeedsSign(let view):
            "the \(view.rawValue) view needs sign positive, negative or absolute_value, not all (as Captum's visualize_image_attr)"
        case .unknownChoice(let option, let value, let choices):
            "unknown \(option) '\(value)'; choose one of \(choices.joined(separator: ", "))"
        case .noViews: "choose at least one view"
        case .sizeMismatch(let what): what
        case .invalidInput(let what): what
        }
    }
}
