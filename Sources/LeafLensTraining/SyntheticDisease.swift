import Foundation
import LeafLensMath

/// The classes of the synthetic data set. Raw values are the class folder names; their byte order is
/// the label order (`allCases` is already sorted that way).
///
/// Sizes are relative to the image side S, so a pattern looks the same at every resolution:
/// - `brownSpot`: 4–8 round brown spots (radius 3.5–6.5 % of S, wobbly outline) with a dark rim;
/// - `healthy`: nothing (empty mask);
/// - `powderyMildew`: 3–5 soft white irregular patches (radius 6–11 % of S), mask where opacity ≥ 0.35;
/// - `rust`: 2–4 clusters of 8–18 orange pustules (radius 1.2–2.4 % of S) with dark edges;
/// - `veinStreak`: dark brown streaks along 2–4 secondary veins, with a yellow margin;
/// - `yellowHaloSpot`: 4–8 small dark spots (radius 2–3.5 % of S) in a yellow halo (2.3× the radius).
public enum SyntheticDisease: String, CaseIterable, Sendable {
    case brownSpot = "brown_spot"
    case healthy = "healthy"
    case powderyMildew = "powdery_mildew"
    case rust = "rust"
    case veinStreak = "vein_streak"
    case yellowHaloSpot = "yellow_halo_spot"

    var ordinal: Int { Self.allCases.firstIndex(of: self) ?? 0 }

    public var hasLesions: Bool { self != .healthy }

    func paint(on canvas: inout Canvas, leaf: LeafShape, _ rng: inout SeededRandom) {
        let s = Double(canvas.size)
        switch self {
        case .healthy:
            return
        case .brownSpot:
            for _ in 0..<Int(rng.uniform(4, 9)) {
                let (u, v) = leaf.randomInterior(&rng)
                let (cx, cy) = leaf.pixel(u: u, v: v)
                let radius = rng.uniform(0.035, 0.065) * s
                let phase = rng.uniform(0, 2 * .pi), wobble = rng.uniform(0.05, 0.18)
                let centre = (rng.uniform(0.40, 0.52), rng.uniform(0.25, 0.33), rng.uniform(0.10, 0.16))
                disc(&canvas, cx, cy, radius * (1 + wobble) + 1) { dx, dy in
                    let angle = atan2(dy, dx)
                    let r = radius * (1 + wobble * sin(3 * angle + phase))
                    let d = (dx * dx + dy * dy).squareRoot() / r
                    guard d < 1 + 0.5 / r else { return nil }
                    let alpha = min(1, (1 - d) * r + 0.5)
                    let rim = d > 0.75 ? (d - 0.75) * 4 : 0
                    return (mix(centre, (0.18, 0.11, 0.05), rim), alpha)
                }
            }
        case .yellowHaloSpot:
            for _ in 0..<Int(rng.uniform(4, 9)) {
                let (u, v) = leaf.randomInterior(&rng)
                let (cx, cy) = leaf.pixel(u: u, v: v)
                let radius = rng.uniform(0.02, 0.035) * s
                let halo = radius * 2.3
                disc(&canvas, cx, cy, halo + 1) { dx, dy in
                    let d = (dx * dx + dy * dy).squareRoot()
                    if d < radius { return ((0.16, 0.10, 0.06), min(1, (radius - d) + 0.5)) }
                    guard d < halo else { return nil }
                    let t = (d - radius) / (halo - radius)
                    return ((0.88, 0.82, 0.22), 0.9 * (1 - t * t))
                }
            }
        case .powderyMildew:
            for _ in 0..<Int(rng.uniform(3, 6)) {
                let (u, v) = leaf.randomInterior(&rng, margin: 0.6)
                let (cx, cy) = leaf.pixel(u: u, v: v)
                let radius = rng.uniform(0.06, 0.11) * s
                let noise = ValueNoise(&rng, cells: 5)
                let phase = rng.uniform(0, 2 * .pi)
                disc(&canvas, cx, cy, radius * 1.3 + 1) { dx, dy in
                    let angle = atan2(dy, dx)
                    let r = radius * (1 + 0.2 * sin(2 * angle + phase) + 0.1 * sin(5 * angle))
                    let d = (dx * dx + dy * dy).squareRoot() / r
                    guard d < 1 else { return nil }
                    let grain = noise.value(dx / radius * 0.5 + 0.5, dy / radius * 0.5 + 0.5)
                    let alpha = (1 - d * d) * (0.65 + 0.35 * grain)
                    return ((0.93, 0.94, 0.92), alpha)
                }
            }
        case .rust:
            for _ in 0..<Int(rng.uniform(2, 5)) {
                let (u, v) = leaf.randomInterior(&rng, margin: 0.6)
                let (cx, cy) = leaf.pixel(u: u, v: v)
                let spread = rng.uniform(0.05, 0.09) * s
                for _ in 0..<Int(rng.uniform(8, 19)) {
                    let px = cx + rng.uniform(-spread, spread), py = cy + rng.uniform(-spread, spread)
                    let radius = rng.uniform(0.012, 0.024) * s
                    let colour = (rng.uniform(0.82, 0.95), rng.uniform(0.40, 0.55), rng.uniform(0.05, 0.15))
                    disc(&canvas, px, py, radius + 1.5) { dx, dy in
                        let d = (dx * dx + dy * dy).squareRoot()
                        guard d < radius + 1 else { return nil }
                        let edge = d > radius * 0.7 ? 0.5 : 0
                        return (mix(colour, (0.35, 0.15, 0.05), edge), min(1, radius + 0.5 - d + 0.5))
                    }
                }
            }
        case .veinStreak:
            paintVeinStreaks(on: &canvas, leaf: leaf, &rng)
        }
    }

    /// Streaks along straight secondary veins: segments from the midrib outward at a random angle, painted
    /// as capsules (dark core, yellow margin).
    private func paintVeinStreaks(on canvas: inout Canvas, leaf: LeafShape, _ rng: inout SeededRandom) {
        let s = Double(canvas.size)
        for _ in 0..<Int(rng.uniform(2, 5)) {
            let u0 = rng.uniform(-0.6, 0.5)
            let side: Double = rng.unit() < 0.5 ? -1 : 1
            let length = rng.uniform(0.6, 0.85)
            let slope = rng.uniform(0.6, 1.2)
            // End point in leaf units: along the vein direction (slope in u per unit v), within the blade.
            let v1 = side * leaf.halfWidth(u0) * length
            let u1 = u0 + slope * abs(v1)
            let (ax, ay) = leaf.pixel(u: u0, v: side * 0.02)
            let (bx, by) = leaf.pixel(u: u1, v: v1)
            let core = rng.uniform(0.012, 0.02) * s, margin = core * 2.2
            let minX = Int(min(ax, bx) - margin - 1), maxX = Int(max(ax, bx) + margin + 2)
            let minY = Int(min(ay, by) - margin - 1), maxY = Int(max(ay, by) + margin + 2)
            let (ex, ey) = (bx - ax, by - ay)
            let lengthSquared = max(ex * ex + ey * ey, 1e-9)
            for y in max(0, minY)..<min(canvas.size, max(0, maxY)) {
                for x in max(0, minX)..<min(canvas.size, max(0, maxX)) {
                    let t = min(max(((Double(x) - ax) * ex + (Double(y) - ay) * ey) / lengthSquared, 0), 1)
                    let dx = Double(x) - (ax + t * ex), dy = Double(y) - (ay + t * ey)
                    let d = (dx * dx + dy * dy).squareRoot()
                    if d < core {
                        canvas.blend(x, y, (0.25, 0.14, 0.06), alpha: min(1, core - d + 0.5))
                    } else if d < margin {
                        let f = (d - core) / (margin - core)
                        canvas.blend(x, y, (0.80, 0.72, 0.20), alpha: 0.75 * (1 - f))
                    }
                }
            }
        }
    }

    /// Paints every pixel within `reach` of (cx, cy) for which `shade(dx, dy)` returns a colour and opacity.
    private func disc(
        _ canvas: inout Canvas, _ cx: Double, _ cy: Double, _ reach: Double,
        _ shade: (Double, Double) -> ((Double, Double, Double), Double)?
    ) {
        let size = canvas.size
        let x0 = max(0, Int((cx - reach).rounded(.down))), x1 = min(size - 1, Int((cx + reach).rounded(.up)))
        let y0 = max(0, Int((cy - reach).rounded(.down))), y1 = min(size - 1, Int((cy + reach).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                if let (colour, alpha) = shade(Double(x) - cx, Double(y) - cy) {
                    canvas.blend(x, y, colour, alpha: alpha)
                }
            }
        }
    }
}
