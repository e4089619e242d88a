import Foundation
import LeafLensMath

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX error code inside a Foundation error, or EIO if it has none.
private func errnoOf(_ error: Error) -> Int32 {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return Int32(underlying.code)
    }
    return ns.domain == NSPOSIXErrorDomain ? Int32(ns.code) : EIO
}

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
        case .noClasses(let p):
            "\(p): no class folders with images (expected ImageFolder layout: DIR/<class>/<image>.png|jpg)"
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
///
/// Listing is cycle-safe and lists regular files only (torchvision's `os.walk(followlinks=True)` loops
/// or duplicates instead): symbolic links to files and directories are followed, but a link to a
/// directory already visited in this scan (e.g. `healthy/up -> ..`, which would put other classes'
/// images under the wrong label and duplicate them across a train/validation split) is skipped, and so
/// are dangling links, link loops, FIFOs, devices and sockets — even when named `*.png`. Every skipped
/// entry is reported in `skipped`, with the reason.
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

    /// An entry the scan did not list, and why (e.g. "links back to a directory already listed").
    public struct SkippedEntry: Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let root: URL
    public let classes: [String]
    public private(set) var samples: [Sample]
    /// Entries the scan skipped (cycles, special files, broken links), in scan order.
    public private(set) var skipped: [SkippedEntry] = []

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Byte-wise (UTF-8) order, as torchvision sorts class folders.
    public static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Scans `root`. With `classes`, labels follow that list (e.g. a training set's classes for its
    /// validation folder) and a folder not in it is an error; otherwise they are the sorted folder names.
    public init(root: URL, classes given: [String]? = nil) throws(DatasetError) {
        guard let (rootKind, rootIdentity) = FileAccess.status(root.path, followingLinks: true),
            rootKind == .directory
        else { throw .notADirectory(root.path) }
        var scan = Scan(visited: [rootIdentity])
        let folders = try scan.entries(of: root).filter { $0.kind == .directory }.map(\.name)
        guard !folders.isEmpty else { throw .noClasses(root.path) }
        let classes = given ?? folders
        var samples: [Sample] = []
        for folder in folders {
            guard let label = classes.firstIndex(of: folder) else { throw .unknownClass(folder, known: classes) }
            let files = scan.imageFiles(under: root.appendingPathComponent(folder), relative: folder)
            if files.isEmpty && given == nil { throw .emptyClass(root.appendingPathComponent(folder).path) }
            samples += files.map { Sample(url: root.appendingPathComponent($0), relativePath: $0, label: label) }
        }
        self.root = root
        self.classes = classes
        self.samples = samples
        self.skipped = scan.skipped
    }

    /// An already assembled list (e.g. one side of a split).
    public init(root: URL, classes: [String], samples: [Sample]) {
        self.root = root
        self.classes = classes
        self.samples = samples
    }

    /// One directory walk: the directories visited so far (by device and inode, so a link back to one
    /// is recognised whatever its path) and what was skipped.
    struct Scan {
        struct Entry {
            var name: String
            var kind: FileAccess.Kind
        }

        var visited: Set<FileAccess.Identity>
        var skipped: [SkippedEntry] = []

        /// Non-hidden entries of `directory` that are directories not yet visited or regular files, links
        /// followed, byte-sorted; directories returned are marked visited.
        mutating func entries(of directory: URL) throws(DatasetError) -> [Entry] {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
                throw .unreadable(
                    "\(directory.path): cannot list the folder (\(FileAccess.describe(errno: errnoOf(error))))")
            }
            var result: [Entry] = []
            for name in names.sorted(by: ImageFolder.byteOrder) where !name.hasPrefix(".") {
                let path = directory.appendingPathComponent(name).path
                guard let (own, _) = FileAccess.status(path) else { continue }  // vanished meanwhile
                guard let (kind, identity) = FileAccess.status(path, followingLinks: true) else {
                    var info = stat()
                    let code = stat(path, &info) == 0 ? 0 : errno
                    skipped.append(
                        .init(
                            path: path,
                            reason: code == ELOOP ? "symbolic link loop (ELOOP)" : "dangling symbolic link"))
                    continue
                }
                switch kind {
                case .directory:
                    guard visited.insert(identity).inserted else {
                        skipped.append(
                            .init(
                                path: path,
                                reason: own == .symbolicLink
                                    ? "symbolic link to a directory already listed (a cycle or a duplicate); not followed"
                                    : "directory already listed (a bind mount or hard link); not followed"))
                        continue
                    }
                    result.append(Entry(name: name, kind: .directory))
                case .regularFile:
                    result.append(Entry(name: name, kind: .regularFile))
                default:
                    if ImageFolder.imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                        skipped.append(.init(path: path, reason: "\(kind.phrase), not a regular file"))
                    }
                }
            }
            return result
        }

        /// Image paths under `directory`, relative to the data set root, byte-sorted, recursive.
        mutating func imageFiles(under directory: URL, relative: String) -> [String] {
            guard let entries = try? entries(of: directory) else {
                skipped.append(.init(path: directory.path, reason: "cannot list the folder"))
                return []
            }
            var result: [String] = []
            for entry in entries {
                let path = relative + "/" + entry.name
                if entry.kind == .directory {
                    result += imageFiles(under: directory.appendingPathComponent(entry.name), relative: path)
                } else if ImageFolder.imageExtensions.contains((entry.name as NSString).pathExtension.lowercased()) {
                    result.append(path)
                }
            }
            return result
        }
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
    public func split(
        validationFraction fraction: Double, seed: UInt64
    ) throws(DatasetError) -> (train: ImageFolder, validation: ImageFolder) {
        guard fraction >= 0, fraction < 1 else {
            throw .invalidOption("the validation fraction must be in [0, 1), got \(fraction)")
        }
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
        return (
            ImageFolder(root: root, classes: classes, samples: train),
            ImageFolder(root: root, classes: classes, samples: held)
        )
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
