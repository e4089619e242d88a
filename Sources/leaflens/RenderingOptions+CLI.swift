import ArgumentParser
import LeafLensPipeline

extension ScaleScope: ExpressibleByArgument {}
extension Normalization: ExpressibleByArgument {}
extension OverlayBase: ExpressibleByArgument {}
extension OverlayStyle: ExpressibleByArgument {}

/// `on` / `off`.
enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on
    case off
}

/// A comma-separated list of views.
struct ViewList: ExpressibleByArgument {
    var views: [AttributionView]

    init?(argument: String) {
        guard let views = try? AttributionView.parseList(argument) else { return nil }
        self.views = views
    }

    static var allValueStrings: [String] { AttributionView.allCases.map(\.rawValue) }
    var defaultValueDescription: String { views.map(\.rawValue).joined(separator: ",") }
}

/// How pictures are drawn (issue 14): colour bars, scales, normalization, overlay look and views.
struct RenderingOptionGroup: ParsableArguments {
    @Option(
        name: .customLong("colorbar"),
        help: "Draw a colour bar under each picture (default: on in the panel and report, off on single pictures).")
    var colorBar: OnOff?

    @Option(
        name: .long,
        help: """
            Which maps share a colour scale: per-map; per-image (all methods of an input with the same sign); \
            shared (one scale per method across all inputs: every input is computed, and kept in memory, before the first is drawn; not with --data/--list).
            """)
    var scale: ScaleScope = .perMap

    @Option(
        name: .long,
        help:
            "How attributions map onto the colours: outlier (Captum, see --outlier-percent), minmax (pytorch-grad-cam) or none (raw values)."
    )
    var normalize: Normalization = .outlier

    @Option(
        name: .long,
        help: "What overlays are blended over: gray or color (default: gray for captum style, color for grad-cam).")
    var overlay: OverlayBase?

    @Option(
        name: .customLong("image-weight"),
        help: ArgumentHelp("Weight of the image in overlays, in [0, 1].", valueName: "w"))
    var imageWeight: Double = 0.5

    @Option(
        name: .long,
        help: """
            Whose look: captum (the sign's colormap) or grad-cam (pytorch-grad-cam's show_cam_on_image, JET) \
            (default: grad-cam for CAM methods, captum for the others; --colormap applies to captum).
            """)
    var style: OverlayStyle?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pictures written, comma-separated: heat, overlay, masked, alpha (per method; masked and alpha need a sign other than all), original (once per input).",
            valueName: "views"))
    var views: ViewList = ViewList(argument: "heat,overlay")!  // safe: a literal list of valid views

    func validate() throws {
        guard imageWeight.isFinite, imageWeight >= 0, imageWeight <= 1 else {
            throw ValidationError("--image-weight must be in [0, 1], got \(imageWeight)")
        }
    }

    var settings: RenderingSettings {
        var settings = RenderingSettings()
        settings.colorBar = colorBar.map { $0 == .on }
        settings.scale = scale
        settings.normalization = normalize
        settings.overlayBase = overlay
        settings.imageWeight = imageWeight
        settings.style = style
        settings.defaultStyle = .perMethod
        settings.views = views.views
        return settings
    }

    /// Captum's rule, per method once the model is known: masked and alpha need a sign other than all
    /// (`--sign all`, or Grad-CAM drawn with sign all under --no-relu).
    func problem(methods: [AttributionMethod], visualization: VisualizationSettings, relu: Bool) -> String? {
        for method in methods {
            let sign = visualization.sign(for: method, relu: relu)
            do throws(RenderingError) {
                try settings.validate(sign: sign)
            } catch {
                return
                    "--views \(views.defaultValueDescription) with \(method.rawValue) drawn with sign \(sign.rawValue): \(error)"
            }
        }
        return nil
    }
}
