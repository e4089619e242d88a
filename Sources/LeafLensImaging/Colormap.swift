/// A 256-entry colormap, built as matplotlib builds its segmented colormaps.
///
/// Each channel is a piecewise-linear function of x ∈ [0, 1] given by anchors (xₖ, yₖ). The table has
/// `N = 256` entries: with anchors scaled to Xₖ = xₖ·(N − 1), entry 0 is y₀, entry N − 1 is the last y,
/// and entry i in between interpolates on the segment [Xₖ₋₁, Xₖ] where k is the first anchor with Xₖ ≥ i.
/// A normalized value v ∈ [0, 1] uses entry `min(Int(v·256), 255)` (below 0: entry 0), as matplotlib's
/// `Colormap.__call__` does.
///
/// RdWhGn (Captum's map for sign `all`), Greens, Reds, Blues and jet are matplotlib's exact definitions.
/// viridis and inferno are listed colormaps in matplotlib (256 fixed entries); here every 8th entry of the
/// published table (plus the last) is an anchor, so entries in between are within 0.007 of matplotlib's.
public struct Colormap: Sendable, Equatable {
    public static let size = 256

    public let name: String
    /// `size` colours, r g b interleaved, each in [0, 1].
    public let table: [Double]

    /// Builds the table from per-channel anchors `(x, y)`, x ascending from 0 to 1.
    public init(name: String, red: [(Double, Double)], green: [(Double, Double)], blue: [(Double, Double)]) {
        self.name = name
        let channels = [red, green, blue].map { Self.lookupTable($0) }
        var table = [Double](repeating: 0, count: Self.size * 3)
        for i in 0..<Self.size {
            for c in 0..<3 { table[i * 3 + c] = channels[c][i] }
        }
        self.table = table
    }

    /// Evenly spaced colours, as matplotlib's `LinearSegmentedColormap.from_list(name, colours)`.
    public init(name: String, evenlySpaced colours: [(Double, Double, Double)]) {
        let n = max(colours.count - 1, 1)
        func channel(_ pick: ((Double, Double, Double)) -> Double) -> [(Double, Double)] {
            colours.enumerated().map { (Double($0.offset) / Double(n), pick($0.element)) }
        }
        self.init(name: name, red: channel { $0.0 }, green: channel { $0.1 }, blue: channel { $0.2 })
    }

    /// The table entry for a value already normalized to [0, 1].
    @inline(__always)
    public func index(normalized v: Float) -> Int {
        guard v.isFinite else { return v == .infinity ? Self.size - 1 : 0 }
        let scaled = v * Float(Self.size)
        if scaled < 0 { return 0 }
        return min(Int(scaled), Self.size - 1)
    }

    /// The colour (r, g, b in [0, 1]) of a normalized value.
    public func color(normalized v: Float) -> (r: Double, g: Double, b: Double) {
        let i = index(normalized: v) * 3
        return (table[i], table[i + 1], table[i + 2])
    }

    /// matplotlib's `_create_lookup_table` for one channel (gamma 1), clipped to [0, 1].
    static func lookupTable(_ anchors: [(Double, Double)]) -> [Double] {
        guard let first = anchors.first, let last = anchors.last else {
            return [Double](repeating: 0, count: size)
        }
        let xs = anchors.map { $0.0 * Double(size - 1) }
        var lut = [Double](repeating: 0, count: size)
        lut[0] = first.1
        lut[size - 1] = last.1
        var k = 1
        for i in 1..<(size - 1) {
            let x = Double(i)
            while k < xs.count - 1, xs[k] < x { k += 1 }
            let span = xs[k] - xs[k - 1]
            let t = span > 0 ? (x - xs[k - 1]) / span : 1
            lut[i] = t * (anchors[k].1 - anchors[k - 1].1) + anchors[k - 1].1
        }
        return lut.map { min(max($0, 0), 1) }
    }

    // MARK: - The maps

    /// Captum's `all` map: `from_list("RdWhGn", ["red", "white", "green"])`; matplotlib's "green" is #008000.
    public static let rdWhGn = Colormap(
        name: "RdWhGn", evenlySpaced: [(1, 0, 0), (1, 1, 1), (0, 128.0 / 255, 0)])

    /// ColorBrewer sequential maps (matplotlib's Greens, Reds, Blues): 9 anchors each, as 8-bit values.
    public static let greens = brewer(
        "Greens",
        [
            (247, 252, 245), (229, 245, 224), (199, 233, 192), (161, 217, 155), (116, 196, 118),
            (65, 171, 93), (35, 139, 69), (0, 109, 44), (0, 68, 27),
        ])
    public static let reds = brewer(
        "Reds",
        [
            (255, 245, 240), (254, 224, 210), (252, 187, 161), (252, 146, 114), (251, 106, 74),
            (239, 59, 44), (203, 24, 29), (165, 15, 21), (103, 0, 13),
        ])
    public static let blues = brewer(
        "Blues",
        [
            (247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214),
            (66, 146, 198), (33, 113, 181), (8, 81, 156), (8, 48, 107),
        ])

    /// matplotlib's `gray`: black to white.
    public static let gray = Colormap(name: "gray", evenlySpaced: [(0, 0, 0), (1, 1, 1)])

    /// matplotlib's `jet` segment data.
    public static let jet = Colormap(
        name: "jet",
        red: [(0, 0), (0.35, 0), (0.66, 1), (0.89, 1), (1, 0.5)],
        green: [(0, 0), (0.125, 0), (0.375, 1), (0.64, 1), (0.91, 0), (1, 0)],
        blue: [(0, 0.5), (0.11, 1), (0.34, 1), (0.65, 0), (1, 0)])

    public static let viridis = listed("viridis", viridisAnchors)
    public static let inferno = listed("inferno", infernoAnchors)

    public static let all: [Colormap] = [rdWhGn, greens, reds, blues, viridis, inferno, jet, gray]

    /// A map by its matplotlib name (case-insensitive), or nil.
    public static func named(_ name: String) -> Colormap? {
        all.first { $0.name.lowercased() == name.lowercased() }
    }

    private static func brewer(_ name: String, _ colours: [(Int, Int, Int)]) -> Colormap {
        Colormap(
            name: name,
            evenlySpaced: colours.map { (Double($0.0) / 255, Double($0.1) / 255, Double($0.2) / 255) })
    }

    /// Anchors at table indices (0...255) of a published 256-entry listed colormap.
    private static func listed(_ name: String, _ anchors: [(Int, Double, Double, Double)]) -> Colormap {
        let xs = anchors.map { Double($0.0) / Double(size - 1) }
        return Colormap(
            name: name,
            red: zip(xs, anchors).map { ($0, $1.1) },
            green: zip(xs, anchors).map { ($0, $1.2) },
            blue: zip(xs, anchors).map { ($0, $1.3) })
    }

    public static func == (a: Colormap, b: Colormap) -> Bool { a.name == b.name && a.table == b.table }

    // Every 8th entry (and the last) of matplotlib's published viridis / inferno tables.
    static let viridisAnchors: [(Int, Double, Double, Double)] = [
        (0, 0.267004, 0.004874, 0.329415), (8, 0.277018, 0.050344, 0.375715), (16, 0.282327, 0.094955, 0.417331),
        (24, 0.282884, 0.135920, 0.453427), (32, 0.278826, 0.175490, 0.483397), (40, 0.270595, 0.214069, 0.507052),
        (48, 0.258965, 0.251537, 0.524736), (56, 0.244972, 0.287675, 0.537260), (64, 0.229739, 0.322361, 0.545706),
        (72, 0.214298, 0.355619, 0.551184), (80, 0.199430, 0.387607, 0.554642), (88, 0.185556, 0.418570, 0.556753),
        (96, 0.172719, 0.448791, 0.557885), (104, 0.160665, 0.478540, 0.558115), (112, 0.149039, 0.508051, 0.557250),
        (120, 0.137770, 0.537492, 0.554906), (128, 0.127568, 0.566949, 0.550556), (136, 0.120565, 0.596422, 0.543611),
        (144, 0.120638, 0.625828, 0.533488), (152, 0.132268, 0.655014, 0.519661), (160, 0.157851, 0.683765, 0.501686),
        (168, 0.196571, 0.711827, 0.479221), (176, 0.246070, 0.738910, 0.452024), (184, 0.304148, 0.764704, 0.419943),
        (192, 0.369214, 0.788888, 0.382914), (200, 0.440137, 0.811138, 0.340967), (208, 0.515992, 0.831158, 0.294279),
        (216, 0.595839, 0.848717, 0.243329), (224, 0.678489, 0.863742, 0.189503), (232, 0.762373, 0.876424, 0.137064),
        (240, 0.845561, 0.887322, 0.099702), (248, 0.926106, 0.897330, 0.104071), (255, 0.993248, 0.906157, 0.143936),
    ]
    static let infernoAnchors: [(Int, Double, Double, Double)] = [
        (0, 0.001462, 0.000466, 0.013866), (8, 0.013995, 0.011225, 0.071862), (16, 0.042253, 0.028139, 0.141141),
        (24, 0.081962, 0.043328, 0.215289), (32, 0.129285, 0.047293, 0.290788), (40, 0.183429, 0.040329, 0.354971),
        (48, 0.238273, 0.036621, 0.396353), (56, 0.290763, 0.045644, 0.418637), (64, 0.341500, 0.062325, 0.429425),
        (72, 0.391453, 0.080927, 0.433109), (80, 0.441207, 0.099338, 0.431594), (88, 0.491022, 0.117179, 0.425552),
        (96, 0.540920, 0.134729, 0.415123), (104, 0.590734, 0.152563, 0.400290), (112, 0.640135, 0.171438, 0.381065),
        (120, 0.688653, 0.192239, 0.357603), (128, 0.735683, 0.215906, 0.330245), (136, 0.780517, 0.243327, 0.299523),
        (144, 0.822386, 0.275197, 0.266085), (152, 0.860533, 0.311892, 0.230606), (160, 0.894305, 0.353399, 0.193584),
        (168, 0.923215, 0.399359, 0.155193), (176, 0.946965, 0.449191, 0.115272), (184, 0.965397, 0.502249, 0.073859),
        (192, 0.978422, 0.557937, 0.034931), (200, 0.985952, 0.615750, 0.025592), (208, 0.987874, 0.675267, 0.065257),
        (216, 0.984075, 0.736087, 0.129527), (224, 0.974638, 0.797692, 0.206332), (232, 0.960626, 0.859069, 0.298010),
        (240, 0.947594, 0.917399, 0.410665), (248, 0.954529, 0.965896, 0.540361), (255, 0.988362, 0.998364, 0.644924),
    ]
}
