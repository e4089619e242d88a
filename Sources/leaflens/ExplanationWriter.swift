import Foundation
import LeafLensImaging
import LeafLensMath

/// The `<stem>.<method>.json` record.
struct ExplanationRecord: Codable {
    struct ClassScore: Codable, Equatable {
        var index: Int
        var label: String
        var probability: Double
    }
    struct ModelInfo: Codable {
        /// The weights file, or "bundled default".
        var weights: String
        var classes: Int
    }
    struct Preprocessing: Codable {
        var kind: LoadedInput.Kind
        /// Shorter side after resizing (absent with --no-resize or for .npy inputs).
        var resize: Int?
        var crop: Int?
        var inputShape: [Int]
    }
    struct Visualization: Codable {
        var sign: String
        var outlierPercent: Double
        var colormap: String
        /// The value the map was divided by (Captum's cumulative-sum threshold); 0 if blank.
        var threshold: Double
        /// Nothing to draw: the normalized map is all zeros.
        var blank: Bool
    }
    struct Files: Codable {
        var attributions: String
        var heatMap: String
        var overlay: String
    }

    var input: String
    var method: String
    var model: ModelInfo
    var preprocessing: Preprocessing
    var predicted: ClassScore
    var target: ClassScore
    var parameters: MethodParameters
    var attributionShape: [Int]
    var convergenceDelta: Double?
    var wallTimeSeconds: Double
    var visualization: Visualization
    var files: Files
}

/// Files for one input, collected in memory and then written together as one `AtomicFileSet`, so an
/// input either gets all its files or none (and a failed re-run keeps the previous run's files).
struct PendingFiles {
    private(set) var entries: [(name: String, data: Data)] = []

    mutating func add(_ name: String, _ data: Data) { entries.append((name, data)) }

    /// Creates `directory` if needed and writes every file into it, all or nothing (`AtomicFileSet`:
    /// staged first, previous versions restored on failure, names it did not write never touched).
    func commit(into directory: URL) throws {
        var set = AtomicFileSet()
        for (name, data) in entries { set.add(name, data) }
        do { try set.commit(into: directory) } catch { throw RuntimeError(error.description) }
    }
}

/// Turns an attribution into its pictures: the heat map and the overlay on the display image.
struct ExplanationRendering {
    var map: AttributionMap
    var heatMap: RGBImage
    var overlay: RGBImage
    var colormap: Colormap

    init(_ displayed: Tensor<Float>, display: RGBImage, sign: AttributionSign, outlierPercent: Double,
         colormap requested: Colormap?) throws(ImageError)
    {
        map = try AttributionMap(displayed, sign: sign, outlierPercent: outlierPercent)
        colormap = requested ?? sign.defaultColormap
        heatMap = map.heatMap(colormap: colormap)
        overlay = try map.blendedHeatMap(original: display, colormap: colormap)
    }
}

enum ExplanationJSON {
    static func encode(_ record: ExplanationRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(record)
        data.append(0x0A)
        return data
    }
}
