import Foundation
import LeafLensMath

/// SLIC superpixels (Achanta et al. 2012) in the manner of scikit-image's `slic(image, n_segments,
/// compactness)` with its other defaults (max_num_iter 10, sigma 0, Lab conversion, connectivity
/// enforced with min/max size factors 0.5/3), in Double. Deterministic: no random state anywhere.
///
/// 1. The image is rescaled to [0, 1] by its global min and max, converted sRGB → CIE Lab (D65, 2°), and
///    scaled by 1/compactness.
/// 2. Seeds on scikit-image's `regular_grid` of the H×W plane (steps ≈ √(H·W/n_segments), rounded half
///    to even as numpy does, started at ⌊step/2⌋), with colour 0 (as scikit-image initialises them).
/// 3. Ten rounds of: assign each pixel within ±2 grid steps of a centre to the centre k minimising
///    ((Δy² + Δx²)/S² + ‖Δlab‖²) (S the larger grid step; strict <, lowest k on ties), then move every
///    centre to its pixels' mean position and colour.
/// 4. Connectivity, as scikit-image: a raster-order breadth-first search relabels 4-connected
///    components; one smaller than ⌊0.5·H·W/n_seeds⌋ pixels joins the last neighbouring component the
///    search met.
/// The result is the component labels, renumbered 0..<M. Fixtures/methods_cam checks it against
/// scikit-image 0.26.0: on its 40×56 test image (n_segments 20) every pixel gets the same segment.
public enum SLIC {
    public struct Parameters: Sendable, Equatable {
        public var segments: Int
        public var compactness: Double
        public var iterations: Int
        public init(segments: Int = 100, compactness: Double = 10, iterations: Int = 10) {
            self.segments = segments
            self.compactness = compactness
            self.iterations = iterations
        }
    }

    /// `rgb`: `[3, H, W]` (or `[1, 3, H, W]`) colour planes, any range (rescaled first).
    public static func segments(rgb: Tensor<Float>, parameters: Parameters = Parameters()) throws -> FeatureSegments {
        let shape = rgb.rank == 4 && rgb.shape[0] == 1 ? Array(rgb.shape.dropFirst()) : rgb.shape
        guard shape.count == 3, shape[0] == 3, shape[1] > 0, shape[2] > 0 else {
            throw SegmentError.invalidSpec("SLIC needs an RGB image [3, H, W], got \(rgb.shape)")
        }
        guard parameters.segments >= 1, parameters.compactness > 0, parameters.compactness.isFinite,
            parameters.iterations >= 1
        else {
            throw SegmentError.invalidSpec("SLIC needs n_segments ≥ 1, compactness > 0 and ≥ 1 iteration")
        }
        guard rgb.storage.allSatisfy({ $0.isFinite }) else {
            throw SegmentError.invalidSpec("SLIC image has non-finite values")
        }
        let (height, width) = (shape[1], shape[2])
        let lab = labPlanes(
            rgb.storage.map(Double.init), height: height, width: width, scale: 1 / parameters.compactness)
        let labels = cluster(lab, height: height, width: width, parameters: parameters)
        return try FeatureSegments(height: height, width: width, labels: labels)
    }

    /// Pixel-major Lab `[H·W·3]` of the min–max rescaled image, times `scale`.
    static func labPlanes(_ planar: [Double], height: Int, width: Int, scale: Double) -> [Double] {
        let low = planar.min() ?? 0, high = planar.max() ?? 0
        let plane = height * width
        let white = (0.95047, 1.0, 1.08883)
        func linear(_ v: Double) -> Double { v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92 }
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0 }
        var out = [Double](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            var c = (0..<3).map { planar[$0 * plane + i] - low }
            if high != low { c = c.map { $0 / (high - low) } }
            let (r, g, b) = (linear(c[0]), linear(c[1]), linear(c[2]))
            let x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / white.0
            let y = (0.212671 * r + 0.715160 * g + 0.072169 * b) / white.1
            let z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / white.2
            let (fx, fy, fz) = (f(x), f(y), f(z))
            out[i * 3] = (116 * fy - 16) * scale
            out[i * 3 + 1] = 500 * (fx - fy) * scale
            out[i * 3 + 2] = 200 * (fy - fz) * scale
        }
        return out
    }

    /// scikit-image's `regular_grid` for the shape (1, H, W): (start, step) along y and x.
    static func regularGrid(height: Int, width: Int, points: Int) -> (start: [Int], step: [Int])? {
        let dims = [1, height, width]
        let size = Double(height * width)
        if size <= Double(points) { return nil }  // every pixel is a seed (slice(None))
        let order = dims.indices.sorted { dims[$0] < dims[$1] }  // stable, as argsort of (1, H, W)
        let sorted = order.map { Double(dims[$0]) }
        var steps = [Double](repeating: pow(size / Double(points), 1.0 / 3), count: 3)
        if zip(sorted, steps).contains(where: { $0 < $1 }) {
            for dim in 0..<3 {
                steps[dim] = sorted[dim]
                let rest = sorted[(dim + 1)...].reduce(1, *)
                let remaining = 3 - dim - 1
                if remaining > 0 {
                    for d in (dim + 1)..<3 { steps[d] = pow(rest / Double(points), 1.0 / Double(remaining)) }
                }
                if zip(sorted, steps).allSatisfy({ $0 >= $1 }) { break }
            }
        }
        var start = [Int](repeating: 0, count: 3), step = [Int](repeating: 1, count: 3)
        for (k, axis) in order.enumerated() {
            start[axis] = Int((steps[k] / 2).rounded(.down))
            step[axis] = Int(steps[k].rounded(.toNearestOrEven))
        }
        return ([start[1], start[2]], [step[1], step[2]])
    }

    static func cluster(_ lab: [Double], height: Int, width: Int, parameters: Parameters) -> [Int] {
        // Seeds.
        var centres: [[Double]] = []  // y, x, L, a, b
        var gridSteps = [1.0, 1.0]
        if let grid = regularGrid(height: height, width: width, points: parameters.segments) {
            gridSteps = grid.step.map(Double.init)
            for y in stride(from: grid.start[0], to: height, by: max(grid.step[0], 1)) {
                for x in stride(from: grid.start[1], to: width, by: max(grid.step[1], 1)) {
                    centres.append([Double(y), Double(x), 0, 0, 0])
                }
            }
        } else {
            for y in 0..<height { for x in 0..<width { centres.append([Double(y), Double(x), 0, 0, 0]) } }
        }
        let step = max(gridSteps[0], gridSteps[1])
        // The window steps are regular_grid's again, for the number of seeds actually placed.
        let window = regularGrid(height: height, width: width, points: centres.count)?.step ?? [1, 1]
        let spatialWeight = 1 / (step * step)
        var nearest = [Int](repeating: -1, count: height * width)
        var distance = [Double](repeating: .greatestFiniteMagnitude, count: height * width)
        for _ in 0..<parameters.iterations {
            var change = false
            for i in distance.indices { distance[i] = .greatestFiniteMagnitude }
            for (k, c) in centres.enumerated() {
                guard !c[0].isNaN, !c[1].isNaN else { continue }  // an emptied centre (0/0 in the library too)
                let y0 = Int(max(c[0] - 2 * Double(window[0]), 0)),
                    y1 = Int(min(c[0] + 2 * Double(window[0]) + 1, Double(height)))
                let x0 = Int(max(c[1] - 2 * Double(window[1]), 0)),
                    x1 = Int(min(c[1] + 2 * Double(window[1]) + 1, Double(width)))
                guard y0 < y1, x0 < x1 else { continue }
                for y in y0..<y1 {
                    let dy = (c[0] - Double(y)) * (c[0] - Double(y))
                    for x in x0..<x1 {
                        let dx = (c[1] - Double(x)) * (c[1] - Double(x))
                        let p = y * width + x
                        var d = (dy + dx) * spatialWeight
                        for ch in 0..<3 {
                            let t = lab[p * 3 + ch] - c[2 + ch]
                            d += t * t
                        }
                        if distance[p] > d {
                            nearest[p] = k
                            distance[p] = d
                            change = true
                        }
                    }
                }
            }
            if !change { break }
            var sums = [[Double]](repeating: [0, 0, 0, 0, 0], count: centres.count)
            var counts = [Int](repeating: 0, count: centres.count)
            for y in 0..<height {
                for x in 0..<width {
                    let p = y * width + x, k = nearest[p]
                    guard k >= 0 else { continue }
                    counts[k] += 1
                    sums[k][0] += Double(y)
                    sums[k][1] += Double(x)
                    for ch in 0..<3 { sums[k][2 + ch] += lab[p * 3 + ch] }
                }
            }
            for k in centres.indices { centres[k] = sums[k].map { $0 / Double(counts[k]) } }
        }
        let segmentSize = Double(height * width) / Double(centres.count)
        return connected(
            nearest, height: height, width: width,
            minSize: Int(0.5 * segmentSize), maxSize: Int(3 * segmentSize))
    }

    /// scikit-image's `_enforce_label_connectivity_cython` for one plane (unassigned pixels, −1, stay −1).
    static func connected(_ labels: [Int], height: Int, width: Int, minSize: Int, maxSize: Int) -> [Int] {
        var out = [Int](repeating: -1, count: labels.count)
        var next = 0
        let neighbours = [(0, 1), (0, -1), (1, 0), (-1, 0)]  // (dy, dx): x+1, x−1, y+1, y−1
        var queue = [Int](repeating: 0, count: max(maxSize, 1))
        for start in labels.indices where labels[start] >= 0 && out[start] < 0 {
            var adjacent = next
            let label = labels[start]
            out[start] = next
            var size = 1, visited = 0
            queue[0] = start
            search: while visited < size && size < maxSize {
                let (y, x) = (queue[visited] / width, queue[visited] % width)
                for (dy, dx) in neighbours {
                    let (yy, xx) = (y + dy, x + dx)
                    guard yy >= 0, yy < height, xx >= 0, xx < width else { continue }
                    let q = yy * width + xx
                    if labels[q] == label && out[q] < 0 {
                        out[q] = next
                        queue[size] = q
                        size += 1
                        if size >= maxSize { visited += 1; break search }
                    } else if out[q] >= 0 && out[q] != next {
                        adjacent = out[q]
                    }
                }
                visited += 1
            }
            if size < minSize {
                for i in 0..<size { out[queue[i]] = adjacent }
            } else {
                next += 1
            }
        }
        return out
    }
}
