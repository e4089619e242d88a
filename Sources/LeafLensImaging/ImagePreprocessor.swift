import LeafLensMath

/// torchvision's standard evaluation transform, reproduced exactly for PIL images:
///
///     Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(mean, std)])
///
/// - `Resize(s)`: the shorter side becomes `s`, the longer `Int(Double(s · long) / Double(short))`
///   (truncated, as torchvision's `int(s * long / short)`); skipped if the size already matches.
///   PIL's antialiased bilinear filter (`RGBImage.resizedBilinear`).
/// - `CenterCrop(h, w)`: if the crop is larger than the image, zero padding first (left/top get
///   `(crop − size) // 2`, right/bottom the rest); then offsets `Int(round((size − crop) / 2))` with
///   Python's round-half-to-even.
/// - `ToTensor`: `Float(v) / 255` in Float32. `Normalize`: `(x − mean) / std` in Float32, mean and std
///   being the Float32 nearest the given Double values (as `torch.as_tensor(..., dtype=float32)`).
public struct ImagePreprocessor: Sendable, Equatable {
    /// Target length of the shorter side, or nil for no resize.
    public var resizeShorterSide: Int?
    /// Crop height and width, or nil for no crop.
    public var cropSize: (height: Int, width: Int)?
    public var mean: [Double]
    public var std: [Double]

    public static let imageNetMean = [0.485, 0.456, 0.406]
    public static let imageNetStd = [0.229, 0.224, 0.225]

    /// Resize(256) → CenterCrop(224) → ToTensor → Normalize(ImageNet mean/std).
    public static let standard = ImagePreprocessor(resizeShorterSide: 256, cropSize: 224)

    public init(
        resizeShorterSide: Int? = 256, cropSize: Int? = 224,
        mean: [Double] = imageNetMean, std: [Double] = imageNetStd
    ) {
        self.resizeShorterSide = resizeShorterSide
        self.cropSize = cropSize.map { ($0, $0) }
        self.mean = mean
        self.std = std
    }

    public init(
        resizeShorterSide: Int?, cropHeight: Int, cropWidth: Int,
        mean: [Double] = imageNetMean, std: [Double] = imageNetStd
    ) {
        self.resizeShorterSide = resizeShorterSide
        self.cropSize = (cropHeight, cropWidth)
        self.mean = mean
        self.std = std
    }

    public static func == (a: ImagePreprocessor, b: ImagePreprocessor) -> Bool {
        a.resizeShorterSide == b.resizeShorterSide && a.cropSize?.height == b.cropSize?.height
            && a.cropSize?.width == b.cropSize?.width && a.mean == b.mean && a.std == b.std
    }

    /// The result of preprocessing: the network input and the picture it shows.
    public struct Output: Sendable, Equatable {
        /// Normalized input, `[3, H, W]`.
        public var tensor: Tensor<Float>
        /// The resized and cropped 8-bit image the tensor was made from (what the user should see
        /// under an attribution map; same H×W).
        public var displayImage: RGBImage

        /// `[1, 3, H, W]`, ready for the model.
        public var batch: Tensor<Float> {
            Tensor(uncheckedBatchOf: tensor)
        }
    }

    /// Applies resize, crop, ToTensor and Normalize.
    public func callAsFunction(_ image: RGBImage) throws(ImageError) -> Output {
        try validate()
        var picture = image
        if let side = resizeShorterSide {
            let (w, h) = Self.resizedSize(width: image.width, height: image.height, shorterSide: side)
            if (w, h) != (image.width, image.height) {
                picture = try picture.resizedBilinear(width: w, height: h)
            }
        }
        if let crop = cropSize {
            picture = try picture.centerCropped(height: crop.height, width: crop.width)
        }
        return Output(tensor: normalize(picture), displayImage: picture)
    }

    /// ToTensor + Normalize of an 8-bit image: `[3, H, W]`.
    public func normalize(_ image: RGBImage) -> Tensor<Float> {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: 3 * plane)
        let meanF = mean.map { Float($0) }, stdF = std.map { Float($0) }
        for c in 0..<3 {
            for i in 0..<plane {
                let unit = Float(image.pixels[i * 3 + c]) / 255
                values[c * plane + i] = (unit - meanF[c]) / stdF[c]
            }
        }
        return Tensor(uncheckedShape3: [3, image.height, image.width], storage: values)
    }

    /// The inverse of `normalize` for display: `round(255 · (x·std + mean))`, clipped to 0...255.
    /// Exact for tensors made by `normalize` (the display image is kept in `Output` anyway).
    public func denormalize(_ tensor: Tensor<Float>) throws(ImageError) -> RGBImage {
        guard tensor.rank == 3, tensor.shape[0] == 3 else {
            throw ImageError(
                source: "<tensor>", problem: .invalidArgument("expected a [3, H, W] tensor, got \(tensor.shape)"))
        }
        try validate()
        let h = tensor.shape[1], w = tensor.shape[2], plane = h * w
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for c in 0..<3 {
            let m = Float(mean[c]), s = Float(std[c])
            for i in 0..<plane {
                let v = (tensor.storage[c * plane + i] * s + m) * 255
                pixels[i * 3 + c] = v.isNaN ? 0 : UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return RGBImage(uncheckedWidth: w, height: h, pixels: pixels)
    }

    /// torchvision's `Resize(side)` output size for an int size: the shorter side becomes `side`.
    public static func resizedSize(width: Int, height: Int, shorterSide side: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        guard short > 0 else { return (width, height) }
        // Python: int(side * long / short); true division of exact integers, then truncation.
        // (Exact for side·long < 2⁵³, i.e. every real image.)
        let ratio = (Double(side) * Double(long) / Double(short)).rounded(.towardZero)
        let newLong = ratio < Double(Int.max) ? Int(ratio) : Int.max  // absurd sizes are refused later
        return width <= height ? (side, newLong) : (newLong, side)
    }

    private func validate() throws(ImageError) {
        func bad(_ text: String) -> ImageError { ImageError(source: "<preprocessor>", problem: .invalidArgument(text)) }
        if let side = resizeShorterSide, side <= 0 { throw bad("resize size must be positive, got \(side)") }
        if let crop = cropSize, crop.height <= 0 || crop.width <= 0 {
            throw bad("crop size must be positive, got \(crop.height)x\(crop.width)")
        }
        guard mean.count == 3, std.count == 3 else { throw bad("mean and std need 3 values each") }
        guard std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
            throw bad("std must be finite and non-zero, mean finite")
        }
    }
}

extension RGBImage {
    /// torchvision's `CenterCrop((height, width))` on a PIL image: zero-pad if the crop is larger, then
    /// crop at `top = round((H − height) / 2)`, `left = round((W − width) / 2)` (half to even).
    public func centerCropped(height cropHeight: Int, width cropWidth: Int) throws(ImageError) -> RGBImage {
        guard cropHeight > 0, cropWidth > 0,
            !cropWidth.multipliedReportingOverflow(by: cropHeight).overflow,
            cropWidth * cropHeight <= RGBImage.maxComputedPixels
        else {
            throw ImageError(
                source: "<memory>",
                problem: .invalidArgument("crop size must be positive, got \(cropHeight)x\(cropWidth)"))
        }
        // Padding: left/top (crop − size) // 2, right/bottom the rest.
        let padLeft = cropWidth > width ? (cropWidth - width) / 2 : 0
        let padTop = cropHeight > height ? (cropHeight - height) / 2 : 0
        let paddedWidth = max(width, cropWidth), paddedHeight = max(height, cropHeight)
        let top = Self.roundHalfEven(paddedHeight - cropHeight), left = Self.roundHalfEven(paddedWidth - cropWidth)
        // Output pixel (x, y) comes from padded (x + left, y + top) = original (x + left − padLeft, …).
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        for y in 0..<cropHeight {
            let sy = y + top - padTop
            guard sy >= 0, sy < height else { continue }
            for x in 0..<cropWidth {
                let sx = x + left - padLeft
                guard sx >= 0, sx < width else { continue }
                let s = (sy * width + sx) * 3, d = (y * cropWidth + x) * 3
                out[d] = pixels[s]
                out[d + 1] = pixels[s + 1]
                out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(uncheckedWidth: cropWidth, height: cropHeight, pixels: out)
    }

    /// Python's `int(round(d / 2.0))` for d ≥ 0: halves go to the even neighbour.
    static func roundHalfEven(_ d: Int) -> Int {
        let k = d / 2
        if d % 2 == 0 { return k }
        return k % 2 == 0 ? k : k + 1
    }
}

extension Tensor where Scalar == Float {
    init(uncheckedShape3 shape: [Int], storage: [Float]) {
        // Shapes computed by this module always match; fall back to a flat tensor rather than trap.
        self = (try? Tensor(shape: shape, storage: storage)) ?? Tensor(zeros: [0])
    }

    init(uncheckedBatchOf item: Tensor<Float>) {
        self = (try? item.reshaped([1] + item.shape)) ?? item
    }
}
