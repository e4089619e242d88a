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

/// Starting weights for training.
public enum TrainingSetup {
    /// A fresh ResNet18 as PyTorch would build it for training from scratch, deterministically: convolutions
    /// and `fc` from the seeded model (conv U(±√(6/fan_in)), fc U(±1/√fan_in)), BatchNorm γ = 1, β = 0,
    /// running mean 0, running variance 1.
    public static func freshModel(width: Int, labels: [String], seed: UInt64) throws -> ResNet18<Float> {
        let configuration = ResNet18Configuration(classCount: labels.count, width: width)
        let seeded = try ResNet18<Float>.seeded(seed: seed, configuration: configuration, labels: labels)
        var parameters = seeded.parameters
        for (name, shape) in configuration.parameterShapes where shape.count == 1 && !name.hasPrefix("fc.") {
            let value: Float = name.hasSuffix(".weight") || name.hasSuffix("running_var") ? 1 : 0
            parameters[name] = Tensor(repeating: value, shape: shape)
        }
        return try ResNet18(configuration: configuration, parameters: parameters, labels: labels)
    }

    /// `model` prepared for a data set with `labels`: same weights; `fc` re-initialised (seeded,
    /// U(±1/√fan_in) for weight and bias, PyTorch's `nn.Linear` default range) when the class count differs.
    public static func adapt(_ model: ResNet18<Float>, to labels: [String], seed: UInt64) throws -> (model: ResNet18<Float>, reinitializedHead: Bool) {
        let width = model.configuration.width
        if model.configuration.classCount == labels.count {
            return (try ResNet18(configuration: model.configuration, parameters: model.parameters, labels: labels), false)
        }
        let configuration = ResNet18Configuration(classCount: labels.count, width: width)
        var parameters = model.parameters
        var rng = SeededRandom(seed: seed ^ 0x6663_2D68_6561_64)  // "fc-head"
        let fanIn = 8 * width
        let bound = 1 / Double(fanIn).squareRoot()
        parameters["fc.weight"] = Tensor(uncheckedShape: [labels.count, fanIn], storage: rng.uniformArray(labels.count * fanIn, -bound, bound))
        parameters["fc.bias"] = Tensor(uncheckedShape: [labels.count], storage: rng.uniformArray(labels.count, -bound, bound))
        return (try ResNet18(configuration: configuration, parameters: parameters, labels: labels), true)
    }

    /// Parameter names trained in `mode`. `freezeUntil` = N (1…4) freezes `conv1`, `bn1` and the stages
    /// before `layerN`; `layerN` … `fc` are trained.
    public static func trainedParameters(of model: ResNet18<Float>, mode: TrainingMode, freezeUntil: Int?) -> [String] {
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
