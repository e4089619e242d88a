import LeafLensMath

/// The shape of a torchvision ResNet: its depth (18, 34, 50, 101 or 152), base width and class count.
///
/// Everything else — the block table (`blocks`), the state_dict entries and their shapes
/// (`parameters`), the multiply–accumulate count, the program, the seeded model and the training set-up —
/// is derived from this one description. Architecture (torchvision `resnet{18,34,50,101,152}`, v1.5):
///
///     conv1 7×7/2 (pad 3) → bn1 → relu → maxpool 3×3/2 (pad 1)
///     → layer1 … layer4: blocks per stage `stageBlocks`, planes w, 2w, 4w, 8w, stride 1, 2, 2, 2
///     → avgpool → fc [K, 8w·expansion]
///
/// BasicBlock (expansion 1): conv1 3×3/s → bn1 → relu → conv2 3×3 → bn2. Bottleneck (expansion 4):
/// conv1 1×1 → bn1 → relu → conv2 3×3/s → bn2 → relu → conv3 1×1 (4·planes) → bn3 (the stride on the
/// 3×3 convolution, torchvision's "v1.5"). Both add the identity — or `downsample` (1×1/s conv + BN) when
/// the stride or the channel count changes, i.e. in the first block of a stage — then ReLU.
public struct ResNetConfiguration: Sendable, Equatable, Hashable, Codable {
    /// 18, 34, 50, 101 or 152.
    public let depth: Int
    public var classCount: Int
    /// Base width w (planes of layer1); torchvision's networks have w = 64.
    public var width: Int

    /// Block kinds and blocks per stage, as torchvision's `resnetNN` constructors pass them.
    public static let depths: [Int: (kind: ResNetBlock.Kind, stageBlocks: [Int])] = [
        18: (.basic, [2, 2, 2, 2]), 34: (.basic, [3, 4, 6, 3]), 50: (.bottleneck, [3, 4, 6, 3]),
        101: (.bottleneck, [3, 4, 23, 3]), 152: (.bottleneck, [3, 8, 36, 3]),
    ]

    /// A configuration for `depth`; throws for a depth torchvision does not define or a width or class
    /// count below 1.
    public init(depth: Int, width: Int = 64, classCount: Int) throws(ModelError) {
        guard Self.depths[depth] != nil else {
            throw .invalidConfiguration("ResNet depth \(depth) is not one of \(Self.depths.keys.sorted())")
        }
        guard width >= 1, classCount >= 1 else {
            throw .invalidConfiguration("width \(width) and class count \(classCount) must be at least 1")
        }
        self.depth = depth
        self.width = width
        self.classCount = classCount
    }

    /// A ResNet18 (the compatibility initialiser of `ResNet18Configuration`).
    public init(classCount: Int = 38, width: Int = 64) {
        depth = 18
        self.classCount = classCount
        self.width = width
    }

    enum CodingKeys: String, CodingKey { case depth, classCount, width }

    /// Decodes `{classCount, width}` written before depths existed as a ResNet18.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? 18
        try self.init(
            depth: depth, width: try c.decode(Int.self, forKey: .width),
            classCount: try c.decode(Int.self, forKey: .classCount))
    }

    /// `resnet18`, `resnet50`, … (torchvision's constructor name).
    public var architecture: String { "resnet\(depth)" }

    public var blockKind: ResNetBlock.Kind { Self.depths[depth]?.kind ?? .basic }  // safe: init checks the depth
    public var stageBlocks: [Int] { Self.depths[depth]?.stageBlocks ?? [2, 2, 2, 2] }
    public static let stageStrides = [1, 2, 2, 2]
    /// ResNet18's blocks per stage (kept for source compatibility; use `stageBlocks`).
    public static let blocksPerStage = [2, 2, 2, 2]

    /// Planes (inner width) of each stage: w, 2w, 4w, 8w.
    public var stageWidths: [Int] { [width, 2 * width, 4 * width, 8 * width] }

    /// Channels into `fc`: 8w·expansion.
    public var featureCount: Int { 8 * width * blockKind.expansion }

    /// The stem: conv1 7×7/2 (pad 3) with bn1, 3 → w channels.
    public var stem: ConvolutionUnit {
        ConvolutionUnit(
            convolution: "conv1", norm: "bn1", inChannels: 3, outChannels: width, kernel: 7, stride: 2, padding: 3)
    }

    /// The stem's max pooling window.
    public static let maxPool = (kernel: 3, stride: 2, padding: 1)

    /// The block table, in forward order.
    public var blocks: [ResNetBlock] {
        var table: [ResNetBlock] = []
        var inChannels = width
        for (stage, planes) in stageWidths.enumerated() {
            for index in 0..<stageBlocks[stage] {
                let block = ResNetBlock(
                    stage: stage + 1, index: index, kind: blockKind, inChannels: inChannels, planes: planes,
                    stride: index == 0 ? Self.stageStrides[stage] : 1)
                table.append(block)
                inChannels = block.outChannels
            }
        }
        return table
    }

    /// Every convolution with its BatchNorm, in forward order: the stem, then each block's body and its
    /// shortcut.
    public var convolutionUnits: [ConvolutionUnit] {
        var units = [stem]
        for block in blocks {
            units += block.body
            if let shortcut = block.shortcut { units.append(shortcut) }
        }
        return units
    }

    /// Every state_dict entry in torchvision's order (without `num_batches_tracked`): name, shape and role.
    public var parameters: [ResNetParameter] {
        var entries: [ResNetParameter] = []
        func add(_ unit: ConvolutionUnit) {
            entries.append(
                ResNetParameter(
                    name: "\(unit.convolution).weight", role: .convolutionWeight,
                    shape: [unit.outChannels, unit.inChannels, unit.kernel, unit.kernel]))
            for (suffix, role) in [
                ("weight", ResNetParameter.Role.normScale), ("bias", .normShift), ("running_mean", .runningMean),
                ("running_var", .runningVariance),
            ] {
                entries.append(ResNetParameter(name: "\(unit.norm).\(suffix)", role: role, shape: [unit.outChannels]))
            }
        }
        convolutionUnits.forEach(add)
        entries.append(ResNetParameter(name: "fc.weight", role: .linearWeight, shape: [classCount, featureCount]))
        entries.append(ResNetParameter(name: "fc.bias", role: .linearBias(fanIn: featureCount), shape: [classCount]))
        return entries
    }

    /// Every state_dict entry in torchvision's order (without `num_batches_tracked`), with its shape.
    public var parameterShapes: [(name: String, shape: [Int])] { parameters.map { ($0.name, $0.shape) } }

    /// The same list, for code that matches checkpoint keys against it (e.g. a `.pth` reader).
    public var expectedParameterShapes: [(name: String, shape: [Int])] { parameterShapes }

    /// Learnable parameters (weights and biases, not running statistics), e.g. 11,689,512 for
    /// torchvision's resnet18 with 1000 classes.
    public var learnableParameterCount: Int {
        parameters.filter(\.role.isLearnable).reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Multiply–accumulates of one forward pass at `h`×`w` (convolutions and fc).
    public func multiplyAccumulates(height h: Int, width w: Int) -> Int {
        var size = (h: h, w: w)
        func convolve(_ unit: ConvolutionUnit, _ input: (h: Int, w: Int)) -> (macs: Int, size: (h: Int, w: Int)) {
            let out = (h: unit.outputSize(input.h), w: unit.outputSize(input.w))
            return (unit.outChannels * unit.inChannels * unit.kernel * unit.kernel * out.h * out.w, out)
        }
        let (stemMACs, stemSize) = convolve(stem, size)
        var macs = stemMACs
        let pool = Self.maxPool
        size = (
            (stemSize.h + 2 * pool.padding - pool.kernel) / pool.stride + 1,
            (stemSize.w + 2 * pool.padding - pool.kernel) / pool.stride + 1
        )
        for block in blocks {
            let blockInput = size
            for unit in block.body {
                let (m, out) = convolve(unit, size)
                macs += m
                size = out
            }
            if let shortcut = block.shortcut { macs += convolve(shortcut, blockInput).macs }
        }
        return macs + classCount * featureCount
    }

    /// The configuration a state_dict describes, from its entries' shapes alone: the block kind from
    /// `layer1.0.conv3` (Bottleneck) or its absence (BasicBlock), the blocks per stage from the highest
    /// `layerS.B` index, the width from `conv1.weight` `[w, 3, 7, 7]`, the classes from `fc.weight`.
    /// Does not check the other shapes (`ResNet(configuration:parameters:)` does).
    public static func inferred(fromShapes shapes: [String: [Int]]) throws(ModelError) -> ResNetConfiguration {
        guard let fc = shapes["fc.weight"], fc.count == 2, fc[0] > 0 else {
            throw .notResNet("no 2-D tensor 'fc.weight'")
        }
        guard let stem = shapes["conv1.weight"], stem.count == 4, stem[0] > 0 else {
            throw .notResNet("no 4-D tensor 'conv1.weight'")
        }
        let kind: ResNetBlock.Kind = shapes["layer1.0.conv3.weight"] != nil ? .bottleneck : .basic
        let features = 8 * stem[0] * kind.expansion
        guard fc[1] == features else {
            throw .wrongShape(key: "fc.weight", expected: [fc[0], features], found: fc)
        }
        var counts: [Int] = []
        for stage in 1...4 {
            var count = 0
            while shapes["layer\(stage).\(count).conv1.weight"] != nil { count += 1 }
            counts.append(count)
        }
        guard let depth = depths.first(where: { $0.value.kind == kind && $0.value.stageBlocks == counts })?.key else {
            throw .notResNet("\(kind.rawValue) stages with \(counts) blocks match no torchvision ResNet")
        }
        return try ResNetConfiguration(depth: depth, width: stem[0], classCount: fc[0])
    }

    /// What `leaflens info` shows about a model: architecture, classes, parameters and work.
    public func summary(inputSize: Int = 224) -> ResNetSummary {
        ResNetSummary(
            architecture: architecture, depth: depth, width: width, classCount: classCount, inputSize: inputSize,
            parameterCount: learnableParameterCount,
            multiplyAccumulates: multiplyAccumulates(height: inputSize, width: inputSize),
            labels: (0..<classCount).map { "class_\($0)" })
    }
}

/// The ResNet18 name of the configuration, kept so existing code compiles.
public typealias ResNet18Configuration = ResNetConfiguration

/// A model summary (`ResNetConfiguration.summary(inputSize:)`).
public struct ResNetSummary: Sendable, Equatable, Codable {
    public var architecture: String
    public var depth: Int
    public var width: Int
    public var classCount: Int
    public var inputSize: Int
    /// Learnable parameters (running statistics excluded).
    public var parameterCount: Int
    /// Multiply–accumulates of one forward pass at `inputSize`².
    public var multiplyAccumulates: Int
    /// Class labels in class-index order (`class_0…` for a bare configuration).
    public var labels: [String]
}

/// One convolution and the BatchNorm after it, under their state_dict names.
public struct ConvolutionUnit: Sendable, Equatable, Hashable {
    public let convolution: String
    public let norm: String
    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int

    /// ⌊(x + 2p − k)/s⌋ + 1.
    public func outputSize(_ x: Int) -> Int { (x + 2 * padding - kernel) / stride + 1 }
}

/// One residual block of the table.
public struct ResNetBlock: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case basic = "BasicBlock", bottleneck = "Bottleneck"
        /// Output channels per plane: 1 (BasicBlock) or 4 (Bottleneck).
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// 1…4 (`layer1` … `layer4`).
    public let stage: Int
    public let index: Int
    public let kind: Kind
    public let inChannels: Int
    public let planes: Int
    public let stride: Int

    public var outChannels: Int { planes * kind.expansion }
    /// `layerS.B`, the block's module path.
    public var name: String { "layer\(stage).\(index)" }
    /// torchvision adds `downsample` when the stride or the channel count changes.
    public var hasDownsample: Bool { stride != 1 || inChannels != outChannels }

    /// The residual branch's convolutions in order; a ReLU follows each but the last.
    public var body: [ConvolutionUnit] {
        func unit(_ k: Int, _ i: Int, _ o: Int, kernel: Int, stride: Int) -> ConvolutionUnit {
            ConvolutionUnit(
                convolution: "\(name).conv\(k)", norm: "\(name).bn\(k)", inChannels: i, outChannels: o, kernel: kernel,
                stride: stride, padding: kernel / 2)
        }
        switch kind {
        case .basic:
            return [
                unit(1, inChannels, planes, kernel: 3, stride: stride), unit(2, planes, planes, kernel: 3, stride: 1),
            ]
        case .bottleneck:
            return [
                unit(1, inChannels, planes, kernel: 1, stride: 1), unit(2, planes, planes, kernel: 3, stride: stride),
                unit(3, planes, outChannels, kernel: 1, stride: 1),
            ]
        }
    }

    /// `downsample` (1×1/s convolution + BN) when the block has one.
    public var shortcut: ConvolutionUnit? {
        guard hasDownsample else { return nil }
        return ConvolutionUnit(
            convolution: "\(name).downsample.0", norm: "\(name).downsample.1", inChannels: inChannels,
            outChannels: outChannels, kernel: 1, stride: stride, padding: 0)
    }
}

/// One state_dict entry: its name, shape and what it is (which decides how it is initialised).
public struct ResNetParameter: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        case convolutionWeight, normScale, normShift, runningMean, runningVariance, linearWeight
        /// `fc.bias`; its initialisation range depends on the layer's fan-in.
        case linearBias(fanIn: Int)

        /// Weights and biases (trained), as opposed to BatchNorm running statistics.
        public var isLearnable: Bool { self != .runningMean && self != .runningVariance }
        public var isNorm: Bool { [.normScale, .normShift, .runningMean, .runningVariance].contains(self) }
    }

    public let name: String
    public let role: Role
    public let shape: [Int]
}
