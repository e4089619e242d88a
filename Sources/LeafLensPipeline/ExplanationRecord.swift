import Foundation
import LeafLensImaging
import LeafLensMath

/// The `<stem>.<method>.json` record (keys on disk: snake_case, see `ReportJSON`).
public struct ExplanationRecord: Codable, Sendable {
    public struct ClassScore: Codable, Equatable, Sendable {
        public var index: Int
        public var label: String
        public var probability: Double
    }
    public struct ModelInfo: Codable, Sendable {
        /// The weights file, or "bundled default".
        public var weights: String
        public var classes: Int
    }
    public struct Preprocessing: Codable, Sendable {
        public var kind: LoadedInput.Kind
        /// Shorter side after resizing (absent with --no-resize or for .npy inputs).
        public var resize: Int?
        public var crop: Int?
        public var inputShape: [Int]
    }
    public struct Visualization: Codable, Sendable {
        public var sign: String
        public var outlierPercent: Double
        public var colormap: String
        /// The value the map was divided by (Captum's cumulative-sum threshold); 0 if blank.
        public var threshold: Double
        /// Nothing to draw: the normalized map is all zeros.
        public var blank: Bool
    }
    public struct Files: Codable, Sendable {
        public var attributions: String
        /// nil when `--views` left the picture out.
        public var heatMap: String?
        public var overlay: String?
        public var masked: String?
        public var alpha: String?
        public var original: String?
    }
    /// How the pictures were drawn (`RenderingSettings`), and what their reader should know.
    public struct Rendering: Codable, Sendable {
        public var style: String
        public var overlayBase: String
        public var imageWeight: Double
        public var normalization: String
        public var scale: String
        /// How many maps the colour scale was fitted over.
        public var scaleMaps: Int
        /// Attribution values at the colour bar's two ends.
        public var scaleLow: Double
        public var scaleHigh: Double
        /// Colour bars on the single pictures.
        public var colorBar: Bool
        public var views: [String]
        /// The text engine of colour bars and the panel (`Typeface.name`).
        public var typeface: String
        public var warnings: [String]
    }

    public var input: String
    public var method: String
    public var model: ModelInfo
    public var preprocessing: Preprocessing
    public var predicted: ClassScore
    public var target: ClassScore
    public var parameters: MethodParameters
    public var attributionShape: [Int]
    public var convergenceDelta: Double?
    public var wallTimeSeconds: Double
    public var visualization: Visualization
    public var files: Files
    /// Faithfulness scores (`explain --metrics`), nil when none were asked for.
    public var metrics: FaithfulnessScores? = nil
    public var rendering: Rendering?
}

/// Files for one input, collected in memory and then written together as one `AtomicFileSet`, so an
/// input either gets all its files or none (and a failed re-run keeps the previous run's files).
public struct PendingFiles: Sendable {
    public private(set) var entries: [(name: String, data: Data)] = []

    public init() {}

    public mutating func add(_ name: String, _ data: Data) { entries.append((name, data)) }

    /// Creates `directory` if needed and writes every file into it, all or nothing (`AtomicFileSet`:
    /// staged first, previous versions restored on failure, names it did not write never touched).
    public func commit(into directory: URL) throws {
        var set = AtomicFileSet()
        for (name, data) in entries { set.add(name, data) }
        do { try set.commit(into: directory) } catch { throw PipelineError(error.description) }
    }
}

/// Turns an attribution into its pictures: the heat map and the overlay on the display image.
struct ExplanationRendering {
    var map: AttributionMap
    var heatMap: RGBImage
    var overlay: RGBImage
    var colormap: Colormap

    init(
        _ displayed: Tensor<Float>, display: RGBImage, sign: AttributionSign, outlierPercent: Double,
        colormap requested: Colormap?
    ) throws(ImageError) {
        map = try AttributionMap(displayed, sign: sign, outlierPercent: outlierPercent)
        colormap = requested ?? sign.defaultColormap
        heatMap = map.heatMap(colormap: colormap)
        overlay = try map.blendedHeatMap(original: display, colormap: colormap)
    }
}
