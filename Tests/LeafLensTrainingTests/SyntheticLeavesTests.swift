import Foundation
import LeafLensImaging
import LeafLensTestSupport
import LeafLensTraining
import Testing

@Suite struct SyntheticLeavesTests {
    @Test func deterministicPerSeed() throws {
        let a = try SyntheticLeaves.render(disease: .brownSpot, seed: 11, index: 3, size: 64)
        let b = try SyntheticLeaves.render(disease: .brownSpot, seed: 11, index: 3, size: 64)
        let c = try SyntheticLeaves.render(disease: .brownSpot, seed: 12, index: 3, size: 64)
        #expect(a.image == b.image && a.mask == b.mask)
        #expect(a.image != c.image)
    }

    /// Healthy leaves have empty masks; every disease paints a lesion covering 0.2–40 % of the image.
    @Test(arguments: SyntheticDisease.allCases)
    func masks(disease: SyntheticDisease) throws {
        for index in 0..<4 {
            let sample = try SyntheticLeaves.render(disease: disease, seed: 1, index: index, size: 96)
            let share = Double(sample.mask.filter { $0 }.count) / Double(96 * 96)
            if disease.hasLesions {
                #expect(share > 0.002 && share < 0.4, "\(disease) \(index): lesion share \(share)")
            } else {
                #expect(share == 0)
            }
        }
    }

    @Test func classNamesAreSortedFolderNames() {
        let names = SyntheticDisease.allCases.map(\.rawValue)
        #expect(names == names.sorted(by: ImageFolder.byteOrder))
    }

    /// `generate` writes an ImageFolder tree and a mirrored mask tree.
    @Test func generateWritesImagesAndMasks() throws {
        let root = try FixturePaths.temporaryDirectory("synth")
        defer { try? FileManager.default.removeItem(at: root) }
        let images = root.appendingPathComponent("images"), masks = root.appendingPathComponent("masks")
        let summary = try SyntheticDataset.generate(out: images, masks: masks, perClass: 2, seed: 4, size: 40)
        #expect(summary.images == 12)
        let dataset = try ImageFolder(root: images)
        #expect(dataset.classes == SyntheticDisease.allCases.map(\.rawValue))
        #expect(dataset.classCounts == [2, 2, 2, 2, 2, 2])
        for sample in dataset.samples {
            let mask = try ImageDecoder.decode(contentsOf: masks.appendingPathComponent(sample.relativePath))
            #expect(mask.width == 40 && mask.height == 40)
        }
        #expect(throws: (any Error).self) {
            try SyntheticDataset.generate(out: images, masks: nil, perClass: 0, seed: 4, size: 40)
        }
        #expect(throws: ImageError.self) { try SyntheticLeaves.render(disease: .rust, seed: 0, index: 0, size: 8) }
    }
}
