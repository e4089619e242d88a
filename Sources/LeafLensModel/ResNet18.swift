import LeafLensMath

/// The shape of a ResNet18: torchvision's topology with a configurable base width and class count.
///
/// Architecture table (torchvision `resnet18`): stem conv1 7×7/2 (pad 3) → bn1 → relu → maxpool 3×3/2
/// (pad 1), then four stages of BasicBlocks ([2, 2, 2, 2]) at widths w, 2w, 4w, 8w with strides 1, 2, 2, 2;
/// the first block of stages 2–4 has `downsample` = 1×1 conv stride 2 + BN; then avgpool → fc.
public struct ResNet18Configuration: Sendable, Equatable, Codable {
    public var classCount: Int
    public var width: Int

    public static let blocksPerStage = [2, 2, 2, 2]
    public static let stageStrides = [1, 2, 2, 2]

    public init(classCount: Int = 38, width: Int = 64) {
        self.classCount = classCount
        self.width = width
    }

    public var stageWidths: [Int] { [width, 2 * width, 4 * width, 8 * width] }

    /// Every state_dict entry in torchvision's order (without `num_batches_tracked`), with its shape.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var entries: [(String, [Int])] = []
        func batchNorm(_ prefix: String, _ c: Int) {
            for suffix in ["weight", "bias", "running_mean", "running_var"] { entries.append(("\(prefix).\(suffix)", [c])) }
        }
        entries.append(("conv1.weight", [width, 3, 7, 7]))
        batchNorm("bn1", width)
        var inChannels = width
        for (stage, planes) in stageWidths.enumerated() {
            for block in 0..<Self.blocksPerStage[stage] {
                let p = "layer\(stage + 1).\(block)"
                entries.append(("\(p).conv1.weight", [planes, inChannels, 3, 3]))
                batchNorm("\(p).bn1", planes)
                entries.append(("\(p).conv2.weight", [planes, planes, 3, 3]))
                batchNorm("\(p).bn2", planes)
                if block == 0 && (Self.stageStrides[stage] != 1 || inChannels != planes) {
                    entries.append(("\(p).downsample.0.weight", [planes, inChannels, 1, 1]))
                    batchNorm("\(p).downsample.1", planes)
                }
                inChannels = planes
            }
        }
        entries.append(("fc.weight", [classCount, 8 * width]))
        entries.append(("fc.bias", [classCount]))
        return entries
    }

    /// Multiply–accumulates of one forward pass at `h`×`w` (convolutions and fc).
    public func multiplyAccumulates(height h: Int, width w: Int) -> Int {
        func out(_ x: Int, _ k: Int, _ s: Int, _ p: Int) -> Int { (x + 2 * p - k) / s + 1 }
        var (hh, ww) = (out(h, 7, 2, 3), out(w, 7, 2, 3))
        var macs = width * 3 * 49 * hh * ww
        (hh, ww) = (out(hh, 3, 2, 1), out(ww, 3, 2, 1))
        var inChannels = width
        for (stage, planes) in stageWidths.enumerated() {
            for block in 0..<Self.blocksPerStage[stage] {
                let s = block == 0 ? Self.stageStrides[stage] : 1
                let (oh, ow) = (out(hh, 3, s, 1), out(ww, 3, s, 1))
                macs += planes * inChannels * 9 * oh * ow + planes * planes * 9 * oh * ow
                if block == 0 && (s != 1 || inChannels != planes) { macs += planes * inChannels * oh * ow }
                (hh, ww, inChannels) = (oh, ow, planes)
            }
        }
        return macs + classCount * 8 * width
    }
}

/// A ResNet18 as its state_dict: parameters and BatchNorm running statistics under torchvision's names
/// (`conv1.weight`, `bn1.running_var`, `layer2.0.downsample.0.weight`, `fc.bias`, …), plus class labels.
///
/// Run it through a `ResNetProgram` (`program(foldingBatchNorm:)`), which binds the layers once.
public struct ResNet18<T: TensorScalar>: Sendable {
    public let configuration: ResNet18Configuration
    public private(set) var parameters: [String: Tensor<T>]
    public var labels: [String]
    /// The weights file's `__metadata__` (e.g. `image_size` and `resize` written by `leaflens train`).
    public var metadata: [String: String] = [:]

    /// Builds a model from a complete state_dict. Every expected entry must be present with its exact shape;
    /// unexpected entries are refused. Errors name the key and the expected vs found shape.
    public init(configuration: ResNet18Configuration, parameters: [String: Tensor<T>], labels: [String]? = nil) throws(ModelError) {
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
    public func converted<U: TensorScalar>(to _: U.Type = U.self) -> ResNet18<U> {
        try! ResNet18<U>(  // safe: same names and shapes as self, which was validated.
            configuration: configuration, parameters: parameters.mapValues { $0.converted(to: U.self) },
            labels: labels)
    }

    /// Learnable parameters only (no running statistics), in torchvision order.
    public var trainableParameterNames: [String] {
        configuration.parameterShapes.map(\.name).filter { !$0.hasSuffix("running_mean") && !$0.hasSuffix("running_var") }
    }

    /// The deterministic model documented in Fixtures/README.md: one SplitMix64 stream fills every
    /// state_dict entry in torchvision order (conv: U(±√(6/fan_in)); BN γ U(0.5,1.5), β U(±0.2),
    /// running mean U(±0.2), running var U(0.5,1.5); fc weight and bias U(±1/√fan_in)).
    public static func seeded(seed: UInt64, configuration: ResNet18Configuration, labels: [String]? = nil) throws(ModelError) -> ResNet18 {
        var rng = SeededRandom(seed: seed)
        var parameters: [String: Tensor<T>] = [:]
        for (name, shape) in configuration.parameterShapes {
            let count = shape.reduce(1, *)
            let (low, high): (Double, Double)
            if name.hasPrefix("fc.") {
                let bound = 1 / Double(8 * configuration.width).squareRoot()
                (low, high) = (-bound, bound)
            } else if shape.count == 4 {
                let bound = (6 / Double(shape[1] * shape[2] * shape[3])).squareRoot()
                (low, high) = (-bound, bound)
            } else if name.hasSuffix(".weight") || name.hasSuffix("running_var") {
                (low, high) = (0.5, 1.5)
            } else {
                (low, high) = (-0.2, 0.2)
            }
            parameters[name] = Tensor(uncheckedShape: shape, storage: rng.uniformArray(count, low, high))
        }
        return try ResNet18(configuration: configuration, parameters: parameters, labels: labels)
    }

    /// The seeded input documented in Fixtures/README.md: `[N, 3, H, W]` uniform(−2, 2).
    public static func seededInput(seed: UInt64, shape: [Int]) -> Tensor<T> {
        var rng = SeededRandom(seed: seed)
        return Tensor(uncheckedShape: shape, storage: rng.uniformArray(shape.reduce(1, *), -2, 2))
    }
}

/// Errors building or loading a model. Messages name the key and what was expected.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case missingKeys([String])
    case unexpectedKeys([String])
    case wrongShape(key: String, expected: [Int], found: [Int])
    case labelCount(expected: Int, found: Int)
    case unknownLayer(String, available: [String])
    case invalidInput(String)
    case notResNet18(String)

    public var description: String {
        switch self {
        case .missingKeys(let k): "missing tensors: \(k.prefix(8).joined(separator: ", "))\(k.count > 8 ? " and \(k.count - 8) more" : "")"
        case .unexpectedKeys(let k): "unexpected tensors: \(k.prefix(8).joined(separator: ", "))\(k.count > 8 ? " and \(k.count - 8) more" : "")"
        case .wrongShape(let key, let e, let f): "tensor '\(key)' has shape \(f), expected \(e)"
        case .labelCount(let e, let f): "\(f) labels for a model with \(e) classes"
        case .unknownLayer(let n, let a): "unknown layer '\(n)'; available: \(a.joined(separator: ", "))"
        case .invalidInput(let m): m
        case .notResNet18(let m): "not a ResNet18 state_dict: \(m)"
        }
    }
}
