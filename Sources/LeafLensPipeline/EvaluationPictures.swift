import Foundation
import LeafLensAttribution
import LeafLensImaging

/// Thumbnails of one image where the methods disagree most (`evaluation.html`, issue 13 item 2): the
/// network's input and every method's ranking map over it, as small PNGs the page embeds.
public struct DisagreementPicture: Sendable, Equatable {
    /// One method's map: the map the metrics rank pixels by and the agreement compares
    /// (`Explanation.map`: channel-summed signed attribution, CAM maps upsampled), normalized as
    /// Captum's `visualize_image_attr` does on its own scale and blended over the grey input.
    public struct Map: Sendable, Equatable {
        public var method: String
        /// `all` (RdWhGn: red negative, green positive) when the map has negative values, else `positive` (Greens).
        public var sign: AttributionSign
        /// The map is zero everywhere (nothing to show).
        public var blank: Bool
        public var png: Data
    }

    /// The image's path relative to the data folder.
    public var image: String
    /// Its class folder.
    public var label: String
    public var meanPairwiseSpearman: Double
    /// The network input (resized, centre-cropped) as a PNG thumbnail.
    public var input: Data
    public var maps: [Map]
    /// Side of the thumbnails in pixels.
    public var side: Int
}

/// Keeps the inputs and maps of the `capacity` images with the lowest method agreement seen so far,
/// ordered as `DatasetAggregator` orders its disagreements (ρ, then the image path), so that what is
/// kept after the last image is what the summary lists; renders them as `DisagreementPicture`s.
struct DisagreementCollector {
    struct Candidate {
        var image: String
        var label: String
        var rho: Double
        var display: RGBImage
        var maps: [(method: String, values: [Float])]
    }

    var capacity: Int
    /// Longest side of a thumbnail; smaller inputs keep their size (the page scales them up).
    var side: Int
    private(set) var kept: [Candidate] = []

    init(capacity: Int, side: Int = DisagreementCollector.defaultSide) {
        self.capacity = max(0, capacity)
        self.side = max(1, side)
    }

    static let defaultSide = 112

    mutating func offer(_ candidate: Candidate) {
        guard capacity > 0 else { return }
        if kept.count == capacity, let last = kept.last, (last.rho, last.image) <= (candidate.rho, candidate.image) {
            return
        }
        kept.append(candidate)
        kept.sort { ($0.rho, $0.image) < ($1.rho, $1.image) }
        if kept.count > capacity { kept.removeLast() }
    }

    /// Pictures of the listed images, in the list's order (an image not kept is left out).
    func pictures(for disagreements: [DatasetSummary.Disagreement]) throws -> [DisagreementPicture] {
        try disagreements.compactMap { d in
            guard let c = kept.first(where: { $0.image == d.image }) else { return nil }
            return try Self.render(c, rho: d.meanPairwiseSpearman, side: side)
        }
    }

    static func render(_ c: Candidate, rho: Double, side: Int) throws -> DisagreementPicture {
        let (w, h) = (c.display.width, c.display.height)
        let scale = min(1, Double(side) / Double(max(w, h)))
        let (tw, th) = (max(1, Int((Double(w) * scale).rounded())), max(1, Int((Double(h) * scale).rounded())))
        func thumbnail(_ image: RGBImage) throws(ImageError) -> Data {
            if tw == w && th == h { return try PNGWriter.encode(image) }
            return try PNGWriter.encode(try image.resizedBilinear(width: tw, height: th))
        }
        do {
            let maps = try c.maps.map { item throws(ImageError) -> DisagreementPicture.Map in
                let sign: AttributionSign = item.values.contains { $0 < 0 } ? .all : .positive
                let map = try AttributionMap(height: h, width: w, reduced: item.values, sign: sign)
                let picture = try map.blendedHeatMap(original: c.display, alphaOverlay: 0.5)
                return .init(method: item.method, sign: sign, blank: map.isDegenerate, png: try thumbnail(picture))
            }
            return DisagreementPicture(
                image: c.image, label: c.label, meanPairwiseSpearman: rho, input: try thumbnail(c.display), maps: maps,
                side: max(tw, th))
        } catch {
            throw PipelineError("\(c.image): cannot draw the disagreement thumbnails (\(error))")
        }
    }
}
