import Foundation
import LeafLensMath

/// Mean cross-entropy over a batch, as `torch.nn.functional.cross_entropy(logits, targets)`:
///
///     log pᵢ = zᵢ,tᵢ − m − log Σⱼ exp(zᵢⱼ − m),   m = maxⱼ zᵢⱼ   (log-softmax, max-subtracted: no overflow)
///     L = −(1/N) Σᵢ log pᵢ
///     ∂L/∂zᵢⱼ = (softmax(zᵢ)ⱼ − [j = tᵢ]) / N
///
/// Sums run in Double; results are rounded to `T` once.
public enum CrossEntropy {
    public struct Result<T: TensorScalar>: Sendable {
        /// Mean loss over the batch.
        public var loss: Double
        /// ∂L/∂logits, `[N, K]`.
        public var gradient: Tensor<T>
        /// Per-example argmax of the logits (ties: lowest index).
        public var predictions: [Int]
    }

    public static func evaluate<T: TensorScalar>(logits: Tensor<T>, targets: [Int]) throws(TrainingError) -> Result<T> {
        guard logits.rank == 2, logits.shape[0] == targets.count, logits.shape[0] > 0 else {
            throw .shapeMismatch("logits \(logits.shape) do not match \(targets.count) targets")
        }
        let n = logits.shape[0], k = logits.shape[1]
        var gradient = [T](repeating: 0, count: n * k)
        var total = 0.0
        var predictions: [Int] = []
        for i in 0..<n {
            let t = targets[i]
            guard t >= 0 && t < k else { throw .targetOutOfRange(target: t, classCount: k) }
            let row = (0..<k).map { Double(logits.storage[i * k + $0]) }
            var best = 0
            for j in 1..<max(k, 1) where row[j] > row[best] { best = j }
            predictions.append(best)
            let m = row[best]
            let exps = row.map { Foundation.exp($0 - m) }
            let sum = exps.reduce(0, +)
            total -= row[t] - m - Foundation.log(sum)
            for j in 0..<k {
                gradient[i * k + j] = T((exps[j] / sum - (j == t ? 1 : 0)) / Double(n))
            }
        }
        return Result(
            loss: total / Double(n), gradient: Tensor(uncheckedShape: [n, k], storage: gradient),
            predictions: predictions)
    }
}
