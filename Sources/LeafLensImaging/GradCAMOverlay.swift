/// pytorch-grad-cam 1.5.7's look: `show_cam_on_image(img, mask, use_rgb=True, image_weight=W)` and the
/// OpenCV JET colormap it draws with, reproduced to the byte.
///
/// With img = Float32(byte)/255 and every step in Float32 as numpy does it:
///
///     heat  = JET[UInt8(255·mask)]            truncation; the table is OpenCV's COLORMAP_JET as RGB
///     heat  = Float32(heat) / 255
///     cam   = (1 − W)·heat + W·img
///     cam   = cam / max(cam)                  the brightest channel value becomes 1
///     out   = UInt8(255·cam)                  truncation
///
/// `mask` outside [0, 1] is clamped before the cast (pytorch-grad-cam would wrap or saturate
/// unpredictably); LeafLens's normalized maps never leave [0, 1].
public enum GradCAMOverlay {
    /// OpenCV's COLORMAP_JET (`cv2.applyColorMap` on 0...255) as RGB, 256 × 3 bytes. OpenCV defines it
    /// piecewise linearly in steps of 4; per channel (index i):
    /// - B: 0...31 → 128 + 4i; 32...95 → 255; 96...158 → 254 − 4(i − 96); 159 → 1; 160...255 → 0
    /// - G: 0...32 → 0; 33...95 → 4 + 4(i − 33); 96...159 → 255; 160...223 → 252 − 4(i − 160); 224...255 → 0
    /// - R: 0...95 → 0; 96...159 → 2 + 4(i − 96); 160...223 → 255; 224...255 → 252 − 4(i − 224)
    /// This is not matplotlib's `jet` (`Colormap.jet`).
    public static let jet: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256 * 3)
        for i in 0..<256 {
            let b: Int =
                switch i {
                case 0...31: 128 + 4 * i
                case 32...95: 255
                case 96...158: 254 - 4 * (i - 96)
                case 159: 1
                default: 0
                }
            let g: Int =
                switch i {
                case 0...32: 0
                case 33...95: 4 + 4 * (i - 33)
                case 96...159: 255
                case 160...223: 252 - 4 * (i - 160)
                default: 0
                }
            let r: Int =
                switch i {
                case 0...95: 0
                case 96...159: 2 + 4 * (i - 96)
                case 160...223: 255
                default: 252 - 4 * (i - 224)
                }
            table[i * 3] = UInt8(r)  // safe: every branch lies in 0...255
            table[i * 3 + 1] = UInt8(g)
            table[i * 3 + 2] = UInt8(b)
        }
        return table
    }()

    /// The table index of a mask value: UInt8(255·v) with numpy's truncation, after clamping to [0, 1].
    @inline(__always)
    public static func index(_ mask: Float) -> Int {
        guard mask.isFinite else { return mask == .infinity ? 255 : 0 }
        let v = Float(255) * mask.clamped(0, 1)
        return Int(v.rounded(.towardZero))
    }

    /// The JET heat map itself (`cv2.applyColorMap(np.uint8(255 * mask))`, RGB), `[H, W]` mask.
    public static func heatMap(mask: [Float], width: Int, height: Int) throws(RenderingError) -> RGBImage {
        guard width > 0, height > 0, mask.count == width * height else {
            throw .sizeMismatch("a \(width)x\(height) heat map needs \(width * height) mask values, got \(mask.count)")
        }
        var pixels = [UInt8](repeating: 0, count: mask.count * 3)
        for (i, v) in mask.enumerated() {
            let j = index(v) * 3
            pixels[i * 3] = jet[j]
            pixels[i * 3 + 1] = jet[j + 1]
            pixels[i * 3 + 2] = jet[j + 2]
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// `show_cam_on_image(np.float32(image) / 255, mask, use_rgb=True, image_weight=imageWeight)`.
    ///
    /// `base` is the image as Float32 in [0, 1], interleaved RGB `[H, W, 3]` (use `unitRGB(_:)` or
    /// `unitGray(_:)`); `mask` is `[H, W]`. Throws for an image weight outside [0, 1] (pytorch-grad-cam
    /// raises too) or sizes that disagree. A black image with weight 1 (max = 0) gives black, not NaN.
    public static func overlay(
        base: [Float], mask: [Float], width: Int, height: Int, imageWeight: Double
    )
        throws(RenderingError) -> RGBImage
    {
        guard imageWeight.isFinite, imageWeight >= 0, imageWeight <= 1 else {
            throw .imageWeightOutOfRange(imageWeight)
        }
        guard width > 0, height > 0, mask.count == width * height, base.count == mask.count * 3 else {
            throw .sizeMismatch(
                "image of \(base.count / 3) pixels and mask of \(mask.count) values for a \(width)x\(height) overlay")
        }
        // numpy: the Python floats (1 − W) and W become Float32 and multiply Float32 arrays.
        let heatWeight = Float(1 - imageWeight), baseWeight = Float(imageWeight)
        var cam = [Float](repeating: 0, count: base.count)
        var largest = -Float.infinity
        for i in 0..<mask.count {
            let j = index(mask[i]) * 3
            for c in 0..<3 {
                let heat = Float(jet[j + c]) / Float(255)
                let v = heatWeight * heat + baseWeight * base[i * 3 + c]
                cam[i * 3 + c] = v
                largest = max(largest, v)
            }
        }
        var pixels = [UInt8](repeating: 0, count: cam.count)
        guard largest > 0 else { return RGBImage(uncheckedWidth: width, height: height, pixels: pixels) }
        for i in 0..<cam.count {
            let v = Float(255) * (cam[i] / largest)
            pixels[i] = UInt8(v.rounded(.towardZero).clamped(0, 255))  // safe: clamped to 0...255
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// `np.float32(image) / 255`, interleaved RGB.
    public static func unitRGB(_ image: RGBImage) -> [Float] { image.pixels.map { Float($0) / Float(255) } }

    /// The mean of the channels, Float32((r + g + b) / 3) / 255, repeated in all three channels: the
    /// grey base for `--overlay gray` in the grad-cam style (not stretched to its own range).
    public static func unitGray(_ image: RGBImage) -> [Float] {
        var out = [Float](repeating: 0, count: image.pixels.count)
        for i in 0..<(image.pixels.count / 3) {
            let p = image.pixels
            let mean = (Float(p[i * 3]) + Float(p[i * 3 + 1]) + Float(p[i * 3 + 2])) / Float(3)
            let v = mean / Float(255)
            out[i * 3] = v
            out[i * 3 + 1] = v
            out[i * 3 + 2] = v
        }
        return out
    }
}
