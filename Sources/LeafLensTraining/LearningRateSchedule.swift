import Foundation

/// Per-epoch learning rates, as PyTorch's schedulers stepped once per epoch (epoch e counts from 0):
///
///     constant:  η_e = η
///     step:      η_e = η · γ^⌊e / stepSize⌋                          (StepLR)
///     cosine:    η_e = η · (1 + cos(π·e / E)) / 2,  E = total epochs (CosineAnnealingLR, T_max = E, η_min = 0)
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant
    case step(stepSize: Int, gamma: Double)
    case cosine(totalEpochs: Int)

    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .step(let size, let gamma):
            return base * pow(gamma, Double(epoch / max(1, size)))
        case .cosine(let total):
            return base * (1 + cos(Double.pi * Double(epoch) / Double(max(1, total)))) / 2
        }
    }
}
