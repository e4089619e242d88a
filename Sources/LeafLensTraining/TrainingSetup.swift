import Foundation
import LeafLensMath
import LeafLensModel

/// What `leaflens train` fine-tunes: everything, or only `fc` on features computed once.
public enum TrainingMode: String, Sendable, Codable, CaseIterable {
    /// Backbone frozen; avgpool features computed once per image (evaluation transform, no
    /// augmentation); only `fc` is trained.
    case head
    /// Every parameter not frozen by `freezeUntil` is trained; BatchNorm in training mode.
    case full
}

/// Starting weights for training, from the model's one initialisation rule (`ParameterInitialization`).
public enum TrainingSetup {
    /// A fresh ResNet18 as PyTorch would build it for training from scratch, deterministically (see
    /// `freshModel(configuration:labels:seed:)`).
    public static func freshModel(width: Int, labels: [String], seed: UInt64) throws -> ResNet<Float> {
        try freshModel(
            configuration: ResNetConfiguration(classCount: labels.count, width: width), labels: labels, seed: seed)
    }

    /// A fresh network of any depth: `.reset` (BatchNorm γ = 1, β = 0, running mean 0, running variance 1)
    /// with convolutions and `fc` drawn from the seeded model's stream (the seeded model's very values:
    /// conv U(±√(6/fan_in)), fc U(±1/√fan_in)).
    public static func freshModel(
        configuration: ResNetConfiguration, labels: [String], seed: UInt64
    ) throws -> ResNet<Float> {
        try ResNet<Float>.initialized(configuration, rule: .reset, seed: seed, stream: .seeded, labels: labels)
    }

    /// `model` prepared for a data set with `labels`: same weights; `fc` re-initialised (`.reset`, i.e.
    /// U(±1/√fan_in) for weight and bias, PyTorch's `nn.Linear` default range, from a stream seeded with
    /// `seed` ⊕ "fc-head") when the class count differs.
    public static func adapt(
        _ model: ResNet<Float>, to labels: [String], seed: UInt64
    ) throws -> (model: ResNet<Float>, reinitializedHead: Bool) {
        if model.configuration.classCount == labels.count {
            return (try ResNet(configuration: model.configuration, parameters: model.parameters, labels: labels), false)
        }
        var configuration = model.configuration
        configuration.classCount = labels.count
        let adapted = try model.reinitialized(
            prefixes: ["fc."], rule: .reset, seed: seed ^ 0x6663_2D68_6561_64,  // "fc-head"
            configuration: configuration, labels: labels)
        return (adapted, true)
    }

    /// Parameter names trained in `mode`. `freezeUntil` = N (1…4) freezes `conv1`, `bn1` and the stages
    /// before `layerN`; `layerN` … `fc` are trained.
    public static func trainedParameters(of model: ResNet<Float>, mode: TrainingMode, freezeUntil: Int?) -> [String] {
        switch mode {
        case .head:
            return ["fc.weight", "fc.bias"]
        case .full:
            guard let stage = freezeUntil else { return model.trainableParameterNames }
            return model.trainableParameterNames.filter { name in
                if name.hasPrefix("fc.") { return true }
                for s in stage...4 where name.hasPrefix("layer\(s).") { return true }
                return false
            }
        }
    }
}
