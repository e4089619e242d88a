import Foundation
import LeafLensMath

/// Score-CAM (Wang et al. 2020) as pytorch-grad-cam 1.5.7's `ScoreCAM`. For each example and channel c:
///
///     u_c     = bilinear upsampling of A_c to H×W with **align_corners = true** (torch's UpsamplingBilinear2d)
///     m_c     = (u_c − min u_c) / (max u_c − min u_c + 1e−8)
///     score_c = F(x ⊙ m_c)[t]            (the mask broadcast over the colour channels)
///     w       = softmax_c(score),  raw = Σ_c w_c·A_c
///
/// C extra forward passes per example (512 at ResNet18's layer4), in batches of
/// `CAMParameters.batchSize` (default 16, as the library); the batch size does not change the numbers.
public enum ScoreCAM {
    public static let defaultBatchSize = 16

    /// `[N, 1, H, W]` in [0, 1), in the model's precision (see `CAMParameters`); `targets == nil` explains
    /// each image's argmax.
    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters = CAMParameters()
    ) throws -> Tensor<Model.Scalar> {
        let batchSize = parameters.batchSize ?? defaultBatchSize
        return try CAMEngine.run(
            model: model, input: input, targets: targets, parameters: parameters, alwaysProjects: false,
            weighting: { data in
                CAMEngine.channelWeighted(data, weights: try weights(model, data, batchSize: batchSize))
            })
    }

    static func weights<Model: AttributionModel>(
        _ model: Model, _ data: CAMLayerData<Model.Scalar>, batchSize: Int
    ) throws -> [Double] {
        typealias S = Model.Scalar
        let (channels, h, w) = (data.channels, data.activation.shape[2], data.activation.shape[3])
        let (colours, height, width) = (data.input.shape[1], data.input.shape[2], data.input.shape[3])
        let plane = height * width, example = colours * plane
        var all: [Double] = []
        for n in 0..<data.batch {
            var scores: [S] = []
            var start = 0
            while start < channels {
                let count = min(batchSize, channels - start)
                var batch = [S](repeating: 0, count: count * example)
                for k in 0..<count {
                    let c = start + k
                    let base = (n * channels + c) * h * w
                    let mask = normalisedMask(
                        Array(data.activation.storage[base..<(base + h * w)]),
                        h: h, w: w, height: height, width: width)
                    for colour in 0..<colours {
                        let src = n * example + colour * plane, dst = k * example + colour * plane
                        for i in 0..<plane { batch[dst + i] = data.input.storage[src + i] * mask[i] }
                    }
                }
                let x = try checkedTensor(shape: [count, colours, height, width], storage: batch)
                let outputs = try selectTargets(
                    model.outputs(x), targets: Array(repeating: data.targets[n], count: count),
                    classCount: model.classCount)
                scores.append(contentsOf: outputs)
                start += count
            }
            all.append(contentsOf: softmax(scores).map(Double.init))
        }
        return all
    }

    /// One channel upsampled with align_corners = true (src = dst·(in − 1)/(out − 1), the scale in the
    /// activation's precision, as torch computes it for float32 and float64), then min–max normalised
    /// with 1e−8.
    static func normalisedMask<S: TensorScalar>(_ a: [S], h: Int, w: Int, height: Int, width: Int) -> [S] {
        func taps(_ input: Int, _ output: Int) -> [(Int, Int, S)] {
            let scale: S = output > 1 ? S(input - 1) / S(output - 1) : 0
            return (0..<output).map { dst in
                let src = scale * S(dst)
                let i0 = min(Int(src), input - 1)
                let i1 = min(i0 + 1, input - 1)
                return (i0, i1, src - S(i0))
            }
        }
        let rows = taps(h, height), cols = taps(w, width)
        var u = [S](repeating: 0, count: height * width)
        for y in 0..<height {
            let (r0, r1, ly) = rows[y]
            for x in 0..<width {
                let (c0, c1, lx) = cols[x]
                let top = (1 - lx) * a[r0 * w + c0] + lx * a[r0 * w + c1]
                let bottom = (1 - lx) * a[r1 * w + c0] + lx * a[r1 * w + c1]
                u[y * width + x] = (1 - ly) * top + ly * bottom
            }
        }
        let low = u.min() ?? 0, high = u.max() ?? 0
        let denominator = high - low + S(1e-8)
        return u.map { ($0 - low) / denominator }
    }

    /// softmax shifted by the maximum (as torch does), the exponentials summed in Double and the result
    /// rounded to the scores' precision (float32 for a Float model, as the library's `torch.Tensor(scores)`).
    static func softmax<S: TensorScalar>(_ s: [S]) -> [S] {
        let top = s.max() ?? 0
        let e = s.map { exp(Double($0 - top)) }
        let total = e.reduce(0, +)
        return e.map { S($0 / total) }
    }
}
