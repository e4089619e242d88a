import Foundation
import LeafLensTestSupport
import Testing

/// `leaflens convert`: prints the reader's decisions, writes the output atomically, and on a bad input
/// exits 1 naming the file and the problem, leaving no output behind.
@Suite("Convert")
struct ConvertTests {
    static func fixture(_ name: String) -> String { FixturePaths.fixture("checkpoints/\(name)").path }

    @Test func convertsACheckpointDictAndPrintsTheDecisions() throws {
        let directory = try FixturePaths.temporaryDirectory("convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("m.safetensors").path
        let result = try CLI.run(["convert", Self.fixture("state_dict_dataparallel.pth"), "-o", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("found a state_dict of 122 tensors at 'state_dict'"))
        #expect(result.stdout.contains("stripped the key prefix 'module.'"))
        #expect(result.stdout.contains("labels: 3 class names from 'classes'"))
        #expect(result.stdout.contains("wrote \(out): resnet18, 3 classes, width 2"))
        #expect(FileManager.default.fileExists(atPath: out))
        // The converted file drives the other commands as usual.
        let image = directory.appendingPathComponent("leaf.png")
        try TestFiles.png(width: 64, height: 64).write(to: image)
        let classify = try CLI.run(["classify", "--weights", out, "--top", "3", image.path])
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(["Tomato___healthy", "Tomato___Late_blight", "Apple___scab"].contains { classify.stdout.contains($0) })
    }

    @Test func hostileInputFailsCleanly() throws {
        let directory = try FixturePaths.temporaryDirectory("convert")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("x.safetensors").path
        let result = try CLI.run(["convert", Self.fixture("hostile/os_system.pth"), "-o", out])
        #expect(result.status == 1)
        #expect(result.stderr.contains("os_system.pth") && result.stderr.contains("GLOBAL os.system is refused"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func outputMustBeSafetensors() throws {
        let result = try CLI.run(["convert", Self.fixture("plain.pth"), "-o", "x.pth"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--output must name a .safetensors file"))
    }
}
