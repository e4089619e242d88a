import Foundation
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensModel

/// The block table and what is derived from it, for every depth: parameter counts and MACs as torchvision
/// reports them, torchvision's module paths, depth inference from shapes, loading and the seeded stream.
@Suite struct ResNetConfigurationTests {
    struct DepthCase: CustomTestStringConvertible, Sendable {
        let depth: Int
        /// torchvision's learnable parameters with 1000 classes (`sum(p.numel() for p in model.parameters())`).
        let parameters: Int
        /// state_dict entries without `num_batches_tracked`.
        let entries: Int
        /// GMACs per 224×224 image, as torchvision's model table lists them ("GFLOPS").
        let gigaMACs: Double
        var testDescription: String { "resnet\(depth)" }
    }

    static let depths: [DepthCase] = [
        DepthCase(depth: 18, parameters: 11_689_512, entries: 102, gigaMACs: 1.814),
        DepthCase(depth: 34, parameters: 21_797_672, entries: 182, gigaMACs: 3.664),
        DepthCase(depth: 50, parameters: 25_557_032, entries: 267, gigaMACs: 4.089),
    ]

    @Test(arguments: depths) func countsMatchTorchvision(_ c: DepthCase) throws {
        let configuration = try ResNetConfiguration(depth: c.depth, width: 64, classCount: 1000)
        #expect(configuration.learnableParameterCount == c.parameters)
        #expect(configuration.parameters.count == c.entries)
        let macs = Double(configuration.multiplyAccumulates(height: 224, width: 224)) / 1e9
        #expect(abs(macs - c.gigaMACs) < 0.002, "\(macs) GMAC")
        let summary = configuration.summary(inputSize: 224)
        #expect(summary.architecture == "resnet\(c.depth)" && summary.parameterCount == c.parameters)
        #expect(summary.labels.count == 1000 && summary.labels.first == "class_0")
        let labelled = try ResNet<Float>.seeded(
            seed: 1, configuration: try ResNetConfiguration(depth: c.depth, width: 2, classCount: 2),
            labels: ["a", "b"])
        #expect(labelled.summary(inputSize: 64).labels == ["a", "b"])
    }

    @Test func bottleneckTableFollowsTorchvision() throws {
        let configuration = try ResNetConfiguration(depth: 50, width: 64, classCount: 38)
        let blocks = configuration.blocks
        #expect(blocks.map(\.stage) == [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4])
        let first = blocks[0]
        #expect(first.hasDownsample && first.inChannels == 64 && first.outChannels == 256)
        // v1.5: the stride sits on the 3×3 convolution.
        let stage2 = blocks[3].body
        #expect(stage2.map(\.kernel) == [1, 3, 1] && stage2.map(\.stride) == [1, 2, 1])
        #expect(blocks[4].shortcut == nil)
        let shapes = Dictionary(uniqueKeysWithValues: configuration.parameterShapes.map { ($0.name, $0.shape) })
        #expect(shapes["layer4.2.conv3.weight"] == [2048, 512, 1, 1])
        #expect(shapes["layer2.0.downsample.0.weight"] == [512, 256, 1, 1])
        #expect(shapes["fc.weight"] == [38, 2048])
        #expect(configuration.parameterShapes.first?.name == "conv1.weight")
        // torchvision's state_dict order inside a block: conv1, bn1, conv2, bn2, conv3, bn3, downsample.
        let names = configuration.parameterShapes.map(\.name).filter {
            $0.hasPrefix("layer1.0.") && $0.hasSuffix(".weight")
        }
        #expect(
            names == [
                "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.conv2.weight", "layer1.0.bn2.weight",
                "layer1.0.conv3.weight", "layer1.0.bn3.weight", "layer1.0.downsample.0.weight",
                "layer1.0.downsample.1.weight",
            ])
    }

    @Test(arguments: [18, 34, 50, 101, 152]) func depthIsInferredFromShapes(_ depth: Int) throws {
        let configuration = try ResNetConfiguration(depth: depth, width: 4, classCount: 7)
        let shapes = Dictionary(uniqueKeysWithValues: configuration.parameterShapes.map { ($0.name, $0.shape) })
        #expect(try ResNetConfiguration.inferred(fromShapes: shapes) == configuration)
    }

    @Test func inferenceRefusesWhatIsNoResNet() throws {
        var shapes = Dictionary(
            uniqueKeysWithValues: try ResNetConfiguration(depth: 34, width: 4, classCount: 7).parameterShapes.map {
                ($0.name, $0.shape)
            })
        shapes["layer3.5.conv1.weight"] = nil
        #expect(throws: ModelError.notResNet("BasicBlock stages with [3, 4, 5, 3] blocks match no torchvision ResNet"))
        {
            try ResNetConfiguration.inferred(fromShapes: shapes)
        }
        #expect(throws: ModelError.wrongShape(key: "fc.weight", expected: [2, 32], found: [2, 31])) {
            try ResNetConfiguration.inferred(fromShapes: ["conv1.weight": [4, 3, 7, 7], "fc.weight": [2, 31]])
        }
        #expect(throws: ModelError.self) { try ResNetConfiguration(depth: 20, width: 4, classCount: 7) }
        #expect(throws: ModelError.self) { try ResNetConfiguration(depth: 50, width: 0, classCount: 7) }
    }

    @Test func resnet50ModulePathsAreTaps() throws {
        let model = try ResNet<Double>.seeded(
            seed: 3, configuration: try ResNetConfiguration(depth: 50, width: 2, classCount: 4))
        let unfolded = try model.program(for: .training)
        for name in [
            "layer1.0.conv3", "layer1.0.bn3", "layer1.0.downsample", "layer2.3", "layer3.5.relu", "layer4.2.conv3",
            "layer4",
        ] {
            #expect(unfolded.layers[name] != nil, "\(name)")
        }
        let folded = try model.program(for: .attribution)
        #expect(folded.layers["layer4.2.conv3"] == nil && folded.layers["layer4.2.bn3"] != nil)
        #expect(unfolded.layers["layer4"] == unfolded.layers["layer4.2"])
        let record = try folded.forward(
            ResNet<Double>.seededInput(seed: 1, shape: [1, 3, 40, 32]), taps: ["layer4", "avgpool"])
        #expect(record.layerActivations["layer4"]?.shape == [1, 64, 2, 1])
        #expect(record.outputs.shape == [1, 4])
    }

    /// The configuration written before depths existed decodes as a ResNet18; the new form round-trips.
    @Test func configurationCoding() throws {
        let old = try JSONDecoder().decode(ResNetConfiguration.self, from: Data(#"{"classCount": 5, "width": 8}"#.utf8))
        #expect(old == ResNet18Configuration(classCount: 5, width: 8) && old.depth == 18)
        let deep = try ResNetConfiguration(depth: 50, width: 8, classCount: 3)
        #expect(try JSONDecoder().decode(ResNetConfiguration.self, from: JSONEncoder().encode(deep)) == deep)
    }

    /// Saving and loading a resnet50 keeps depth, width, classes and every value; a wrong shape is refused
    /// naming the tensor.
    @Test func resnet50SafetensorsRoundTrip() throws {
        let model = try ResNet<Float>.seeded(
            seed: 9, configuration: try ResNetConfiguration(depth: 50, width: 2, classCount: 3))
        let directory = try FixturePaths.temporaryDirectory("resnet50-weights")
        let url = directory.appendingPathComponent("m.safetensors")
        try model.save(to: url)
        let loaded = try ResNet<Float>.load(contentsOf: url)
        #expect(loaded.configuration == model.configuration && loaded.parameters == model.parameters)
        #expect(loaded.metadata["format"] == "leaflens-resnet50")
        var parameters = model.parameters
        parameters["layer3.1.conv2.weight"] = Tensor(zeros: [8, 8, 3, 1])
        try SafeTensorsFile.write(parameters, metadata: [:], to: url)
        #expect(
            throws: WeightsError(
                file: url.path, problem: "tensor 'layer3.1.conv2.weight' has shape [8, 8, 3, 1], expected [8, 8, 3, 3]")
        ) {
            try ResNet<Float>.load(contentsOf: url)
        }
    }

    /// One stream, one rule: a resnet18 seeded through the generic path equals the documented recipe
    /// written out here entry by entry; `.reset` with the seeded stream differs only in BatchNorm.
    @Test func seededStreamFollowsTheDocumentedRecipe() throws {
        let configuration = ResNet18Configuration(classCount: 3, width: 2)
        let model = try ResNet<Float>.seeded(seed: 77, configuration: configuration)
        var random = SeededRandom(seed: 77)
        for (name, shape) in configuration.parameterShapes {
            let count = shape.reduce(1, *)
            let bound: (Double, Double)
            if name.hasPrefix("fc.") {
                let b = 1 / Double(8 * configuration.width).squareRoot()
                bound = (-b, b)
            } else if shape.count == 4 {
                let b = (6 / Double(shape[1] * shape[2] * shape[3])).squareRoot()
                bound = (-b, b)
            } else if name.hasSuffix(".weight") || name.hasSuffix("running_var") {
                bound = (0.5, 1.5)
            } else {
                bound = (-0.2, 0.2)
            }
            let expected: [Float] = random.uniformArray(count, bound.0, bound.1)
            #expect(model.parameters[name]?.storage == expected, "\(name)")
        }
        let fresh = try ResNet<Float>.initialized(configuration, rule: .reset, seed: 77, stream: .seeded)
        for parameter in configuration.parameters {
            let value = try #require(fresh.parameters[parameter.name])
            if parameter.role.isNorm {
                let one = parameter.role == .normScale || parameter.role == .runningVariance
                #expect(value.storage.allSatisfy { $0 == (one ? 1 : 0) }, "\(parameter.name)")
            } else {
                #expect(value == model.parameters[parameter.name], "\(parameter.name)")
            }
        }
    }
}
