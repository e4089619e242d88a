import Foundation

/// Leaf-versus-background masks derived from PlantVillage's segmented images (the leaf on a black
/// background, `raw/segmented/<class>/<name>_final_masked.jpg`), and where attribution mass falls.
///
/// **Derivation.** A pixel is leaf when max(R, G, B) > `threshold` (default 24 of 255: the background
/// is black but JPEG ringing lifts it to ~10–20 near the leaf's edge). Then, 8-connected:
/// 1. leaf components smaller than `minimumSpeck` pixels (default 0.1 % of the image) are background —
///    isolated bright specks of compression noise;
/// 2. background components that do not touch the image border are leaf — holes inside the leaf, which
///    dark lesions (black rot, late blight) would otherwise cut out.
/// The mask must be in the network input's frame: decode and transform the segmented image exactly as
/// its photo (resize, centre crop) before calling `fromSegmented`.
public enum LeafMask {
    public static let defaultThreshold: UInt8 = 24
    public static let defaultSpeckFraction = 0.001
    /// PlantVillage's segmented layout.
    public static let plantVillageSuffix = "_final_masked.jpg"

    /// The mask file name for an image: its name without extension + `suffix` (an empty suffix keeps
    /// the image's own file name). `leaf_001.JPG` + `_final_masked.jpg` → `leaf_001_final_masked.jpg`.
    /// A suffix without an image extension takes the image's (`leaf_001.JPG` + `_final_masked` →
    /// `leaf_001_final_masked.JPG`); `maskFileCandidates` lists the other names then tried.
    public static func maskFileName(forImage name: String, suffix: String) -> String {
        maskFileCandidates(forImage: name, suffix: suffix)[0]  // safe: never empty
    }

    /// Image extensions a suffix may end in; a suffix that ends in none of them gets one.
    public static let maskExtensions = ["png", "jpg", "jpeg"]

    /// The names a mask may have, in the order they are tried: with an empty suffix the image's own
    /// name; with a suffix that ends in an image extension (`_final_masked.jpg`) stem + suffix; with
    /// any other suffix (`_final_masked`) stem + suffix + the image's extension, then `.jpg`, `.JPG`,
    /// `.jpeg`, `.png`, `.PNG` — so `--mask-suffix _final_masked` finds PlantVillage's
    /// `<name>_final_masked.jpg` beside `<name>.JPG`.
    public static func maskFileCandidates(forImage name: String, suffix: String) -> [String] {
        if suffix.isEmpty { return [name] }
        let stem = (name as NSString).deletingPathExtension
        if maskExtensions.contains((suffix as NSString).pathExtension.lowercased()) { return [stem + suffix] }
        var names: [String] = []
        let own = (name as NSString).pathExtension
        for ext in [own, "jpg", "JPG", "jpeg", "png", "PNG"] where !ext.isEmpty {
            let candidate = stem + suffix + "." + ext
            if !names.contains(candidate) { names.append(candidate) }
        }
        return names.isEmpty ? [stem + suffix] : names
    }

    /// The mask URL of every image, given as a path relative to the data folder (`class/file.jpg`);
    /// masks sit at the same relative folder under `directory`. Throws `MetricError.missingMasks`
    /// naming the first five missing files and the count when any is missing (a suffix without an
    /// extension shows as `<stem><suffix>.*`), and `.invalidOption` when `directory` is not a folder.
    public static func locateMasks(images: [String], directory: URL, suffix: String) throws(MetricError) -> [URL] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw .invalidOption("mask folder '\(directory.path)' does not exist or is not a folder")
        }
        var urls: [URL] = [], missing: [String] = []
        for image in images {
            let folder = (image as NSString).deletingLastPathComponent
            let names = maskFileCandidates(forImage: (image as NSString).lastPathComponent, suffix: suffix)
            let relative = names.map { folder.isEmpty ? $0 : folder + "/" + $0 }
            if let found = relative.lazy.map({ directory.appendingPathComponent($0) })
                .first(where: { FileManager.default.fileExists(atPath: $0.path) })
            {
                urls.append(found)
            } else if names.count > 1 {
                let stem = ((image as NSString).lastPathComponent as NSString).deletingPathExtension
                missing.append((folder.isEmpty ? "" : folder + "/") + stem + suffix + ".*")
            } else {
                missing.append(relative[0])  // safe: one name
            }
        }
        if !missing.isEmpty {
            throw .missingMasks(
                directory: directory.path, missing: Array(missing.prefix(5)), count: missing.count, total: images.count)
        }
        return urls
    }

    /// The leaf mask (`true` = leaf) of interleaved RGB bytes, row-major.
    public static func fromSegmented(
        rgb: [UInt8], width: Int, height: Int, threshold: UInt8 = defaultThreshold, minimumSpeck: Int? = nil
    ) throws(MetricError) -> [Bool] {
        guard width > 0, height > 0, rgb.count == width * height * 3 else {
            throw .shapeMismatch("segmented image has \(rgb.count) bytes, expected \(width)×\(height)×3")
        }
        var leaf = (0..<(width * height)).map { p in max(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) > threshold }
        let speck = minimumSpeck ?? max(1, Int((Double(width * height) * defaultSpeckFraction).rounded()))
        for component in components(of: leaf, value: true, width: width, height: height)
        where component.pixels.count < speck {
            for p in component.pixels { leaf[p] = false }
        }
        for component in components(of: leaf, value: false, width: width, height: height) where !component.touchesBorder
        {
            for p in component.pixels { leaf[p] = true }
        }
        return leaf
    }

    /// Checks that a mask decoded from `file` is `width`×`height`.
    public static func checkSize(
        file: String, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int
    )
        throws(MetricError)
    {
        guard width == expectedWidth, height == expectedHeight else {
            throw .maskSizeMismatch(
                file: file, width: width, height: height,
                expectedWidth: expectedWidth, expectedHeight: expectedHeight)
        }
    }

    /// 8-connected components of the pixels equal to `value`.
    static func components(
        of mask: [Bool], value: Bool, width: Int, height: Int
    )
        -> [(pixels: [Int], touchesBorder: Bool)]
    {
        var seen = [Bool](repeating: false, count: mask.count)
        var result: [(pixels: [Int], touchesBorder: Bool)] = []
        for start in mask.indices where mask[start] == value && !seen[start] {
            var stack = [start], pixels: [Int] = [], border = false
            seen[start] = true
            while let p = stack.popLast() {
                pixels.append(p)
                let (y, x) = (p / width, p % width)
                if y == 0 || x == 0 || y == height - 1 || x == width - 1 { border = true }
                for dy in -1...1 {
                    for dx in -1...1 where dy != 0 || dx != 0 {
                        let (ny, nx) = (y + dy, x + dx)
                        guard ny >= 0, nx >= 0, ny < height, nx < width else { continue }
                        let q = ny * width + nx
                        if mask[q] == value && !seen[q] { seen[q] = true; stack.append(q) }
                    }
                }
            }
            result.append((pixels, border))
        }
        return result
    }
}

/// Where one map's attribution falls relative to a leaf mask.
public struct LeafBackgroundShare: Codable, Sendable, Equatable {
    /// Σ max(a, 0) on the leaf / Σ max(a, 0) everywhere (0 when nothing is positive).
    public var leafPositiveShare: Double
    /// Σ |a| on the leaf / Σ |a| everywhere (0 for an all-zero map).
    public var leafAbsoluteShare: Double
    /// The map's maximum (first in row-major order on ties) lies on the background.
    public var maximumOnBackground: Bool

    enum CodingKeys: String, CodingKey {
        case leafPositiveShare = "leaf_positive_share"
        case leafAbsoluteShare = "leaf_absolute_share"
        case maximumOnBackground = "maximum_on_background"
    }

    /// `map` is the H·W ranking map (`PixelRanking.map`), `leaf` the mask of the same size.
    public static func compute(map: [Float], leaf: [Bool]) throws(MetricError) -> LeafBackgroundShare {
        guard map.count == leaf.count, !map.isEmpty else {
            throw .shapeMismatch("map has \(map.count) values but the leaf mask \(leaf.count)")
        }
        var (posLeaf, pos, absLeaf, abs_) = (0.0, 0.0, 0.0, 0.0)
        for (a, isLeaf) in zip(map, leaf) {
            let v = Double(a)
            if v > 0 { pos += v; if isLeaf { posLeaf += v } }
            abs_ += Swift.abs(v)
            if isLeaf { absLeaf += Swift.abs(v) }
        }
        let top = argmax(map[...])
        return LeafBackgroundShare(
            leafPositiveShare: pos > 0 ? posLeaf / pos : 0, leafAbsoluteShare: abs_ > 0 ? absLeaf / abs_ : 0,
            maximumOnBackground: !leaf[top])
    }
}
