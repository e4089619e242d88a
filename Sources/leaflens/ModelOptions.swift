import ArgumentParser
import Foundation
import LeafLensMath
import LeafLensModel

/// Options every command that runs the model shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "ResNet18 weights (.safetensors, torchvision names). Default: the bundled model.")
    var weights: String?

    @Option(name: .long, help: "Class labels, one per line; overrides the labels stored in the weights file.")
    var labels: String?

    /// The weights file for messages and records: its path, or "bundled default".
    var weightsDescription: String { weights ?? "bundled default" }

    /// Loads the model named by the options, or the bundled default.
    func loadModel() throws -> ResNet18<Float> {
        var labelList: [String]? = nil
        if let labels {
            guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else {
                throw RuntimeError("\(labels): cannot read the labels file")
            }
            labelList = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            while labelList?.last == "" { labelList?.removeLast() }
        }
        let url: URL
        if let weights {
            url = URL(fileURLWithPath: weights)
        } else {
            guard let bundled = DefaultModel.location else {
                throw RuntimeError("the bundled default model was not found; pass --weights FILE")
            }
            url = bundled
        }
        // Nothing at all there; anything else (a loop, a dangling link, a FIFO) the reader explains.
        guard !isMissing(url.path) else { throw RuntimeError("\(url.path): no such file") }
        do {
            return try ResNet18<Float>.load(contentsOf: url, labels: labelList)
        } catch {
            throw RuntimeError(error.description)
        }
    }
}

/// Where the bundled default model lives: beside the executable (SwiftPM copies the resource bundle
/// there), or in the source tree for a development build. Never traps if it is missing.
enum DefaultModel {
    static let fileName = "default.safetensors"

    static var location: URL? {
        var candidates: [URL] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let directory = executable.deletingLastPathComponent()
        candidates.append(directory.appendingPathComponent("LeafLens_leaflens.resources/\(fileName)"))
        candidates.append(directory.appendingPathComponent("../share/leaflens/\(fileName)"))
        candidates.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/\(fileName)"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
