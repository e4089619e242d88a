import Foundation
import LeafLensImaging
import LeafLensMath

/// Procedurally drawn leaves with a known disease and a known lesion mask: the data set LeafLens can
/// generate on machines that cannot download PlantVillage.
///
/// One image is a pure function of (seed, class, index): `SeededRandom(seed: imageSeed(...))` drives every
/// choice, so the same call always gives the same pixels on every machine (only `Double` arithmetic and
/// `Foundation` sin/cos/exp/pow are used, which are correctly rounded enough to agree on IEEE hosts).
///
/// Drawing, in order, on an S×S canvas of linear RGB values in [0, 1]:
/// 1. background: a two-colour gradient in a random direction plus low-frequency value noise;
/// 2. leaf: in leaf coordinates (u along the midrib, v across, both divided by the half-length a),
///    the half-width is `r·(1 − u²)^p·(1 + s·u)`, rotated by θ, scaled, shifted; anti-aliased by one pixel;
///    a green of random hue, saturation and value with noise texture, a light midrib and secondary veins;
/// 3. disease (inside the leaf only): see `SyntheticDisease`; every pixel it paints is in the mask;
/// 4. lighting: a linear brightness gradient in a random direction, then pixel noise.
public enum SyntheticLeaves {
    /// One rendered leaf: the picture and its lesion mask (`mask[y·S + x]` true inside a lesion).
    public struct Sample: Sendable {
        public var image: RGBImage
        public var mask: [Bool]
        public var size: Int

        /// The mask as a black/white picture (white = lesion), for writing as PNG.
        public var maskImage: RGBImage {
            let pixels = mask.flatMap { $0 ? [UInt8](repeating: 255, count: 3) : [0, 0, 0] }
            // safe: size·size·3 bytes by construction.
            return (try? RGBImage(width: size, height: size, pixels: pixels))
                ?? image
        }
    }

    /// The seed of image `index` of class `disease` in a data set generated with `seed`
    /// (a SplitMix64 draw, so neighbouring indices give unrelated streams).
    public static func imageSeed(seed: UInt64, disease: SyntheticDisease, index: Int) -> UInt64 {
        var mixer = SeededRandom(
            seed: seed &+ UInt64(disease.ordinal + 1) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(index) &* 0x8CB9_2BA7_2F3D_8DD7
        )
        return mixer.next()
    }

    /// Renders one leaf of `disease` at `size`×`size` pixels (size ≥ 32).
    public static func render(
        disease: SyntheticDisease, seed: UInt64, index: Int, size: Int
    ) throws(ImageError) -> Sample {
        guard size >= 32, size <= 4096 else {
            throw ImageError(
                source: "<synth>", problem: .invalidArgument("synthetic image size must be 32...4096, got \(size)"))
        }
        var rng = SeededRandom(seed: imageSeed(seed: seed, disease: disease, index: index))
        var canvas = Canvas(size: size)
        canvas.paintBackground(&rng)
        let leaf = LeafShape.random(&rng, size: size)
        canvas.paintLeaf(leaf, &rng)
        disease.paint(on: &canvas, leaf: leaf, &rng)
        canvas.applyLighting(&rng)
        let image = try RGBImage(width: size, height: size, pixels: canvas.bytes())
        return Sample(image: image, mask: canvas.lesion, size: size)
    }
}

/// An RGB canvas of Doubles plus the leaf coverage and lesion mask.
struct Canvas {
    let size: Int
    var rgb: [Double]
    /// Leaf coverage α ∈ [0, 1] per pixel.
    var leafAlpha: [Double]
    var lesion: [Bool]

    init(size: Int) {
        self.size = size
        rgb = [Double](repeating: 0, count: size * size * 3)
        leafAlpha = [Double](repeating: 0, count: size * size)
        lesion = [Bool](repeating: false, count: size * size)
    }

    /// Blends `colour` over pixel (x, y) with opacity `alpha` (scaled by the leaf coverage) and marks the
    /// pixel as lesion when the resulting opacity is at least `maskThreshold`.
    mutating func blend(
        _ x: Int, _ y: Int, _ colour: (Double, Double, Double), alpha: Double, maskThreshold: Double = 0.35
    ) {
        guard x >= 0, y >= 0, x < size, y < size else { return }
        let i = y * size + x
        let a = min(max(alpha, 0), 1) * leafAlpha[i]
        guard a > 0 else { return }
        rgb[i * 3] += (colour.0 - rgb[i * 3]) * a
        rgb[i * 3 + 1] += (colour.1 - rgb[i * 3 + 1]) * a
        rgb[i * 3 + 2] += (colour.2 - rgb[i * 3 + 2]) * a
        if a >= maskThreshold { lesion[i] = true }
    }

    mutating func paintBackground(_ rng: inout SeededRandom) {
        let palette: [(Double, Double, Double)] = [
            (0.42, 0.30, 0.20), (0.55, 0.45, 0.33), (0.62, 0.62, 0.60), (0.30, 0.28, 0.26),
            (0.80, 0.78, 0.72), (0.35, 0.40, 0.48), (0.20, 0.22, 0.18), (0.70, 0.60, 0.45),
        ]
        let first = palette[Int(rng.unit() * Double(palette.count))]
        let second = palette[Int(rng.unit() * Double(palette.count))]
        let angle = rng.uniform(0, 2 * .pi)
        let (dx, dy) = (cos(angle), sin(angle))
        let noise = ValueNoise(&rng, cells: 6)
        let noiseAmount = rng.uniform(0.03, 0.12)
        let s = Double(size)
        for y in 0..<size {
            for x in 0..<size {
                let t = min(max(0.5 + ((Double(x) - s / 2) * dx + (Double(y) - s / 2) * dy) / s, 0), 1)
                let n = (noise.value(Double(x) / s, Double(y) / s) - 0.5) * 2 * noiseAmount
                let i = (y * size + x) * 3
                rgb[i] = first.0 + (second.0 - first.0) * t + n
                rgb[i + 1] = first.1 + (second.1 - first.1) * t + n
                rgb[i + 2] = first.2 + (second.2 - first.2) * t + n
            }
        }
    }

    mutating func paintLeaf(_ leaf: LeafShape, _ rng: inout SeededRandom) {
        let hue = rng.uniform(75, 135), saturation = rng.uniform(0.45, 0.8), value = rng.uniform(0.35, 0.7)
        let base = hsv(hue, saturation, value)
        let vein = hsv(hue - 10, saturation * 0.6, min(1, value * 1.35))
        let texture = ValueNoise(&rng, cells: 10)
        let veinCount = Double(Int(rng.uniform(5, 9)))
        let veinSlope = rng.uniform(0.8, 1.6)
        for y in 0..<size {
            for x in 0..<size {
                let (u, v) = leaf.local(Double(x), Double(y))
                let coverage = leaf.coverage(u: u, v: v)
                guard coverage > 0 else { continue }
                let i = y * size + x
                leafAlpha[i] = coverage
                let shade = 1 + (texture.value(u, v) - 0.5) * 0.25 - 0.15 * abs(v) / max(leaf.halfWidth(u), 1e-3) * 0.5
                var colour = (base.0 * shade, base.1 * shade, base.2 * shade)
                // Midrib: a light band |v| < w_mid that narrows toward the tip; secondary veins: lines
                // u − slope·|v| = k / veinCount, in leaf units.
                let pixel = 1 / leaf.halfLength
                let midrib = max(0.5 * pixel, 0.012 * (1 - abs(u)) + 0.004)
                let veinPhase = (u - veinSlope * abs(v)) * veinCount
                let veinDistance = abs(veinPhase - veinPhase.rounded()) / veinCount
                let veinWidth = 0.6 * pixel
                if abs(v) < midrib {
                    colour = mix(colour, vein, 0.8)
                } else if veinDistance < veinWidth && abs(v) < leaf.halfWidth(u) * 0.85 {
                    colour = mix(colour, vein, 0.45)
                }
                rgb[i * 3] += (colour.0 - rgb[i * 3]) * coverage
                rgb[i * 3 + 1] += (colour.1 - rgb[i * 3 + 1]) * coverage
                rgb[i * 3 + 2] += (colour.2 - rgb[i * 3 + 2]) * coverage
            }
        }
    }

    mutating func applyLighting(_ rng: inout SeededRandom) {
        let gain = rng.uniform(0.75, 1.2), slope = rng.uniform(-0.35, 0.35), angle = rng.uniform(0, 2 * .pi)
        let (dx, dy) = (cos(angle), sin(angle))
        let tint = (rng.uniform(0.93, 1.07), rng.uniform(0.93, 1.07), rng.uniform(0.93, 1.07))
        let s = Double(size)
        for y in 0..<size {
            for x in 0..<size {
                let light = gain + slope * ((Double(x) - s / 2) * dx + (Double(y) - s / 2) * dy) / s
                let i = (y * size + x) * 3
                rgb[i] = rgb[i] * light * tint.0 + (rng.unit() - 0.5) * 0.04
                rgb[i + 1] = rgb[i + 1] * light * tint.1 + (rng.unit() - 0.5) * 0.04
                rgb[i + 2] = rgb[i + 2] * light * tint.2 + (rng.unit() - 0.5) * 0.04
            }
        }
    }

    func bytes() -> [UInt8] {
        rgb.map { UInt8(min(max($0 * 255, 0), 255).rounded()) }
    }
}

/// The leaf outline: centre, rotation, half-length a (pixels), relative half-width r, tip exponent p,
/// asymmetry s (base broader than tip for s < 0) and a serration ripple.
struct LeafShape {
    var centerX: Double, centerY: Double
    var cosine: Double, sine: Double
    var halfLength: Double
    var width: Double
    var exponent: Double
    var asymmetry: Double
    var serration: Double
    var serrationFrequency: Double

    static func random(_ rng: inout SeededRandom, size: Int) -> LeafShape {
        let s = Double(size)
        let angle = rng.uniform(0, 2 * .pi)
        return LeafShape(
            centerX: s / 2 + rng.uniform(-0.06, 0.06) * s, centerY: s / 2 + rng.uniform(-0.06, 0.06) * s,
            cosine: cos(angle), sine: sin(angle), halfLength: rng.uniform(0.36, 0.47) * s,
            width: rng.uniform(0.32, 0.55), exponent: rng.uniform(0.55, 1.1), asymmetry: rng.uniform(-0.3, 0.15),
            serration: rng.unit() < 0.4 ? rng.uniform(0.01, 0.03) : 0, serrationFrequency: rng.uniform(20, 40))
    }

    /// (u, v) of pixel centre (x, y) in half-lengths.
    func local(_ x: Double, _ y: Double) -> (Double, Double) {
        let dx = x + 0.5 - centerX, dy = y + 0.5 - centerY
        return ((dx * cosine + dy * sine) / halfLength, (-dx * sine + dy * cosine) / halfLength)
    }

    /// Pixel (x, y) of leaf coordinates (u, v).
    func pixel(u: Double, v: Double) -> (Double, Double) {
        let dx = u * halfLength, dy = v * halfLength
        return (centerX + dx * cosine - dy * sine - 0.5, centerY + dx * sine + dy * cosine - 0.5)
    }

    func halfWidth(_ u: Double) -> Double {
        guard abs(u) < 1 else { return 0 }
        let ripple = 1 + serration * sin(serrationFrequency * u)
        return width * pow(1 - u * u, exponent) * (1 + asymmetry * u) * ripple
    }

    /// Anti-aliased coverage: the signed distance to the edge (approximately, in pixels) + ½, clamped.
    func coverage(u: Double, v: Double) -> Double {
        let stalk = abs(v) * halfLength < 1.2 && u < -0.98 && u > -1.12 ? 1.0 : 0.0
        guard abs(u) < 1 else { return stalk }
        let distance = (halfWidth(u) - abs(v)) * halfLength
        return max(min(max(distance + 0.5, 0), 1), stalk)
    }

    /// A random point well inside the leaf (|v| ≤ margin·half-width).
    func randomInterior(_ rng: inout SeededRandom, margin: Double = 0.7, span: Double = 0.8) -> (u: Double, v: Double) {
        let u = rng.uniform(-span, span)
        let v = rng.uniform(-margin, margin) * halfWidth(u)
        return (u, v)
    }
}

/// Smooth noise in [0, 1]: random values on a `cells`×`cells` grid (periodic), bilinearly interpolated
/// with a smoothstep; coordinates in any unit (1 unit = the grid).
struct ValueNoise {
    let cells: Int
    let grid: [Double]

    init(_ rng: inout SeededRandom, cells: Int) {
        self.cells = cells
        grid = (0..<cells * cells).map { _ in rng.unit() }
    }

    func value(_ x: Double, _ y: Double) -> Double {
        let gx = x * Double(cells), gy = y * Double(cells)
        let fx = gx.rounded(.down), fy = gy.rounded(.down)
        let tx = smooth(gx - fx), ty = smooth(gy - fy)
        let x0 = ((Int(fx) % cells) + cells) % cells, y0 = ((Int(fy) % cells) + cells) % cells
        let x1 = (x0 + 1) % cells, y1 = (y0 + 1) % cells
        let top = grid[y0 * cells + x0] * (1 - tx) + grid[y0 * cells + x1] * tx
        let bottom = grid[y1 * cells + x0] * (1 - tx) + grid[y1 * cells + x1] * tx
        return top * (1 - ty) + bottom * ty
    }

    private func smooth(_ t: Double) -> Double { t * t * (3 - 2 * t) }
}

/// HSV (hue in degrees, s and v in [0, 1]) to RGB.
func hsv(_ hue: Double, _ s: Double, _ v: Double) -> (Double, Double, Double) {
    let h = (hue.truncatingRemainder(dividingBy: 360) + 360).truncatingRemainder(dividingBy: 360) / 60
    let c = v * s, x = c * (1 - abs(h.truncatingRemainder(dividingBy: 2) - 1)), m = v - c
    let (r, g, b): (Double, Double, Double)
    switch Int(h) {
    case 0: (r, g, b) = (c, x, 0)
    case 1: (r, g, b) = (x, c, 0)
    case 2: (r, g, b) = (0, c, x)
    case 3: (r, g, b) = (0, x, c)
    case 4: (r, g, b) = (x, 0, c)
    default: (r, g, b) = (c, 0, x)
    }
    return (r + m, g + m, b + m)
}

func mix(_ a: (Double, Double, Double), _ b: (Double, Double, Double), _ t: Double) -> (Double, Double, Double) {
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t)
}
