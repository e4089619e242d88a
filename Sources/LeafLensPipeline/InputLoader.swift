import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel

/// One command-line input, ready for the model.
public struct LoadedInput: Sendable {
    public enum Kind: String, Codable, Sendable { case image, npy }

    public var path: String
    public var kind: Kind
    /// `[1, 3, H, W]`, normalized.
    public var tensor: Tensor<Float>
    /// The picture the tensor shows (the resized, cropped image; for `.npy` the denormalized tensor).
    public var displayImage: RGBImage

    public init(path: String, kind: Kind, tensor: Tensor<Float>, displayImage: RGBImage) {
        self.path = path
        self.kind = kind
        self.tensor = tensor
        self.displayImage = displayImage
    }

    /// `[H, W]` of the network input.
    public var spatialShape: [Int] { Array(tensor.shape.dropFirst(2)) }
}

/// Reads command-line inputs: `.png`, `.jpg`, `.jpeg` (decoded and preprocessed) and `.npy`
/// (a preprocessed float tensor `[3, H, W]` or `[1, 3, H, W]`).
///
/// The type comes from the file's leading bytes; the extension only chooses the error message when the
/// content is not recognised (so a JPEG saved as `.png` still loads, and a text file named `.png` is
/// reported as "not a PNG or JPEG image").
public struct InputLoader: Sendable {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
    static let npyMagic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// The default of `maxPixels`: images whose header announces more are refused before decoding.
    public static let defaultMaxPixels = ImageDecoder.defaultMaxPixels

    /// How images are resized and cropped (`.npy` inputs ignore it).
    public var size: InputSize
    public var maxPixels: Int

    public init(size: InputSize, maxPixels: Int = InputLoader.defaultMaxPixels) {
        self.size = size
        self.maxPixels = maxPixels
    }

    /// torchvision's evaluation transform at `size`.
    var preprocessor: ImagePreprocessor { ImagePreprocessor(resizeShorterSide: size.resize, cropSize: size.crop) }

    /// Reads one input file.
    public func load(_ path: String) throws -> LoadedInput {
        try Self.load(path, preprocessor: preprocessor, maxPixels: maxPixels)
    }

    static func load(_ path: String, preprocessor: ImagePreprocessor, maxPixels: Int) throws -> LoadedInput {
        let url = URL(fileURLWithPath: path)
        guard !FileAccess.isMissing(url.path) else { throw PipelineError("\(path): no such file") }
        let data: Data
        do { data = try FileAccess.readRegularFile(url) } catch {
            // The OS's reason: a directory, a FIFO or device, ELOOP, a dangling link, a parent that is a file.
            throw PipelineError("\(path): \(error.problem)")
        }
        let ext = url.pathExtension.lowercased()
        if data.starts(with: npyMagic) { return try loadNPY(data, path: path) }
        if ImageFormat.sniff(data) != nil || imageExtensions.contains(ext) {
            return try loadImage(data, path: path, preprocessor: preprocessor, maxPixels: maxPixels)
        }
        if ext == "npy" { return try loadNPY(data, path: path) }  // reports what is wrong with it
        let shown = ext.isEmpty ? "no extension" : "'.\(ext)'"
        throw PipelineError(
            "\(path): unsupported input (\(shown), content is neither PNG, JPEG nor .npy); expected .png, .jpg, .jpeg or .npy"
        )
    }

    static func loadImage(
        _ data: Data, path: String, preprocessor: ImagePreprocessor, maxPixels: Int
    ) throws
        -> LoadedInput
    {
        do throws(ImageError) {
            let image = try ImageDecoder.decode(data, source: path, maxPixels: maxPixels)
            let output = try preprocessor(image)
            return LoadedInput(path: path, kind: .image, tensor: output.batch, displayImage: output.displayImage)
        } catch {
            // Preprocessing errors name "<preprocessor>"/"<memory>"; say which input they concern.
            throw PipelineError(error.source == path ? error.description : "\(path): \(error.description)")
        }
    }

    static func loadNPY(_ data: Data, path: String) throws -> LoadedInput {
        let tensor: Tensor<Float>
        do { tensor = try NPY.decode(data, source: path) } catch { throw PipelineError(error.description) }
        let shape = tensor.shape
        let item: Tensor<Float>
        if shape.count == 3, shape[0] == 3 {
            item = tensor
        } else if shape.count == 4, shape[0] == 1, shape[1] == 3 {
            item = try tensor.reshaped(Array(shape.dropFirst()))
        } else {
            throw PipelineError("\(path): expected a tensor of shape [3, H, W] or [1, 3, H, W], found \(shape)")
        }
        guard item.shape[1] >= 1, item.shape[2] >= 1 else {
            throw PipelineError("\(path): the tensor \(shape) has no pixels")
        }
        guard item.storage.allSatisfy(\.isFinite) else {
            throw PipelineError("\(path): the tensor contains NaN or infinite values")
        }
        // Shown under attribution maps: undo the ImageNet normalization the tensor is assumed to carry.
        let display: RGBImage
        do { display = try ImagePreprocessor.standard.denormalize(item) } catch {
            throw PipelineError("\(path): \(error.description)")
        }
        return LoadedInput(path: path, kind: .npy, tensor: try item.reshaped([1] + item.shape), displayImage: display)
    }

    /// A `[3, H, W]` or `[1, 3, H, W]` tensor file (e.g. an Integrated Gradients baseline) as
    /// `[1, 3, H, W]`; `role` names the option in messages ("--baseline").
    public static func loadTensor(_ path: String, role: String) throws -> Tensor<Float> {
        guard !FileAccess.isMissing(path) else { throw PipelineError("\(path): no such file (\(role))") }
        let data: Data
        do { data = try FileAccess.readRegularFile(URL(fileURLWithPath: path)) } catch {
            throw PipelineError("\(error.description) (\(role))")
        }
        return try loadNPY(data, path: path).tensor
    }

    /// The file name without directory and extension, for output names.
    public static func stem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
}
