import Foundation
import LeafLensMath

/// Reads one command-line input into a `[1, 3, H, W]` tensor.
///
/// `.npy` files hold an already preprocessed float tensor `[3, H, W]` or `[1, 3, H, W]`.
enum InputLoader {
    static func load(_ path: String) throws -> Tensor<Float> {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else { throw RuntimeError("\(path): no such file") }
        switch url.pathExtension.lowercased() {
        case "npy":
            let tensor: Tensor<Float>
            do { tensor = try NPY.read(url, as: Float.self) } catch { throw RuntimeError(error.description) }
            let shape = tensor.shape
            if shape.count == 3 && shape[0] == 3 {
                return try tensor.reshaped([1] + shape)
            }
            if shape.count == 4 && shape[0] == 1 && shape[1] == 3 {
                return tensor
            }
            throw RuntimeError("\(path): expected a tensor of shape [3, H, W] or [1, 3, H, W], found \(shape)")
        default:
            throw RuntimeError("\(path): unsupported input type '.\(url.pathExtension)' (expected .npy)")
        }
    }

    /// The file name without directory and extension, for output names.
    static func stem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
}
