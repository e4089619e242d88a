import Foundation
import LeafLensMath

/// Errors finding or reading a data set. Messages name the path.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)
    case noClasses(String)
    case emptyClass(String)
    case unknownClass(String, known: [String])
    case unreadable(String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .notADirectory(let p): "\(p): not a directory"
        case .noClasses(let p): "\(p): no class folders with images (expected ImageFolder layout: DIR/<class>/<image>.png|jpg)"
        case .emptyClass(let p): "\(p): class folder has no .png/.jpg/.jpeg images"
        case .unknownClass(let c, let known): "class '\(c)' is not one of the model's \(known.count) classes"
        case .unreadable(let m): m
        case .invalidOption(let m): m
        }
    }
}

/// torchvision's `ImageFolder` layout: `root/<class>/**/<image>`. Class names are the sub-folder names
/// sorted by their UTF-8 bytes (Python's `sorted` on `str` orders by code point, which is the same order);
/// class index i is the i-th name. Images are found recursively, in byte-sorted path order, with the
/// extensions .png, .jpg, .jpeg (any case). Hidden entries (starting with ".") are skipped.
public struct ImageFolder: Sendable {
    public struct Sample: Sendable, Equatable {
        public var url: URL
        /// Path relative to the data set root, e.g. `rust/leaf-00003.png` (used to find masks).
        public var relativePath: String
        public var label: Int

        public init(url: URL, relativePath: String, label: Int) {
            self.url = url
            self.relativePath = relativePath
            self.label = label
        }
    }

    public let root: URL
    public let classes: [String]
    public private(set) var samples: [Sample]

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Byte-wise (UTF-8) order, as torchvision sorts class folders.
    public static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Scans `root`. With `classes`, labels follow that list (e.g. a training set's classes for its
    /// validation folder) and a folder not in it is an error; otherwise they are the sorted folder names.
    public init(root: URL, classes given: [String]? = nil) throws(DatasetError) {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notADirectory(root.path)
        }
        let entries: [String]
        do { entries = try manager.contentsOfDirectory(atPath: root.path) } catch { throw .unreadable("\(root.path): \(error.localizedDescription)") }
        let folders = entries.filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".") && manager.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &dir)
                && dir.boolValue
        }.sorted(by: Self.byteOrder)
        guard !folders.isEmpty else { throw .noClasses(root.path) }
        let classes = given ?? folders
        var samples: [Sample] = []
        for folder in folders {
            guard let label = classes.firstIndex(of: folder) else { throw .unknownClass(folder, known: classes) }
            let files = Self.imageFiles(under: root.appendingPathComponent(folder), relative: folder)
            if files.isEmpty && given == nil { throw .emptyClass(root.appendingPathComponent(folder).path) }
            samples += files.map { Sample(url: root.appendingPathComponent($0), relativePath: $0, label: label) }
        }
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    /// An already assembled list (e.g. one side of a split).
    public init(root: URL, classes: [String], samples: [Sample]) {
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    /// Image paths under `directory`, relative to the data set root, byte-sorted, recursive.
    static func imageFiles(under directory: URL, relative: String) -> [String] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return [] }
        var result: [String] = []
        for name in names.sorted(by: byteOrder) where !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            var dir: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &dir) else { continue }
            if dir.boolValue {
                result += imageFiles(under: url, relative: relative + "/" + name)
            } else if imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                result.append(relative + "/" + name)
            }
        }
        return result
    }

    /// Images per class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes.count)
        for s in samples { counts[s.label] += 1 }
        return counts
    }

    /// A seeded stratified split: in each class, a Fisher–Yates shuffle (SplitMix64 `seed`) and the first
    /// `round(fraction·n)` images go to validation — at least one when the class has two or more images and
    /// fraction > 0, and never all of them. Sample order within each side is the original order.
    public func split(validationFraction fraction: Double, seed: UInt64) throws(DatasetError) -> (train: ImageFolder, validation: ImageFolder) {
        guard fraction >= 0, fraction < 1 else { throw .invalidOption("the validation fraction must be in [0, 1), got \(fraction)") }
        var rng = SeededRandom(seed: seed)
        var validation = Set<Int>()
        for label in classes.indices {
            var members = samples.indices.filter { samples[$0].label == label }
            guard members.count >= 2, fraction > 0 else { continue }
            shuffle(&members, &rng)
            let take = min(members.count - 1, max(1, Int((fraction * Double(members.count)).rounded())))
            validation.formUnion(members.prefix(take))
        }
        let train = samples.indices.filter { !validation.contains($0) }.map { samples[$0] }
        let held = samples.indices.filter { validation.contains($0) }.map { samples[$0] }
        return (ImageFolder(root: root, classes: classes, samples: train), ImageFolder(root: root, classes: classes, samples: held))
    }
}

/// Fisher–Yates with SplitMix64: for i from n−1 down to 1, j = ⌊unit·(i+1)⌋, swap.
public func shuffle<Element>(_ items: inout [Element], _ rng: inout SeededRandom) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) {
        let j = min(i, Int(rng.unit() * Double(i + 1)))
        items.swapAt(i, j)
    }
}
