/// Which torchvision ResNet a state_dict is: depth, base width and class count, read off its keys and shapes.
///
/// Block table (torchvision): resnet18 BasicBlock [2, 2, 2, 2]; resnet34 BasicBlock [3, 4, 6, 3];
/// resnet50 Bottleneck [3, 4, 6, 3] (1×1 → 3×3 stride → 1×1 with expansion 4, as torchvision's v1.5).
/// Stage widths are w, 2w, 4w, 8w; `fc` takes 8w (BasicBlock) or 32w (Bottleneck) features.
///
/// This is the checkpoint reader's own description; the model library's `ResNetConfiguration(depth:
/// width:classCount:)` is built from `depth`, `width` and `classCount`.
public struct ResNetArchitecture: Sendable, Hashable, CustomStringConvertible {
    public enum Depth: Int, Sendable, CaseIterable {
        case resnet18 = 18, resnet34 = 34, resnet50 = 50

        public var name: String { "resnet\(rawValue)" }
        public var blocksPerStage: [Int] { self == .resnet18 ? [2, 2, 2, 2] : [3, 4, 6, 3] }
        public var usesBottleneck: Bool { self == .resnet50 }
        /// Output channels of a block per unit of stage width.
        public var expansion: Int { usesBottleneck ? 4 : 1 }

        public init?(name: String) {
            guard let depth = Depth.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
            self = depth
        }
    }

    public var depth: Depth
    public var width: Int
    public var classCount: Int

    public init(depth: Depth, width: Int = 64, classCount: Int) {
        self.depth = depth
        self.width = width
        self.classCount = classCount
    }

    public var name: String { depth.name }
    public var description: String { "\(depth.name) (width \(width), \(classCount) classes)" }
    public var featureCount: Int { 8 * width * depth.expansion }

    /// Every state_dict entry in torchvision's order (without `num_batches_tracked`), with its shape.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var entries: [(String, [Int])] = []
        func batchNorm(_ prefix: String, _ c: Int) {
            for suffix in ["weight", "bias", "running_mean", "running_var"] {
                entries.append(("\(prefix).\(suffix)", [c]))
            }
        }
        entries.append(("conv1.weight", [width, 3, 7, 7]))
        batchNorm("bn1", width)
        var inChannels = width
        for (stage, blocks) in depth.blocksPerStage.enumerated() {
            let planes = width << stage
            let out = planes * depth.expansion
            for block in 0..<blocks {
                let p = "layer\(stage + 1).\(block)"
                if depth.usesBottleneck {
                    entries.append(("\(p).conv1.weight", [planes, inChannels, 1, 1]))
                    batchNorm("\(p).bn1", planes)
                    entries.append(("\(p).conv2.weight", [planes, planes, 3, 3]))
                    batchNorm("\(p).bn2", planes)
                    entries.append(("\(p).conv3.weight", [out, planes, 1, 1]))
                    batchNorm("\(p).bn3", out)
                } else {
                    entries.append(("\(p).conv1.weight", [planes, inChannels, 3, 3]))
                    batchNorm("\(p).bn1", planes)
                    entries.append(("\(p).conv2.weight", [planes, planes, 3, 3]))
                    batchNorm("\(p).bn2", planes)
                }
                if block == 0 && (stage > 0 || inChannels != out) {
                    entries.append(("\(p).downsample.0.weight", [out, inChannels, 1, 1]))
                    batchNorm("\(p).downsample.1", out)
                }
                inChannels = out
            }
        }
        entries.append(("fc.weight", [classCount, featureCount]))
        entries.append(("fc.bias", [classCount]))
        return entries
    }

    /// Infers the architecture from torchvision-named keys (no prefix) and their shapes: width from
    /// `conv1.weight` `[w, 3, 7, 7]`, blocks per stage from the highest `layerS.B.` index, BasicBlock vs
    /// Bottleneck from `layer1.0.conv3.weight`, classes from `fc.weight` `[K, features]`.
    /// Returns nil with a reason when the keys are not a torchvision ResNet LeafLens knows.
    public static func infer(from shapes: [String: [Int]]) -> Result<ResNetArchitecture, InferenceProblem> {
        guard let stem = shapes["conv1.weight"], stem.count == 4, stem[0] > 0, stem[1] == 3, stem[2] == 7, stem[3] == 7
        else {
            return .failure("no stem convolution 'conv1.weight' of shape [w, 3, 7, 7]")
        }
        guard let fc = shapes["fc.weight"], fc.count == 2, fc[0] > 0 else {
            return .failure("no 2-D classifier 'fc.weight'")
        }
        var blocks: [Int] = []
        for stage in 1...4 {
            var count = 0
            while shapes["layer\(stage).\(count).conv1.weight"] != nil { count += 1 }
            blocks.append(count)
        }
        let bottleneck = shapes["layer1.0.conv3.weight"] != nil
        let depth: Depth
        switch (blocks, bottleneck) {
        case ([2, 2, 2, 2], false): depth = .resnet18
        case ([3, 4, 6, 3], false): depth = .resnet34
        case ([3, 4, 6, 3], true): depth = .resnet50
        case ([3, 4, 23, 3], true):
            return .failure("blocks [3, 4, 23, 3] with Bottlenecks are resnet101, which LeafLens does not build")
        case ([3, 8, 36, 3], true):
            return .failure("blocks [3, 8, 36, 3] with Bottlenecks are resnet152, which LeafLens does not build")
        default:
            return .failure(
                "blocks per stage \(blocks) (\(bottleneck ? "Bottleneck" : "BasicBlock")) match no torchvision resnet18/34/50"
            )
        }
        return .success(ResNetArchitecture(depth: depth, width: stem[0], classCount: fc[0]))
    }

    public struct InferenceProblem: Error, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
        public let description: String
        public init(stringLiteral value: String) { description = value }
        public init(stringInterpolation: DefaultStringInterpolation) {
            description = String(stringInterpolation: stringInterpolation)
        }
    }
}
