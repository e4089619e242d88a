import Foundation
import LeafLensMath

/// The reference input b an attribution is measured against (Integrated Gradients' path start,
/// Occlusion's fill value). `resolved(for:)` expands it to the input's full shape `[N, ...]`.
public enum Baseline<Scalar: TensorScalar>: Sendable, Equatable {
    /// b = 0 (Captum's default).
    case zero
    /// b = value everywhere, rounded to the model's scalar type (as Captum casts a Python float).
    case constant(Double)
    /// A tensor shaped like the input, or `[1, ...]` to share one baseline across the batch.
    case tensor(Tensor<Scalar>)
    /// The input blurred by a Gaussian of standard deviation `sigma` pixels over its last two axes
    /// (H and W of `[N, C, H, W]`), each channel separately. See `gaussianBlurred(_:sigma:border:)`.
    case gaussianBlur(sigma: Double, border: BlurBorder = .reflect)
    /// Independent uniform values in [low, high), drawn from `SeededRandom(seed:)` in storage order
    /// over the whole `[N, ...]` tensor. The input is not used, only its shape.
    case uniformNoise(low: Double, high: Double, seed: UInt64)

    /// The baseline at the input's full shape.
    public func resolved(for input: Tensor<Scalar>) throws(AttributionError) -> Tensor<Scalar> {
        switch self {
        case .zero:
            return Tensor(zeros: input.shape)
        case .constant(let value):
            guard value.isFinite else { throw .invalidOption("baseline constant must be finite, got \(value)") }
            return Tensor(repeating: Scalar(value), shape: input.shape)
        case .tensor(let baseline):
            if baseline.shape == input.shape { return baseline }
            guard baseline.rank == input.rank, baseline.shape.first == 1,
                baseline.shape.dropFirst() == input.shape.dropFirst()
            else {
                throw .shapeMismatch(
                    "baseline of shape \(baseline.shape) fits neither the input \(input.shape) "
                        + "nor [1, \(input.shape.dropFirst().map(String.init).joined(separator: ", "))]")
            }
            let batch = input.shape.first ?? 0
            var values: [Scalar] = []
            values.reserveCapacity(input.count)
            for _ in 0..<batch { values.append(contentsOf: baseline.storage) }
            return try checkedTensor(shape: input.shape, storage: values)
        case .gaussianBlur(let sigma, let border):
            return try gaussianBlurred(input, sigma: sigma, border: border)
        case .uniformNoise(let low, let high, let seed):
            guard low.isFinite, high.isFinite, low < high else {
                throw .invalidOption("uniform noise needs finite low < high, got [\(low), \(high))")
            }
            var random = SeededRandom(seed: seed)
            return try checkedTensor(
                shape: input.shape, storage: random.uniformArray(input.count, low, high, as: Scalar.self))
        }
    }

}

/// How the blur reads pixels beyond the image border.
public enum BlurBorder: String, CaseIterable, Sendable {
    /// Mirror about the edge pixel without repeating it (… c b | a b c … y z | y x …), as PyTorch's
    /// `padding_mode="reflect"` and scipy's `mode="mirror"`; folds repeatedly for radii ≥ the size.
    case reflect
    /// Repeat the edge pixel (… a a | a b c …).
    case replicate
}

/// Separable Gaussian blur over the last two axes of `[..., H, W]` (rank ≥ 3: the leading axes are
/// batch and channels, blurred independently).
///
/// Kernel: kₜ = exp(−t²/(2σ²)) / Σ for t = −r…r with r = ⌈3σ⌉, in Double. Rows are filtered first,
/// then columns, accumulating in Double and rounding to the scalar type after each pass.
public func gaussianBlurred<Scalar: TensorScalar>(
    _ input: Tensor<Scalar>, sigma: Double, border: BlurBorder = .reflect
) throws(AttributionError) -> Tensor<Scalar> {
    guard sigma.isFinite, sigma > 0, sigma <= 10_000 else {
        throw .invalidOption("blur sigma must be in (0, 10000] pixels, got \(sigma)")
    }
    guard input.rank >= 3 else {
        throw .shapeMismatch("blur needs an input [N, ..., H, W] of rank ≥ 3, got \(input.shape)")
    }
    let radius = Int((3 * sigma).rounded(.up))
    var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }

    let height = input.shape[input.rank - 2], width = input.shape[input.rank - 1]
    let planes = input.count / max(1, height * width)
    var horizontal = input.storage
    var output = input.storage
    // Along W: stride 1 within a row; along H: stride W within a plane.
    blurLines(
        source: input.storage, into: &horizontal, lineLength: width, lineStride: 1,
        lines: planes * height, lineStart: { $0 * width }, kernel: kernel, border: border)
    blurLines(
        source: horizontal, into: &output, lineLength: height, lineStride: width,
        lines: planes * width, lineStart: { ($0 / width) * height * width + $0 % width },
        kernel: kernel, border: border)
    return (try? Tensor(shape: input.shape, storage: output)) ?? input
}

/// Convolves every line (length L, element stride s) with the kernel. The border handling is folded
/// into a precomputed tap table, so the inner loop is a plain dot product.
private func blurLines<Scalar: TensorScalar>(
    source: [Scalar], into output: inout [Scalar], lineLength: Int, lineStride: Int, lines: Int,
    lineStart: (Int) -> Int, kernel: [Double], border: BlurBorder
) {
    let radius = kernel.count / 2
    // taps[p * K + j] = source offset (in elements along the line) for output p and kernel tap j.
    var taps = [Int](repeating: 0, count: lineLength * kernel.count)
    for p in 0..<lineLength {
        for j in 0..<kernel.count {
            taps[p * kernel.count + j] =
                borderIndex(p + j - radius, length: lineLength, border: border)
                * lineStride
        }
    }
    source.withUnsafeBufferPointer { src in
        output.withUnsafeMutableBufferPointer { dst in
            for line in 0..<lines {
                let start = lineStart(line)
                for p in 0..<lineLength {
                    var sum = 0.0
                    let row = p * kernel.count
                    for j in 0..<kernel.count {
                        sum += kernel[j] * Double(src[start + taps[row + j]])
                    }
                    dst[start + p * lineStride] = Scalar(sum)
                }
            }
        }
    }
}

private func borderIndex(_ i: Int, length: Int, border: BlurBorder) -> Int {
    if (0..<length).contains(i) { return i }
    switch border {
    case .replicate:
        return min(max(i, 0), length - 1)
    case .reflect:
        guard length > 1 else { return 0 }
        let period = 2 * (length - 1)
        var m = i % period
        if m < 0 { m += period }
        return m < length ? m : period - m
    }
}
