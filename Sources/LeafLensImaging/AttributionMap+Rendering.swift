/// Pictures of an `AttributionMap`, following Captum's `visualize_image_attr` methods. Colours are
/// computed in Double and stored as 8-bit with rounding; matplotlib's figure output (axes, resampling
/// in `imshow`, PNG writer) is not reproduced pixel for pixel.
extension AttributionMap {
    /// `heat_map`: each value through `colormap` (default: the sign's Captum map) over the sign's range
    /// ([−1, 1] for `all`, else [0, 1]): normalized v' = (v − vmin)/(vmax − vmin), entry min(Int(v'·256), 255).
    public func heatMap(colormap: Colormap? = nil) -> RGBImage {
        let map = colormap ?? sign.defaultColormap
        var pixels = [UInt8](repeating: 0, count: values.count * 3)
        for (i, v) in values.enumerated() {
            let (r, g, b) = map.color(normalized: normalizedForColormap(v))
            pixels[i * 3] = Self.byte(r)
            pixels[i * 3 + 1] = Self.byte(g)
            pixels[i * 3 + 2] = Self.byte(b)
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// `blended_heat_map`: a grey version of `original` (mean of its channels, stretched to its own
    /// min...max, black if constant) with the heat map drawn over it at `alphaOverlay` opacity.
    public func blendedHeatMap(
        original: RGBImage, colormap: Colormap? = nil, alphaOverlay: Double = 0.5
    )
        throws(ImageError) -> RGBImage
    {
        try checkSameSize(original)
        guard alphaOverlay >= 0, alphaOverlay <= 1 else {
            throw ImageError(source: "<visualization>", problem: .invalidArgument("alphaOverlay must be in 0...1"))
        }
        let map = colormap ?? sign.defaultColormap
        let count = values.count
        var means = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let p = i * 3
            means[i] =
                (Double(original.pixels[p]) + Double(original.pixels[p + 1]) + Double(original.pixels[p + 2])) / 3
        }
        let low = means.min() ?? 0, high = means.max() ?? 0
        var pixels = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            // matplotlib's gray map on the auto-scaled mean; a constant image normalizes to 0.
            let scaled = high > low ? (means[i] - low) / (high - low) : 0
            let grey = Colormap.gray.color(normalized: Float(scaled)).r
            let (r, g, b) = map.color(normalized: normalizedForColormap(values[i]))
            pixels[i * 3] = Self.byte(alphaOverlay * r + (1 - alphaOverlay) * grey)
            pixels[i * 3 + 1] = Self.byte(alphaOverlay * g + (1 - alphaOverlay) * grey)
            pixels[i * 3 + 2] = Self.byte(alphaOverlay * b + (1 - alphaOverlay) * grey)
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// `masked_image`: `clip(Int(original · v), 0, 255)` per channel (truncating, as Captum's `astype(int)`).
    /// Not defined for sign `all` (Captum asserts); throws.
    public func maskedImage(original: RGBImage) throws(ImageError) -> RGBImage {
        try checkSameSize(original)
        try checkSigned("masked_image")
        var pixels = [UInt8](repeating: 0, count: values.count * 3)
        for i in 0..<values.count {
            for c in 0..<3 {
                pixels[i * 3 + c] = Self.truncatedByte(Float(original.pixels[i * 3 + c]) * values[i])
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// `alpha_scaling`: the original RGB with alpha `clip(Int(v · 255), 0, 255)`. Not for sign `all`.
    public func alphaScaling(original: RGBImage) throws(ImageError) -> RGBAImage {
        try checkSameSize(original)
        try checkSigned("alpha_scaling")
        var pixels = [UInt8](repeating: 0, count: values.count * 4)
        for i in 0..<values.count {
            pixels[i * 4] = original.pixels[i * 3]
            pixels[i * 4 + 1] = original.pixels[i * 3 + 1]
            pixels[i * 4 + 2] = original.pixels[i * 3 + 2]
            pixels[i * 4 + 3] = Self.truncatedByte(values[i] * 255)
        }
        return RGBAImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// (v − vmin)/(vmax − vmin) in Float32, as matplotlib's `Normalize` on float32 data.
    @inline(__always)
    func normalizedForColormap(_ v: Float) -> Float {
        let range = sign.valueRange
        return (v - range.min) / (range.max - range.min)
    }

    private func checkSameSize(_ original: RGBImage) throws(ImageError) {
        guard original.width == width, original.height == height else {
            throw ImageError(
                source: "<visualization>",
                problem: .invalidArgument(
                    "original image is \(original.width)x\(original.height), attributions are \(width)x\(height)"))
        }
    }

    private func checkSigned(_ method: String) throws(ImageError) {
        guard sign != .all else {
            throw ImageError(
                source: "<visualization>",
                problem: .invalidArgument("\(method) needs sign positive, negative or absolute_value, not all"))
        }
    }

    @inline(__always)
    static func byte(_ unit: Double) -> UInt8 {
        guard unit.isFinite else { return 0 }
        return UInt8(min(max((unit * 255).rounded(), 0), 255))
    }

    @inline(__always)
    static func truncatedByte(_ value: Float) -> UInt8 {
        guard value.isFinite else { return 0 }
        return UInt8(min(max(value.rounded(.towardZero), 0), 255))
    }
}
