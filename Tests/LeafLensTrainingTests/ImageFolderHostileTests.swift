import Foundation
import LeafLensMath
import LeafLensTestSupport
import LeafLensTraining
import Testing

/// Issue 10 #4: cycle-safe, regular-files-only listing. Fails before the fix: `healthy/up -> ..` made
/// the scan revisit the root (other classes' images under the wrong label, and many duplicates), and a
/// FIFO named `*.png` was listed as an image.
@Suite struct ImageFolderHostileTests {
    private func makeFolder() throws -> URL {
        let root = try FixturePaths.temporaryDirectory("imagefolder-hostile")
        let manager = FileManager.default
        let png = FixturePaths.fixture("imaging/images/png_gray1_37x21.png")
        for (folder, count) in [("healthy", 2), ("rust", 3)] {
            try manager.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
            for i in 0..<count {
                try manager.copyItem(at: png, to: root.appendingPathComponent("\(folder)/leaf-\(i).png"))
            }
        }
        return root
    }

    @Test func linkBackToAnAncestorIsReportedAndSkipped() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("healthy/up").path, withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("rust/same-as-healthy").path, withDestinationPath: "../healthy")
        let dataset = try ImageFolder(root: root)
        #expect(
            dataset.samples.map(\.relativePath)
                == [
                    "healthy/leaf-0.png", "healthy/leaf-1.png", "rust/leaf-0.png", "rust/leaf-1.png", "rust/leaf-2.png",
                ])
        #expect(dataset.classCounts == [2, 3])
        #expect(
            dataset.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent }.sorted() == [
                "same-as-healthy", "up",
            ])
        #expect(dataset.skipped.allSatisfy { $0.reason.contains("already listed") })
    }

    @Test func linksToFilesAndNewDirectoriesAreFollowed() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let outside = try FixturePaths.temporaryDirectory("imagefolder-outside")
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.copyItem(
            at: FixturePaths.fixture("imaging/images/png_gray2_29x13.png"), to: outside.appendingPathComponent("o.png"))
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("rust/extra").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("healthy/linked.png").path,
            withDestinationPath: outside.appendingPathComponent("o.png").path)
        let dataset = try ImageFolder(root: root)
        #expect(dataset.samples.map(\.relativePath).contains("rust/extra/o.png"))
        #expect(dataset.samples.map(\.relativePath).contains("healthy/linked.png"))
        #expect(dataset.skipped.isEmpty)
    }

    @Test func specialFilesAndBrokenLinksAreNeverListed() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(mkfifo(root.appendingPathComponent("rust/fifo.png").path, 0o644) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("rust/dangling.png").path, withDestinationPath: "nowhere.png")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("rust/loop.png").path, withDestinationPath: "loop.png")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("healthy/null.png").path, withDestinationPath: "/dev/null")
        let dataset = try ImageFolder(root: root)
        #expect(dataset.classCounts == [2, 3])
        let reasons = Dictionary(
            uniqueKeysWithValues: dataset.skipped.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.reason) })
        #expect(reasons["fifo.png"] == "a FIFO (named pipe), not a regular file")
        #expect(reasons["null.png"] == "a character device, not a regular file")
        #expect(reasons["dangling.png"] == "dangling symbolic link")
        #expect(reasons["loop.png"] == "symbolic link loop (ELOOP)")
    }
}

/// Issue 10 #3, checkpoints: a model file never exists without its state, and `resume` names an
/// interrupted checkpoint as such. Fails before the fix: the model was written first and `--resume`
/// said only "file does not exist" about the missing state.
@Suite(.serialized) struct CheckpointInterruptionTests {
    @Test func stateIsWrittenBeforeTheModelAndInterruptedCheckpointsAreNamed() throws {
        let root = try FixturePaths.temporaryDirectory("checkpoint-interrupted")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try SyntheticDataset.generate(
            out: root.appendingPathComponent("data"), masks: nil, perClass: 2, seed: 5, size: 32,
            classes: [.healthy, .rust])
        let data = try ImageFolder(root: root.appendingPathComponent("data"))
        let model = try TrainingSetup.freshModel(width: 2, labels: data.classes, seed: 1)
        let options = TrainingOptions(
            mode: .full, epochs: 1, batchSize: 4, learningRate: 0.01, optimizer: OptimizerSettings(kind: .sgd), seed: 1,
            imageSize: 32, resize: 32, augment: false)
        let checkpoints = root.appendingPathComponent("ckpt")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let trainer = try Trainer(
            model: model, train: data, validation: nil, options: options, checkpointDirectory: checkpoints)
        try trainer.run()
        let checkpoint = checkpoints.appendingPathComponent("epoch-001.safetensors")
        let state = Trainer.stateURL(for: checkpoint)
        let stateModified = try #require(
            try FileManager.default.attributesOfItem(atPath: state.path)[.modificationDate] as? Date)
        let modelModified = try #require(
            try FileManager.default.attributesOfItem(atPath: checkpoint.path)[.modificationDate] as? Date)
        #expect(stateModified <= modelModified)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted()
                == ["epoch-001.safetensors", "epoch-001.state.safetensors", "model.safetensors"])

        func resumeProblem() -> String {
            do {
                try Trainer(model: model, train: data, validation: nil, options: options, checkpointDirectory: nil)
                    .resume(from: checkpoint)
                return "resumed"
            } catch { return "\(error)" }
        }
        #expect(resumeProblem() == "resumed")
        // Interrupted between the state and the model (what a SIGTERM can leave).
        let saved = try Data(contentsOf: checkpoint)
        try FileManager.default.removeItem(at: checkpoint)
        #expect(resumeProblem().contains("checkpoint was interrupted while being written"), "\(resumeProblem())")
        // A model without its state (older LeafLens versions wrote the model first).
        try saved.write(to: checkpoint)
        try FileManager.default.removeItem(at: state)
        #expect(
            resumeProblem().contains("incomplete checkpoint: its state file epoch-001.state.safetensors is missing"))
    }
}
