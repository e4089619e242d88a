import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensPipeline
import LeafLensTestSupport

/// Small models and inputs shared by the pipeline suites.
enum PipelineFixtures {
    /// A seeded ResNet18 of base width 4 with 38 classes (as `make-seeded-model --width 4`).
    static func tinyModel() throws -> LoadedModel {
        LoadedModel(
            try ResNet18<Float>.seeded(seed: 42, configuration: ResNet18Configuration(classCount: 38, width: 4)),
            description: "tiny")
    }

    /// A seeded preprocessed input `[1, 3, side, side]`, as a `.npy` input would load.
    static func input(side: Int = 48, seed: UInt64 = 3) throws -> LoadedInput {
        let tensor = ResNet18<Float>.seededInput(seed: seed, shape: [1, 3, side, side])
        let display = try RGBImage(width: side, height: side, pixels: [UInt8](repeating: 128, count: side * side * 3))
        return LoadedInput(path: "seeded.npy", kind: .npy, tensor: tensor, displayImage: display)
    }

    static let pngImage = FixturePaths.fixture("imaging/images/png_rgb8_300x200.png")
}
