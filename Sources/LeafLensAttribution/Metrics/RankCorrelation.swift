/// Spearman's rank correlation, and the agreement of several methods' maps on one image.
public enum RankCorrelation {
    /// Spearman's ρ: the Pearson correlation of the ranks, ties given their average rank (scipy's
    /// `spearmanr`). 0 when either side is constant or the lengths differ.
    public static func spearman(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, a.count > 1 else { return 0 }
        let ra = ranks(a), rb = ranks(b)
        let n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for i in ra.indices {
            let da = ra[i] - ma, db = rb[i] - mb
            sab += da * db
            saa += da * da
            sbb += db * db
        }
        guard saa > 0, sbb > 0 else { return 0 }
        return sab / (saa * sbb).squareRoot()
    }

    /// 1-based ranks, ties averaged.
    public static func ranks(_ values: [Float]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var result = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { result[order[k]] = rank }
            i = j + 1
        }
        return result
    }

    /// **Method agreement on one image**: the mean Spearman ρ over all pairs of the methods' ranking
    /// maps (`PixelRanking.map`, same H·W). 1 = every method ranks the pixels alike; near 0 or
    /// negative = they disagree. The images with the lowest value are "where methods disagree most".
    /// nil for fewer than two maps.
    public static func meanPairwiseSpearman(_ maps: [[Float]]) -> Double? {
        guard maps.count >= 2 else { return nil }
        var total = 0.0, pairs = 0
        for i in 0..<maps.count {
            for j in (i + 1)..<maps.count {
                total += spearman(maps[i], maps[j])
                pairs += 1
            }
        }
        return total / Double(pairs)
    }
}
