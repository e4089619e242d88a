import Foundation
import LeafLensImaging

/// Counts of (true class, predicted class) and the metrics derived from them.
///
/// For class c with TP = m[c][c], FP = Σ_r m[r][c] − TP, FN = Σ_k m[c][k] − TP:
/// precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2·P·R / (P + R); each is 0 when its
/// denominator is 0 (as scikit-learn's `zero_division=0`).
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    public let labels: [String]
    /// `counts[truth][prediction]`.
    public private(set) var counts: [[Int]]

    public init(labels: [String]) {
        self.labels = labels
        counts = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    public mutating func add(truth: Int, prediction: Int) {
        guard counts.indices.contains(truth), counts.indices.contains(prediction) else { return }
        counts[truth][prediction] += 1
    }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    public struct ClassMetrics: Sendable, Equatable, Codable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public var perClass: [ClassMetrics] {
        labels.indices.map { c in
            let tp = counts[c][c]
            let predicted = counts.reduce(0) { $0 + $1[c] }
            let support = counts[c].reduce(0, +)
            let p = predicted == 0 ? 0 : Double(tp) / Double(predicted)
            let r = support == 0 ? 0 : Double(tp) / Double(support)
            let f = p + r == 0 ? 0 : 2 * p * r / (p + r)
            return ClassMetrics(label: labels[c], precision: p, recall: r, f1: f, support: support)
        }
    }

    /// CSV: a header `true\predicted,<labels…>` then one row per true class (labels quoted as RFC 4180).
    public var csv: String {
        func quote(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n")
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["true\\predicted," + labels.map(quote).joined(separator: ",")]
        for (i, row) in counts.enumerated() {
            lines.append(quote(labels[i]) + "," + row.map(String.init).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The confusion matrix as a picture: one 16-pixel cell per (true row, predicted column), shaded by the
/// share of the row (Colormap.blues), with a 1-pixel grey grid and a green frame on the diagonal.
public enum ConfusionImage {
    public static func render(_ m: ConfusionMatrix, cell: Int = 16) throws(ImageError) -> RGBImage {
        let k = m.labels.count, side = k * cell + 1
        var pixels = [UInt8](repeating: 160, count: side * side * 3)
        for r in 0..<k {
            let rowTotal = max(1, m.counts[r].reduce(0, +))
            for c in 0..<k {
                let share = Float(m.counts[r][c]) / Float(rowTotal)
                let colour = Colormap.blues.color(normalized: share)
                let diagonal = r == c
                for y in 1..<cell {
                    for x in 1..<cell {
                        let frame = diagonal && (x == 1 || y == 1 || x == cell - 1 || y == cell - 1)
                        let i = ((r * cell + y) * side + c * cell + x) * 3
                        pixels[i] = frame ? 40 : UInt8((colour.r * 255).rounded())
                        pixels[i + 1] = frame ? 160 : UInt8((colour.g * 255).rounded())
                        pixels[i + 2] = frame ? 60 : UInt8((colour.b * 255).rounded())
                    }
                }
            }
        }
        return try RGBImage(width: side, height: side, pixels: pixels)
    }
}
