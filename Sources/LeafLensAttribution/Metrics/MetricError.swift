/// Errors the faithfulness metrics throw for options or inputs that do not fit. Every case names the
/// value (and, for files, the file) that is wrong.
public enum MetricError: Error, Equatable, CustomStringConvertible {
    /// A metric name that `FaithfulnessMetric` does not know.
    case unknownMetric(String, available: [String])
    /// A deletion/insertion step outside 1…pixels.
    case invalidStep(step: Int, pixels: Int)
    /// An option out of its range (message names it).
    case invalidOption(String)
    /// Tensors or maps whose shapes do not fit together (message names both).
    case shapeMismatch(String)
    /// A mask whose size differs from the image it belongs to.
    case maskSizeMismatch(file: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
    /// Images without a mask file in the mask directory: the first few missing names and the count.
    case missingMasks(directory: String, missing: [String], count: Int, total: Int)

    public var description: String {
        switch self {
        case .unknownMetric(let name, let available):
            "unknown metric '\(name)'; available: \(available.joined(separator: ", ")) (or 'all')"
        case .invalidStep(let step, let pixels):
            "metric step \(step) is outside 1…\(pixels) (the image's pixel count)"
        case .invalidOption(let message): message
        case .shapeMismatch(let message): message
        case .maskSizeMismatch(let file, let w, let h, let ew, let eh):
            "mask '\(file)' is \(w)×\(h) but its image is \(ew)×\(eh)"
        case .missingMasks(let directory, let missing, let count, let total):
            "\(count) of \(total) images have no mask in '\(directory)': "
                + missing.joined(separator: ", ") + (count > missing.count ? ", …" : "")
        }
    }
}
