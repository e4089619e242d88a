import LeafLensMath

/// A torchvision ResNet (any depth of `ResNetConfiguration`) as its state_dict: parameters and BatchNorm
/// running statistics under torchvision's names (`conv1.weight`, `bn1.running_var`,
/// `layer2.0.downsample.0.weight`, `layer4.2.conv3.weight`, `fc.bias`, …), plus class labels.
///
/// Run it through a `ResNetProgram` (`program(for:)`), which binds the layers once.
public struct ResNet<T: TensorScalar>: Sendable {
    public let configuration: ResNetConfiguration
    public private(set) var parameters: [String: Tensor<T>]
    public var labels: [String]
    /// The weights file's `__metadata__` (e.g. `image_size` and `resize` written by `leaflens train`).
    public var metadata: [String: String] = [:]

    /// Builds a model from a complete state_dict. Every expected entry must be present with its exact shape;
    /// unexpected entries are refused. Errors name the key and the expected vs found shape.
    public init(
        configuration: ResNetConfiguration, parameters: [String: Tensor<T>], labels: [String]? = nil
    ) throws(ModelError) {
        var missing: [String] = []
        for (name, shape) in configuration.parameterShapes {
            guard let t = parameters[name] else { missing.append(name); continue }
            guard t.shape == shape else { throw .wrongShape(key: name, expected: shape, found: t.shape) }
        }
        if !missing.isEmpty { throw .missingKeys(missing) }
        let expected = Set(configuration.parameterShapes.map(\.name))
        let extra = parameters.keys.filter { !expected.contains($0) }.sorted()
        if !extra.isEmpty { throw .unexpectedKeys(extra) }
        let labels = labels ?? (0..<configuration.classCount).map { "class_\($0)" }
        guard labels.count == configuration.classCount else {
            throw .labelCount(expected: configuration.classCount, found: labels.count)
        }
        self.configuration = configuration
        self.parameters = parameters
        self.labels = labels
    }

    /// Replaces one entry (same shape), e.g. after an optimiser step or a running-statistics update.
    public mutating func setParameter(_ name: String, _ value: Tensor<T>) throws(ModelError) {
        guard let old = parameters[name] else { throw .unexpectedKeys([name]) }
        guard old.shape == value.shape else { throw .wrongShape(key: name, expected: old.shape, found: value.shape) }
        parameters[name] = value
    }

    /// The model in another scalar type (e.g. Double for gradient checks).
    public func converted<U: TensorScalar>(to _: U.Type = U.self) -> ResNet<U> {
        try! ResNet<U>(  // safe: same names and shapes as self, which was validated.
            configuration: configuration, parameters: parameters.mapValues { $0.converted(to: U.self) },
            labels: labels)
    }

    /// Architecture, classes with their labels, parameters and MACs at `inputSize`² (for `leaflens info`).
    public func summary(inputSize: Int = 224) -> ResNetSummary {
        var summary = configuration.summary(inputSize: inputSize)
        summary.labels = labels
        return summary
    }

    /// Learnable parameters only (no running statistics), in torchvision order.
    public var trainableParameterNames: [String] {
        configuration.parameters.filter(\.role.isLearnable).map(\.name)
    }

    /// The seeded input documented in Fixtures/README.md: `[N, 3, H, W]` uniform(−2, 2).
    public static func seededInput(seed: UInt64, shape: [Int]) -> Tensor<T> {
        var rng = SeededRandom(seed: seed)
        return Tensor(uncheckedShape: shape, storage: rng.uniformArray(shape.reduce(1, *), -2, 2))
    }
}

/// Errors building or loading a model. Messages name the key and what was expected.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingKeys([String])
    case unexpectedKeys([String])
    case wrongShape(key: String, expected: [Int], found: [Int])
    case labelCount(expected: Int, found: Int)
    case unknownLayer(String, available: [String])
    case invalidInput(String)
    /// A state_dict that is no torchvision ResNet (the reason follows).
    case notResNet(String)
    /// A depth, width or class count that makes no ResNet.
    case invalidConfiguration(String)

    /// The ResNet18-era name of `notResNet` (kept so existing code compiles).
    public static func notResNet18(_ reason: String) -> ModelError { .notResNet(reason) }

    public var description: String {
        switch self {
        case .missingKeys(let k):
            "missing tensors: \(k.prefix(8).joined(separator: ", "))\(k.count > 8 ? " and \(k.count - 8) more" : "")"
        case .unexpectedKeys(let k):
            "unexpected tensors: \(k.prefix(8).joined(separator: ", "))\(k.count > 8 ? " and \(k.count - 8) more" : "")"
        case .wrongShape(let key, let e, let f): "tensor '\(key)' has shape \(f), expected \(e)"
        case .labelCount(let e, let f): "\(f) labels for a model with \(e) classes"
        case .unknownLayer(let n, let a): "unknown layer '\(n)'; available: \(a.joined(separator: ", "))"
        case .invalidInput(let m): m
        case .notResNet(let m): "not a torchvision ResNet state_dict: \(m)"
        case .invalidConfiguration(let m): m
        }
    }
}

/// The ResNet18 name of the model type, kept so existing code compiles: `ResNet18<Float>` is a
/// `ResNet<Float>` of any depth (its configuration says which).
public typealias ResNet18<T: TensorScalar> = ResNet<T>
