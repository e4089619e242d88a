import ArgumentParser
import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel

/// How image inputs become network inputs (torchvision's evaluation transform, sizes configurable).
/// `.npy` inputs are already preprocessed and ignore these options.
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
    var maxPixels: Int = ImageDecoder.defaultMaxPixels

    static let defaultResize = 256

    func validate() throws {
        if noResize, resize != nil { throw ValidationError("--resize and --no-resize cannot be used together") }
        if let resize, !(1...16_384).contains(resize) { throw ValidationError("--resize must be in 1...16384, got \(resize)") }
        if let crop, !(1...16_384).contains(crop) { throw ValidationError("--crop must be in 1...16384, got \(crop)") }
        guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels)") }
    }

    static let defaultCrop = 224

    /// Sizes for `model`: the options when given, else what `leaflens train` recorded in the weights file
    /// (`resize`, `image_size`), else torchvision's standard 256 / 224.
    func sizes(for model: ResNet18<Float>) -> (resize: Int?, crop: Int) {
        let storedResize = model.metadata["resize"].flatMap { Int($0) }.flatMap { (1...16_384).contains($0) ? $0 : nil }
        let storedCrop = model.metadata["image_size"].flatMap { Int($0) }.flatMap { (1...16_384).contains($0) ? $0 : nil }
        return (noResize ? nil : (resize ?? storedResize ?? Self.defaultResize), crop ?? storedCrop ?? Self.defaultCrop)
    }

    func preprocessor(for model: ResNet18<Float>) -> ImagePreprocessor {
        let (resize, crop) = sizes(for: model)
        return ImagePreprocessor(resizeShorterSide: resize, cropSize: crop)
    }
}

/// One command-line input, ready for the model.
struct LoadedInput {
    enum Kind: String, Codable { case image, npy }

    var path: String
    var kind: Kind
    /// `[1, 3, H, W]`, normalized.
    var tensor: Tensor<Float>
    /// The picture the tensor shows (the resized, cropped image; for `.npy` the denormalized tensor).
    var displayImage: RGBImage
}

/// Reads command-line inputs: `.png`, `.jpg`, `.jpeg` (decoded and preprocessed) and `.npy`
/// (a preprocessed float tensor `[3, H, W]` or `[1, 3, H, W]`).
///
/// The type comes from the file's leading bytes; the extension only chooses the error message when the
/// content is not recognised (so a JPEG saved as `.png` still loads, and a text file named `.png` is
/// reported as "not a PNG or JPEG image").
enum InputLoader {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
    static let npyMagic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    static func load(_ path: String, preprocessor: ImagePreprocessor, maxPixels: Int) throws -> LoadedInput {
        let url = URL(fileURLWithPath: path)
        guard !isMissing(url.path) else { throw RuntimeError("\(path): no such file") }
        let data: Data
        do { data = try FileAccess.readRegularFile(url) } catch {
            // The OS's reason: no such file, a directory, a FIFO or device, ELOOP, a parent that is a file.
            throw RuntimeError("\(path): \(error.problem)")
        }
        let ext = url.pathExtension.lowercased()
        if data.starts(with: npyMagic) { return try loadNPY(data, path: path) }
        if ImageFormat.sniff(data) != nil || imageExtensions.contains(ext) {
            return try loadImage(data, path: path, preprocessor: preprocessor, maxPixels: maxPixels)
        }
        if ext == "npy" { return try loadNPY(data, path: path) }  // reports what is wrong with it
        let shown = ext.isEmpty ? "no extension" : "'.\(ext)'"
        throw RuntimeError(
            "\(path): unsupported input (\(shown), content is neither PNG, JPEG nor .npy); expected .png, .jpg, .jpeg or .npy")
    }

    static func loadImage(_ data: Data, path: String, preprocessor: ImagePreprocessor, maxPixels: Int) throws
        -> LoadedInput
    {
        do throws(ImageError) {
            let image = try ImageDecoder.decode(data, source: path, maxPixels: maxPixels)
            let output = try preprocessor(image)
            return LoadedInput(path: path, kind: .image, tensor: output.batch, displayImage: output.displayImage)
        } catch {
            // Preprocessing errors name "<preprocessor>"/"<memory>"; say which input they concern.
            throw RuntimeError(error.source == path ? error.description : "\(path): \(error.description)")
        }
    }

    static func loadNPY(_ data: Data, path: String) throws -> LoadedInput {
        let tensor: Tensor<Float>
        do { tensor = try NPY.decode(data, source: path) } catch { throw RuntimeError(error.description) }
        let shape = tensor.shape
        let item: Tensor<Float>
        if shape.count == 3, shape[0] == 3 {
            item = tensor
        } else if shape.count == 4, shape[0] == 1, shape[1] == 3 {
            item = try tensor.reshaped(Array(shape.dropFirst()))
        } else {
            throw RuntimeError("\(path): expected a tensor of shape [3, H, W] or [1, 3, H, W], found \(shape)")
        }
        guard item.shape[1] >= 1, item.shape[2] >= 1 else {
            throw RuntimeError("\(path): the tensor \(shape) has no pixels")
        }
        guard item.storage.allSatisfy(\.isFinite) else {
            throw RuntimeError("\(path): the tensor contains NaN or infinite values")
        }
        // Shown under attribution maps: undo the ImageNet normalization the tensor is assumed to carry.
        let display: RGBImage
        do { display = try ImagePreprocessor.standard.denormalize(item) } catch {
            throw RuntimeError("\(path): \(error.description)")
        }
        return LoadedInput(path: path, kind: .npy, tensor: try item.reshaped([1] + item.shape), displayImage: display)
    }

    /// The file name without directory and extension, for output names.
    static func stem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
}
