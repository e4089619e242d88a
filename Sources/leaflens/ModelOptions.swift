import ArgumentParser
import Foundation
import LeafLensPipeline

/// Options every command that runs the model shares.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "ResNet weights: LeafLens .safetensors, or a PyTorch checkpoint (.pth/.pt/.bin) read natively. Default: the bundled model."
    )
    var weights: String?

    @Option(name: .long, help: "Class labels, one per line; overrides the labels stored in the weights file.")
    var labels: String?

    var source: ModelSource { ModelSource(weights: weights, labelsFile: labels, bundled: DefaultModel.location) }

    /// Loads the model named by the options, or the bundled default.
    /// A checkpoint converted in memory prints the reader's decisions on standard error.
    func loadModel() throws -> LoadedModel {
        let model = try source.load()
        for note in model.notes { warn("leaflens: \(weights ?? "weights"): \(note)") }
        return model
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

/// How image inputs become network inputs (torchvision's evaluation transform; the sizes follow the
/// pipeline's one `InputSize` rule). `.npy` inputs are already preprocessed and ignore these options.
struct PreprocessOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Resize images so the shorter side is N pixels (PIL bilinear, antialiased) before cropping "
                + "(default: the size recorded in the weights file, else 256).",
            valueName: "N"))
    var resize: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Center-crop images to N×N pixels after resizing (default: the size recorded in the weights file, else 224).",
            valueName: "N"))
    var crop: Int?

    @Flag(name: .customLong("no-resize"), help: "Do not resize images; only center-crop them.")
    var noResize = false

    @Option(
        name: .customLong("max-pixels"),
        help: ArgumentHelp("Refuse images whose header announces more than N pixels, before decoding.", valueName: "N"))
    var maxPixels: Int = InputLoader.defaultMaxPixels

    func validate() throws {
        if noResize, resize != nil { throw ValidationError("--resize and --no-resize cannot be used together") }
        if let resize, !InputSize.allowed.contains(resize) {
            throw ValidationError("--resize must be in 1...16384, got \(resize)")
        }
        if let crop, !InputSize.allowed.contains(crop) {
            throw ValidationError("--crop must be in 1...16384, got \(crop)")
        }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
    }

    /// The loader for `model`: these options over the sizes its weights file records.
    func loader(for model: LoadedModel) -> InputLoader {
        InputLoader(
            size: InputSize.resolve(resize: resize, crop: crop, noResize: noResize, metadata: model.metadata),
            maxPixels: maxPixels)
    }
}

/// An option's old spelling, kept working (hidden from help) for one release: `--image-size` for
/// `--crop`, `--batch` for `--batch-size`, …. Resolves the two into one value.
func renamed<Value: Equatable>(_ value: Value?, old: Value?, name: String, oldName: String) throws -> Value? {
    if let value, let old, value != old {
        throw ValidationError("\(name) and \(oldName) (its old name) disagree; give \(name) only")
    }
    return value ?? old
}
