import Foundation
import LeafLensModel
import Testing

@testable import LeafLensCheckpoint

/// Architecture inference from keys and shapes, and the expected state_dict tables.
@Suite struct ResNetArchitectureTests {
    @Test func resnet18TableIsTheModelLibrarys() {
        for (width, classes) in [(64, 38), (8, 5)] {
            let mine = ResNetArchitecture(depth: .resnet18, width: width, classCount: classes).parameterShapes
            let model = ResNet18Configuration(classCount: classes, width: width).parameterShapes
            #expect(mine.map(\.name) == model.map(\.name))
            #expect(mine.map(\.shape) == model.map(\.shape))
        }
    }

    /// Counts of torchvision's full-width state_dicts (without num_batches_tracked): 102, 182, 267 entries;
    /// parameters + buffers 11 689 512 + 9 600, 21 797 672 + 17 024, 25 557 032 + 53 120 (ImageNet heads).
    @Test(arguments: [
        (ResNetArchitecture.Depth.resnet18, 102, 11_699_112), (.resnet34, 182, 21_814_696),
        (.resnet50, 267, 25_610_152),
    ])
    func fullWidthTables(_ depth: ResNetArchitecture.Depth, _ entries: Int, _ values: Int) {
        let shapes = ResNetArchitecture(depth: depth, width: 64, classCount: 1000).parameterShapes
        #expect(shapes.count == entries)
        #expect(shapes.map { $0.shape.reduce(1, *) }.reduce(0, +) == values)
    }

    @Test(arguments: ResNetArchitecture.Depth.allCases)
    func inferenceRoundTrips(_ depth: ResNetArchitecture.Depth) throws {
        let architecture = ResNetArchitecture(depth: depth, width: 16, classCount: 38)
        var shapes: [String: [Int]] = [:]
        for (name, shape) in architecture.parameterShapes { shapes[name] = shape }
        #expect(try ResNetArchitecture.infer(from: shapes).get() == architecture)
    }

    @Test func unknownDepthsAreNamed() {
        var shapes: [String: [Int]] = [
            "conv1.weight": [64, 3, 7, 7], "fc.weight": [10, 2048], "layer1.0.conv3.weight": [256, 64, 1, 1],
        ]
        for (stage, blocks) in [3, 4, 23, 3].enumerated() {
            for b in 0..<blocks { shapes["layer\(stage + 1).\(b).conv1.weight"] = [1] }
        }
        guard case .failure(let problem) = ResNetArchitecture.infer(from: shapes) else {
            Issue.record("accepted resnet101"); return
        }
        #expect(problem.description.contains("resnet101"))
    }
}
