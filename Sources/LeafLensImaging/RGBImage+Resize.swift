/// Resizing with PIL's antialiased bilinear filter (`Image.resize(size, Image.BILINEAR)`), bit for bit.
///
/// PIL's `ImagingResample` is separable: a horizontal pass, whose result is rounded and clipped to
/// uint8, then a vertical pass over that uint8 image, rounded and clipped again. A pass runs only if
/// its side changes. For one axis going from `inSize` to `outSize` samples:
///
///     scale       = inSize / outSize                       (Double)
///     filterScale = max(scale, 1)                          (widen the filter only when shrinking)
///     support     = 1 · filterScale                        (triangle filter, radius 1)
///     center(o)   = (o + 0.5) · scale
///     taps        = Int(center − support + 0.5) ..< Int(center + support + 0.5), clamped to [0, inSize)
///     w(i)        = tri((i − center + 0.5) / filterScale),  tri(t) = max(0, 1 − |t|)
///
/// The weights of one output sample are divided by their sum (in Double), then turned into fixed point
/// with 22 fractional bits, rounding half away from zero. Each output is
/// `clip8((2²¹ + Σ wᵢ·pixelᵢ) >> 22)`.
extension RGBImage {
    /// This image resized to `width`×`height` as PIL's bilinear `resize` does (antialiased when shrinking).
    public func resizedBilinear(width newWidth: Int, height newHeight: Int) throws(ImageError) -> RGBImage {
        guard newWidth > 0, newHeight > 0, width > 0, height > 0,
            newWidth.multipliedReportingOverflow(by: newHeight).partialValue <= RGBImage.maxComputedPixels,
            !newWidth.multipliedReportingOverflow(by: newHeight).overflow
        else {
            throw ImageError(
                source: "<memory>",
                problem: .invalidArgument("cannot resize \(width)x\(height) to \(newWidth)x\(newHeight)"))
        }
        var result = self
        if newWidth != width {
            let taps = ResampleTaps(inSize: width, outSize: newWidth)
            // Only the rows the vertical pass will read would be needed; PIL skips the others, which
            // changes nothing in the result, so every row is resampled here for simplicity.
            result = result.resampledHorizontally(taps)
        }
        if newHeight != height {
            result = result.resampledVertically(ResampleTaps(inSize: height, outSize: newHeight))
        }
        return result
    }

    private func resampledHorizontally(_ taps: ResampleTaps) -> RGBImage {
        let outWidth = taps.outSize
        var out = [UInt8](repeating: 0, count: outWidth * height * 3)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let rowIn = y &* width &* 3
                    let rowOut = y &* outWidth &* 3
                    for o in 0..<outWidth {
                        let first = taps.first[o], count = taps.count[o], base = o &* taps.stride
                        var r = ResampleTaps.half, g = ResampleTaps.half, b = ResampleTaps.half
                        for t in 0..<count {
                            let weight = taps.weights[base &+ t]
                            let p = rowIn &+ (first &+ t) &* 3
                            r = r &+ Int(source[p]) &* weight
                            g = g &+ Int(source[p &+ 1]) &* weight
                            b = b &+ Int(source[p &+ 2]) &* weight
                        }
                        let q = rowOut &+ o &* 3
                        target[q] = ResampleTaps.clip8(r)
                        target[q &+ 1] = ResampleTaps.clip8(g)
                        target[q &+ 2] = ResampleTaps.clip8(b)
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: outWidth, height: height, pixels: out)
    }

    private func resampledVertically(_ taps: ResampleTaps) -> RGBImage {
        let outHeight = taps.outSize
        let rowLength = width * 3
        var out = [UInt8](repeating: 0, count: rowLength * outHeight)
        var accumulator = [Int](repeating: 0, count: rowLength)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                accumulator.withUnsafeMutableBufferPointer { sums in
                    for o in 0..<outHeight {
                        let first = taps.first[o], count = taps.count[o], base = o &* taps.stride
                        for i in 0..<rowLength { sums[i] = ResampleTaps.half }
                        for t in 0..<count {
                            let weight = taps.weights[base &+ t]
                            let row = (first &+ t) &* rowLength
                            for i in 0..<rowLength { sums[i] = sums[i] &+ Int(source[row &+ i]) &* weight }
                        }
                        let rowOut = o &* rowLength
                        for i in 0..<rowLength { target[rowOut &+ i] = ResampleTaps.clip8(sums[i]) }
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: width, height: outHeight, pixels: out)
    }
}

/// Fixed-point filter taps for one axis (see `resizedBilinear`): for output sample `o`, input samples
/// `first[o] ..< first[o] + count[o]` with weights `weights[o·stride ..< o·stride + count[o]]`.
struct ResampleTaps {
    static let precisionBits = 22  // PIL: 32 − 8 − 2
    static let half = 1 << (precisionBits - 1)

    let outSize: Int
    let stride: Int
    var first: [Int] = []
    var count: [Int] = []
    var weights: [Int] = []

    init(inSize: Int, outSize: Int) {
        self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        let inverseFilterScale = 1.0 / filterScale
        weights = [Int](repeating: 0, count: outSize * stride)
        var real = [Double](repeating: 0, count: stride)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            // Int(_:) truncates toward zero like C's (int) cast.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inSize)
            let n = max(high - low, 0)
            var total = 0.0
            for t in 0..<n {
                let w = Self.triangle((Double(t + low) - center + 0.5) * inverseFilterScale)
                real[t] = w
                total += w
            }
            for t in 0..<n {
                let w = total != 0 ? real[t] / total : real[t]
                let scaled = w * Double(1 << Self.precisionBits)
                weights[o * stride + t] = w < 0 ? Int(-0.5 + scaled) : Int(0.5 + scaled)
            }
            first.append(low)
            count.append(n)
        }
    }

    /// PIL's bilinear filter: a triangle of radius 1.
    static func triangle(_ x: Double) -> Double {
        let a = abs(x)
        return a < 1 ? 1 - a : 0
    }

    @inline(__always)
    static func clip8(_ value: Int) -> UInt8 {
        if value <= 0 { return 0 }
        let shifted = value >> precisionBits
        return shifted >= 255 ? 255 : UInt8(truncatingIfNeeded: shifted)
    }
}
