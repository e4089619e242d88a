import LeafLensAttribution
import LeafLensMath

// Small exactly-known models and fixtures for the faithfulness-metric tests.

/// outputs[n, k] = Σ_j W[k, j]·x[n, j] + b[k] over each example's flattened features; the input
/// gradient for target t is W[t] (exact, so Saliency on it is the exact attribution).
struct DenseModel<Scalar: TensorScalar>: AttributionModel {
    let weights: [[Scalar]]  // [K][D]
    let bias: [Scalar]
    var classCount: Int { weights.count }

    func outputs(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        let n = input.shape[0], d = input.count / max(n, 1)
        guard weights.allSatisfy({ $0.count == d }) else {
            throw AttributionError.shapeMismatch("DenseModel has \(weights.first?.count ?? 0) inputs, got \(d)")
        }
        var out = [Scalar](repeating: 0, count: n * classCount)
        for i in 0..<n {
            for k in 0..<classCount {
                var sum = 0.0
                for j in 0..<d { sum += Double(weights[k][j]) * Double(input.storage[i * d + j]) }
                out[i * classCount + k] = Scalar(sum) + bias[k]
            }
        }
        return try Tensor(shape: [n, classCount], storage: out)
    }

    func inputGradient(
        _ input: Tensor<Scalar>, targets: [Int]
    ) throws -> (outputs: Tensor<Scalar>, gradient: Tensor<Scalar>) {
        let out = try outputs(input)
        return (out, try Tensor(shape: input.shape, storage: targets.flatMap { weights[$0] }))
    }

    func layerGradient(
        _ input: Tensor<Scalar>, layer: String, targets: [Int]
    ) throws
        -> (outputs: Tensor<Scalar>, activation: Tensor<Scalar>, gradient: Tensor<Scalar>)
    {
        throw AttributionError.unknownLayer(layer, available: [])
    }

    /// RISE's worked example (reference §E): 1×3×4×4 → 48 features, W[k, j] = (((5·(48k + j)) mod 7) − 3)/10,
    /// bias [0, 0.1, −0.1].
    static var riseExample: DenseModel {
        var weights: [[Scalar]] = []
        for k in 0..<3 {
            var row: [Scalar] = []
            for j in 0..<48 {
                let code: Int = (5 * (48 * k + j)) % 7 - 3
                row.append(Scalar(Double(code) / 10))
            }
            weights.append(row)
        }
        let bias: [Scalar] = [0, 0.1, -0.1]
        return DenseModel(weights: weights, bias: bias)
    }
}

/// Elementwise Double copy of a Float tensor.
func asDouble(_ t: Tensor<Float>) -> Tensor<Double> { t.converted(to: Double.self) }
