import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import LeafLensTraining
import Testing

@Suite struct ImageFolderTests {
    /// The 38 PlantVillage folder names (spaces, commas, parentheses, a trailing underscore, lower-case
    /// "healthy") created in reverse order come back in torchvision's byte order.
    @Test func plantVillageNamesSortLikeTorchvision() throws {
        let root = try FixturePaths.temporaryDirectory("imagefolder")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try PNGWriter.encode(RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12)))
        for name in PlantVillage.labels.reversed() {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try png.write(to: folder.appendingPathComponent("a.png"))
        }
        let dataset = try ImageFolder(root: root)
        #expect(dataset.classes == PlantVillage.labels)
        #expect(dataset.samples.map(\.label) == Array(0..<38))
        #expect(dataset.samples[8].relativePath == "Corn_(maize)___Common_rust_/a.png")
    }

    /// PNG and JPEG (any case of extension, nested folders) are found; other files and hidden entries are not.
    @Test func findsPNGAndJPEGRecursively() throws {
        let root = try FixturePaths.temporaryDirectory("imagefolder")
        defer { try? FileManager.default.removeItem(at: root) }
        let manager = FileManager.default
        for folder in ["b", "a/nested", ".hidden"] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let jpeg = FixturePaths.fixture("imaging/images/jpg_baseline444_50x40.jpg")
        let png = FixturePaths.fixture("imaging/images/png_rgb8_300x200.png")
        try manager.copyItem(at: jpeg, to: root.appendingPathComponent("a/nested/x.JPG"))
        try manager.copyItem(at: png, to: root.appendingPathComponent("a/y.png"))
        try manager.copyItem(at: jpeg, to: root.appendingPathComponent("b/z.jpeg"))
        try Data("not an image".utf8).write(to: root.appendingPathComponent("b/notes.txt"))
        try manager.copyItem(at: png, to: root.appendingPathComponent(".hidden/w.png"))
        let dataset = try ImageFolder(root: root)
        #expect(dataset.classes == ["a", "b"])
        #expect(dataset.samples.map(\.relativePath) == ["a/nested/x.JPG", "a/y.png", "b/z.jpeg"])
        #expect(dataset.samples.map(\.label) == [0, 0, 1])
        // Both formats decode through the evaluation transform to [3, 32, 32].
        let loader = BatchLoader(dataset: dataset, transform: .evaluation(resize: 32, size: 32), batchSize: 3, seed: 0)
        loader.startEpoch(0, shuffle: false)
        #expect(try loader.batch(0).inputs.shape == [3, 3, 32, 32])
    }

    @Test func errorsNameThePath() throws {
        #expect(throws: DatasetError.notADirectory("/nonexistent-leaflens")) {
            try ImageFolder(root: URL(fileURLWithPath: "/nonexistent-leaflens"))
        }
        let root = try FixturePaths.temporaryDirectory("imagefolder")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(throws: DatasetError.noClasses(root.path)) { try ImageFolder(root: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        #expect(throws: DatasetError.emptyClass(root.appendingPathComponent("empty").path)) {
            try ImageFolder(root: root)
        }
    }

    /// A validation folder is labelled with the training classes; an unknown class is an error.
    @Test func validationFolderUsesTrainingClasses() throws {
        let root = try FixturePaths.temporaryDirectory("imagefolder")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try PNGWriter.encode(RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 9, count: 12)))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("c"), withIntermediateDirectories: true)
        try png.write(to: root.appendingPathComponent("c/1.png"))
        let dataset = try ImageFolder(root: root, classes: ["a", "b", "c"])
        #expect(dataset.samples.map(\.label) == [2])
        #expect(throws: DatasetError.self) { try ImageFolder(root: root, classes: ["a", "b"]) }
    }

    static func syntheticFolder(classes: Int, perClass: Int) -> ImageFolder {
        let names = (0..<classes).map { "class\($0)" }
        var samples: [ImageFolder.Sample] = []
        for c in 0..<classes {
            for i in 0..<perClass {
                samples.append(
                    .init(url: URL(fileURLWithPath: "/x/\(c)/\(i)"), relativePath: "\(names[c])/\(i).png", label: c))
            }
        }
        return ImageFolder(root: URL(fileURLWithPath: "/x"), classes: names, samples: samples)
    }

    /// Stratified: every class keeps round(f·n) (≥ 1) validation images; the split is seeded and disjoint.
    @Test func stratifiedSplitIsSeededAndDisjoint() throws {
        let data = Self.syntheticFolder(classes: 3, perClass: 10)
        let (train, validation) = try data.split(validationFraction: 0.2, seed: 5)
        #expect(validation.classCounts == [2, 2, 2])
        #expect(train.classCounts == [8, 8, 8])
        #expect(Set(train.samples.map(\.relativePath)).isDisjoint(with: validation.samples.map(\.relativePath)))
        let again = try data.split(validationFraction: 0.2, seed: 5)
        #expect(again.validation.samples == validation.samples)
        let other = try data.split(validationFraction: 0.2, seed: 6)
        #expect(other.validation.samples != validation.samples)
        let tiny = try Self.syntheticFolder(classes: 2, perClass: 2).split(validationFraction: 0.05, seed: 1)
        #expect(tiny.validation.classCounts == [1, 1])
        #expect(throws: DatasetError.self) { try data.split(validationFraction: 1, seed: 0) }
    }
}

@Suite struct ImageTransformTests {
    /// RandomResizedCrop boxes stay inside the image and cover scale·area within rounding;
    /// the evaluation transform equals ImagePreprocessor.
    @Test func randomResizedCropBoxes() {
        var rng = SeededRandom(seed: 3)
        for _ in 0..<200 {
            let box = ImageTransform.randomResizedCropBox(width: 120, height: 90, scale: 0.3...1, &rng)
            #expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= 120 && box.y + box.height <= 90)
            let share = Double(box.width * box.height) / Double(120 * 90)
            #expect(share >= 0.27 && share <= 1)
        }
    }

    @Test func trainingTransformIsSeededAndFlips() throws {
        let sample = try SyntheticLeaves.render(disease: .rust, seed: 1, index: 0, size: 48)
        var a = SeededRandom(seed: 9), b = SeededRandom(seed: 9)
        let t = ImageTransform.training(size: 40, scale: 0.5...1, flip: true)
        #expect(try t.apply(sample.image, &a) == t.apply(sample.image, &b))
        let flipped = sample.image.flippedHorizontally()
        #expect(flipped[0, 0] == sample.image[47, 0])
        #expect(flipped.flippedHorizontally() == sample.image)
        var rng = SeededRandom(seed: 0)
        let evaluation = try ImageTransform.evaluation(resize: 44, size: 40).apply(sample.image, &rng)
        #expect(evaluation == (try ImagePreprocessor(resizeShorterSide: 44, cropSize: 40)(sample.image).tensor))
    }
}
