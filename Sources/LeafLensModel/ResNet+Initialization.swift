import LeafLensMath

/// The one rule by which LeafLens initialises ResNet parameters, in two flavours.
///
/// | entry (role) | `.seeded` (test and fixture model) | `.reset` (PyTorch's `reset_parameters`) |
/// |---|---|---|
/// | convolution weight, fan_in = in·kh·kw | U(±√(6/fan_in)) | U(±√(6/fan_in)) |
/// | BatchNorm γ / β | U(0.5, 1.5) / U(−0.2, 0.2) | 1 / 0 |
/// | running mean / variance | U(−0.2, 0.2) / U(0.5, 1.5) | 0 / 1 |
/// | `fc.weight`, `fc.bias`, fan_in = features into fc | U(±1/√fan_in) | U(±1/√fan_in) |
///
/// Uniform values come from one `SeededRandom` stream, entry after entry in state_dict order, each tensor in C
/// order; constants draw nothing (Fixtures/README.md documents the stream).
public enum ParameterInitialization: Sendable, Equatable {
    case seeded
    case reset

    public enum Distribution: Sendable, Equatable {
        case uniform(low: Double, high: Double)
        case constant(Double)
    }

    public func distribution(for parameter: ResNetParameter) -> Distribution {
        let shape = parameter.shape
        switch parameter.role {
        case .convolutionWeight:
            let bound = (6 / Double(shape[1] * shape[2] * shape[3])).squareRoot()
            return .uniform(low: -bound, high: bound)
        case .linearWeight:
            let bound = 1 / Double(shape[1]).squareRoot()
            return .uniform(low: -bound, high: bound)
        case .linearBias(let fanIn):
            let bound = 1 / Double(fanIn).squareRoot()
            return .uniform(low: -bound, high: bound)
        case .normScale, .runningVariance:
            return self == .seeded ? .uniform(low: 0.5, high: 1.5) : .constant(1)
        case .normShift, .runningMean:
            return self == .seeded ? .uniform(low: -0.2, high: 0.2) : .constant(0)
        }
    }

    /// The entry's values. `stream` decides which draws are made (default: this rule's own), so that a
    /// rule can take its uniform entries from another rule's stream (see `ResNet.initialized`).
    public func values<T: TensorScalar>(
        for parameter: ResNetParameter, random: inout SeededRandom, stream: ParameterInitialization? = nil
    ) -> Tensor<T> {
        let count = parameter.shape.reduce(1, *)
        var drawn: [T]?
        if case .uniform(let low, let high) = (stream ?? self).distribution(for: parameter) {
            drawn = random.uniformArray(count, low, high)
        }
        switch distribution(for: parameter) {
        case .constant(let value):
            return Tensor(repeating: T(value), shape: parameter.shape)
        case .uniform(let low, let high):
            let values = drawn ?? random.uniformArray(count, low, high)
            return Tensor(uncheckedShape: parameter.shape, storage: values)
        }
    }
}

extension ResNet {
    /// A model whose every entry follows `rule`, drawn from SplitMix64(`seed`). With `stream`, the draws
    /// are those of that rule (the same uniform values wherever both rules draw): `.reset` with the
    /// `.seeded` stream is the seeded model with BatchNorm at its reset values.
    public static func initialized(
        _ configuration: ResNetConfiguration, rule: ParameterInitialization, seed: UInt64,
        stream: ParameterInitialization? = nil, labels: [String]? = nil
    ) throws(ModelError) -> ResNet {
        var random = SeededRandom(seed: seed)
        var parameters: [String: Tensor<T>] = [:]
        for parameter in configuration.parameters {
            parameters[parameter.name] = rule.values(for: parameter, random: &random, stream: stream)
        }
        return try ResNet(configuration: configuration, parameters: parameters, labels: labels)
    }

    /// The deterministic model documented in Fixtures/README.md: `.seeded` for every entry.
    public static func seeded(
        seed: UInt64, configuration: ResNetConfiguration, labels: [String]? = nil
    ) throws(ModelError) -> ResNet {
        try initialized(configuration, rule: .seeded, seed: seed, labels: labels)
    }

    /// This model with every entry whose name starts with one of `prefixes` re-initialised by `rule`,
    /// drawn from SplitMix64(`seed`) in state_dict order (other entries draw nothing). `configuration`
    /// (default: this model's) may change the class count; entries it adds must be covered by `prefixes`.
    public func reinitialized(
        prefixes: [String], rule: ParameterInitialization = .reset, seed: UInt64,
        configuration newConfiguration: ResNetConfiguration? = nil, labels newLabels: [String]? = nil
    ) throws(ModelError) -> ResNet {
        let configuration = newConfiguration ?? self.configuration
        var random = SeededRandom(seed: seed)
        var parameters = self.parameters
        for parameter in configuration.parameters where prefixes.contains(where: { parameter.name.hasPrefix($0) }) {
            parameters[parameter.name] = rule.values(for: parameter, random: &random)
        }
        return try ResNet(configuration: configuration, parameters: parameters, labels: newLabels ?? labels)
    }
}
