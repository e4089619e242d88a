import LeafLensMath

/// A partition of an image's H×W pixels into M segments, ids 0..<M (row-major `[H·W]`), shared by the
/// colour channels: Captum's `feature_mask` of shape `[1, 1, H, W]`.
public struct FeatureSegments: Sendable, Equatable {
    public let height: Int
    public let width: Int
    /// Segment id of each pixel, row-major.
    public let labels: [Int32]
    /// M: ids are exactly 0..<M, each used at least once.
    public let count: Int

    /// Relabels arbitrary non-negative labels to 0..<M in ascending order of the original values.
    public init(height: Int, width: Int, labels: [Int]) throws(SegmentError) {
        guard height > 0, width > 0, labels.count == height * width else {
            throw .wrongSize(expected: [height, width], found: [labels.count])
        }
        let distinct = Array(Set(labels)).sorted()
        var index: [Int: Int32] = [:]
        for (i, v) in distinct.enumerated() { index[v] = Int32(i) }
        self.height = height
        self.width = width
        self.labels = labels.map { index[$0] ?? 0 }  // safe: every label is a key
        count = distinct.count
    }

    /// An N×N grid: pixel (i, j) is in segment ⌊i·N/H⌋·N + ⌊j·N/W⌋ (`--segments grid:N`).
    public static func grid(_ n: Int, height: Int, width: Int) throws(SegmentError) -> FeatureSegments {
        guard n >= 1, n <= height, n <= width else {
            throw .invalidSpec("grid:\(n) needs 1 ≤ N ≤ min(H, W) = \(min(height, width))")
        }
        var labels = [Int](repeating: 0, count: height * width)
        for i in 0..<height {
            for j in 0..<width { labels[i * width + j] = (i * n / height) * n + j * n / width }
        }
        return try FeatureSegments(height: height, width: width, labels: labels)
    }

    /// A label image (`--segments FILE.png`): each distinct value is one segment. `values` are the
    /// decoded pixels packed into one integer each (e.g. R<<16 | G<<8 | B for RGB, the gray level for
    /// gray), row-major `[height·width]`; the image must be exactly the explained input's size.
    public static func labelImage(
        _ values: [UInt32], height: Int, width: Int, expectedHeight: Int, expectedWidth: Int, source: String
    ) throws(SegmentError) -> FeatureSegments {
        guard height == expectedHeight, width == expectedWidth, values.count == height * width else {
            throw .wrongSize(expected: [expectedHeight, expectedWidth], found: [height, width], source: source)
        }
        return try FeatureSegments(height: height, width: width, labels: values.map { Int($0) })
    }

    /// Pixels of each segment, `[M][indices]`.
    public var members: [[Int]] {
        var out = [[Int]](repeating: [], count: count)
        for (i, l) in labels.enumerated() { out[Int(l)].append(i) }
        return out
    }

    /// Pixels on a segment border (a 4-neighbour below or to the right has another id, or the pixel is
    /// such a neighbour), row-major `[H·W]`: for drawing the segments over a picture.
    public var boundaries: [Bool] {
        var edge = [Bool](repeating: false, count: labels.count)
        for i in 0..<height {
            for j in 0..<width {
                let p = i * width + j
                if j + 1 < width, labels[p] != labels[p + 1] { edge[p] = true; edge[p + 1] = true }
                if i + 1 < height, labels[p] != labels[p + width] { edge[p] = true; edge[p + width] = true }
            }
        }
        return edge
    }

    /// Paints per-segment values onto `[1, channels, H, W]`.
    public func painted<S: TensorScalar>(_ values: [S], channels: Int) -> [S] {
        var plane = [S](repeating: 0, count: height * width)
        for (i, l) in labels.enumerated() { plane[i] = values[Int(l)] }
        var out: [S] = []
        out.reserveCapacity(channels * plane.count)
        for _ in 0..<channels { out.append(contentsOf: plane) }
        return out
    }
}

/// How segments are chosen (`--segments grid:N | slic:N[,compactness] | FILE.png`).
public enum SegmentSpec: Sendable, Equatable {
    case grid(Int)
    case slic(segments: Int, compactness: Double)
    case labelImage(path: String)

    /// Parses `grid:N`, `slic:N` or `slic:N,C` (compactness C, default 10 as scikit-image), or a path
    /// ending in `.png`. Anything else throws `SegmentError.invalidSpec`.
    public init(parsing text: String) throws(SegmentError) {
        if text.hasPrefix("grid:") {
            guard let n = Int(text.dropFirst(5)), n >= 1 else {
                throw .invalidSpec("'\(text)': grid:N needs an integer N ≥ 1")
            }
            self = .grid(n)
        } else if text.hasPrefix("slic:") {
            let parts = text.dropFirst(5).split(separator: ",", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let n = Int(parts[0]), n >= 1 else {
                throw .invalidSpec("'\(text)': slic:N[,compactness] needs an integer N ≥ 1")
            }
            var compactness = 10.0
            if parts.count == 2 {
                guard let c = Double(parts[1]), c.isFinite, c > 0 else {
                    throw .invalidSpec("'\(text)': the compactness must be a positive number")
                }
                compactness = c
            }
            self = .slic(segments: n, compactness: compactness)
        } else if text.lowercased().hasSuffix(".png") {
            self = .labelImage(path: text)
        } else {
            throw .invalidSpec("'\(text)': expected grid:N, slic:N[,compactness] or a label image FILE.png")
        }
    }
}

public enum SegmentError: Error, Equatable, CustomStringConvertible {
    case invalidSpec(String)
    case wrongSize(expected: [Int], found: [Int], source: String = "segment labels")

    public var description: String {
        switch self {
        case .invalidSpec(let message): "invalid segments: \(message)"
        case .wrongSize(let expected, let found, let source):
            "\(source): segments must be \(expected.map(String.init).joined(separator: "×")) to match the input, "
                + "got \(found.map(String.init).joined(separator: "×"))"
        }
    }
}
