import Foundation
import LeafLensAttribution
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTraining

/// Scores that compare an attribution map with a known lesion mask, and the rank correlation used by
/// the model-randomization sanity check. Maps are `[H·W]` row-major (channels already reduced).
public enum ExplanationMetrics {
    /// Pointing game (Zhang et al. 2016): a hit when the map's maximum lies within `tolerance` pixels
    /// (Euclidean) of a lesion pixel. Ties: the first maximum in row-major order. A map whose maximum
    /// is not positive (nothing attributed) is a miss.
    public static func pointingGameHit(map: [Float], mask: [Bool], width: Int, height: Int, tolerance: Int) -> Bool {
        guard map.count == width * height, mask.count == map.count, var best = map.indices.first else { return false }
        for i in map.indices where map[i] > map[best] { best = i }
        guard map[best] > 0 else { return false }
        let (bx, by) = (best % width, best / width)
        let r = max(0, tolerance)
        for y in max(0, by - r)...min(height - 1, by + r) {
            for x in max(0, bx - r)...min(width - 1, bx + r) where mask[y * width + x] {
                if (x - bx) * (x - bx) + (y - by) * (y - by) <= r * r { return true }
            }
        }
        return false
    }

    /// Σ max(a, 0) inside the mask / Σ max(a, 0) everywhere; 0 when nothing is positive.
    public static func positiveMassInside(map: [Float], mask: [Bool]) -> Double {
        var inside = 0.0, total = 0.0
        for (a, m) in zip(map, mask) where a > 0 {
            total += Double(a)
            if m { inside += Double(a) }
        }
        return total > 0 ? inside / total : 0
    }

    /// Spearman's ρ (ties averaged; 0 when either side is constant): the one implementation,
    /// `RankCorrelation.spearman`, which the faithfulness metrics use too.
    public static func spearman(_ a: [Float], _ b: [Float]) -> Double { RankCorrelation.spearman(a, b) }

    /// Σ over channels of `[C, H, W]` (or `[1, C, H, W]`), optionally of absolute values: `[H·W]`.
    public static func channelSum(_ attributions: Tensor<Float>, absolute: Bool = false) -> [Float] {
        let shape = attributions.rank == 4 ? Array(attributions.shape.dropFirst()) : attributions.shape
        guard shape.count == 3 else { return attributions.storage }
        let plane = shape[1] * shape[2]
        var out = [Float](repeating: 0, count: plane)
        for c in 0..<shape[0] {
            for i in 0..<plane {
                let v = attributions.storage[c * plane + i]
                out[i] += absolute ? abs(v) : v
            }
        }
        return out
    }
}

/// A lesion mask brought into the network input's frame: the same Resize → CenterCrop as the image
/// (PIL bilinear on the 0/255 mask, then > 127).
public enum LesionMask {
    public static func load(_ url: URL, transform: ImageTransform) throws -> [Bool] {
        guard case .evaluation(let resize, let size) = transform else {
            throw DatasetError.invalidOption("lesion masks need the evaluation transform")
        }
        let image = try ImageDecoder.decode(contentsOf: url)
        let display = try ImagePreprocessor(resizeShorterSide: resize, cropSize: size)(image).displayImage
        return (0..<size * size).map { display.pixels[$0 * 3] > 127 }
    }
}

/// The cascading model randomization of Adebayo et al. (2018), "Sanity Checks for Saliency Maps":
/// re-initialise the network from the top (`fc`) down, one block of layers at a time, keeping the
/// earlier randomizations.
public enum ModelRandomization {
    /// Stages in cascade order; each is a state_dict name prefix set.
    public static let cascade: [(name: String, prefixes: [String])] = [
        ("fc", ["fc."]), ("layer4", ["layer4."]), ("layer3", ["layer3."]), ("layer2", ["layer2."]),
        ("layer1", ["layer1."]), ("conv1", ["conv1.", "bn1."]),
    ]

    /// `model` with every entry under `prefixes` re-initialised as PyTorch's `reset_parameters` would,
    /// from SplitMix64(seed): conv U(±√(6/fan_in)), fc weight and bias U(±1/√fan_in), BatchNorm γ = 1,
    /// β = 0, running mean 0, running variance 1.
    public static func randomized(_ model: ResNet18<Float>, prefixes: [String], seed: UInt64) throws -> ResNet18<Float>
    {
        try model.reinitialized(prefixes: prefixes, rule: .reset, seed: seed)
    }
}
