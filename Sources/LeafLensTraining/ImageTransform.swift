import Foundation
import LeafLensImaging
import LeafLensMath

/// How one image becomes a `[3, S, S]` network input.
///
/// - `evaluation`: torchvision `Resize(resize)` (shorter side, PIL bilinear) → `CenterCrop(size)` →
///   ToTensor → Normalize(ImageNet) — `ImagePreprocessor` exactly.
/// - `training`: `RandomResizedCrop(size, scale, ratio = (3/4, 4/3))` → `RandomHorizontalFlip(0.5)` (if
///   `flip`) → ToTensor → Normalize. The crop box follows torchvision's `get_params` (10 attempts of
///   area·U(scale) and exp(U(log ratio)), then the central fallback); the random numbers come from
///   SplitMix64, not torch's generator, so crops are torchvision's distribution, not its exact draws.
public enum ImageTransform: Sendable, Equatable {
    case evaluation(resize: Int, size: Int)
    case training(size: Int, scale: ClosedRange<Double>, flip: Bool)

    public var outputSize: Int {
        switch self {
        case .evaluation(_, let size), .training(let size, _, _): size
        }
    }

    /// Applies the transform; `rng` is used only by `training`.
    public func apply(_ image: RGBImage, _ rng: inout SeededRandom) throws(ImageError) -> Tensor<Float> {
        switch self {
        case .evaluation(let resize, let size):
            return try ImagePreprocessor(resizeShorterSide: resize, cropSize: size)(image).tensor
        case .training(let size, let scale, let flip):
            let box = Self.randomResizedCropBox(width: image.width, height: image.height, scale: scale, &rng)
            var picture = try image.cropped(x: box.x, y: box.y, width: box.width, height: box.height)
            if picture.width != size || picture.height != size {
                picture = try picture.resizedBilinear(width: size, height: size)
            }
            if flip && rng.unit() < 0.5 { picture = picture.flippedHorizontally() }
            return ImagePreprocessor(resizeShorterSide: nil, cropSize: nil).normalize(picture)
        }
    }

    /// torchvision `RandomResizedCrop.get_params` with ratio (3/4, 4/3).
    public static func randomResizedCropBox(
        width: Int, height: Int, scale: ClosedRange<Double>, _ rng: inout SeededRandom
    ) -> (x: Int, y: Int, width: Int, height: Int) {
        let area = Double(width * height)
        let logRatio = (log(3.0 / 4.0), log(4.0 / 3.0))
        for _ in 0..<10 {
            let target = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = exp(rng.uniform(logRatio.0, logRatio.1))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, h > 0, w <= width, h <= height {
                let y = Int(rng.unit() * Double(height - h + 1))
                let x = Int(rng.unit() * Double(width - w + 1))
                return (x, y, w, h)
            }
        }
        let inRatio = Double(width) / Double(height)
        var (w, h) = (width, height)
        if inRatio < 3.0 / 4.0 {
            h = Int((Double(w) / (3.0 / 4.0)).rounded(.toNearestOrEven))
        } else if inRatio > 4.0 / 3.0 {
            w = Int((Double(h) * (4.0 / 3.0)).rounded(.toNearestOrEven))
        }
        w = min(w, width)
        h = min(h, height)
        return ((width - w) / 2, (height - h) / 2, w, h)
    }
}

extension RGBImage {
    /// The `width`×`height` region whose top-left pixel is (x, y); it must lie inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) throws(ImageError) -> RGBImage {
        guard x >= 0, y >= 0, w > 0, h > 0, x + w <= width, y + h <= height else {
            throw ImageError(
                source: "<memory>",
                problem: .invalidArgument("crop \(w)x\(h)+\(x)+\(y) is outside a \(width)x\(height) image"))
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            for row in 0..<h {
                let from = ((y + row) * width + x) * 3
                for k in 0..<w * 3 { out[row * w * 3 + k] = src[from + k] }
            }
        }
        return try RGBImage(width: w, height: h, pixels: out)
    }

    /// Mirrored left–right.
    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        for y in 0..<height {
            for x in 0..<width {
                let a = (y * width + x) * 3, b = (y * width + (width - 1 - x)) * 3
                out[a] = pixels[b]
                out[a + 1] = pixels[b + 1]
                out[a + 2] = pixels[b + 2]
            }
        }
        // safe: same size as self.
        return (try? RGBImage(width: width, height: height, pixels: out)) ?? self
    }
}
