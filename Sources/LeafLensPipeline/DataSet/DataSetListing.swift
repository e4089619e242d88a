import Foundation
import LeafLensTraining

/// The images of a data-set run, from a folder or a list file.
public enum DataSetListing {
    /// Every image under `root`, recursively, in byte-sorted path order. When `root` is an ImageFolder
    /// (`root/<class>/**/<image>`), the class folder is each image's true label; images directly in `root`
    /// have no label.
    public static func folder(_ root: URL) throws(DataSetError) -> (items: [DataSetItem], classes: [String]) {
        var items: [DataSetItem] = []
        var classes: [String] = []
        do {
            let folder = try ImageFolder(root: root)
            classes = folder.classes
            items = folder.samples.map { DataSetItem(url: $0.url, relativePath: $0.relativePath, label: folder.classes[$0.label]) }
        } catch .noClasses {
            // Not an ImageFolder: only the images directly in `root`, unlabelled.
        } catch { throw .invalid("\(error)") }
        let loose: [String]
        do {
            loose = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { name in
                guard !name.hasPrefix("."), ImageFolder.imageExtensions.contains((name as NSString).pathExtension.lowercased()) else { return false }
                let attributes = try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)
                return attributes?[.type] as? FileAttributeType == .typeRegular
            }
        } catch { throw .io(root.path, error.localizedDescription) }
        items += loose.map { DataSetItem(url: root.appendingPathComponent($0), relativePath: $0, label: nil) }
        items.sort { ImageFolderOrder.precedes($0.relativePath, $1.relativePath) }
        guard !items.isEmpty else { throw .invalid("\(root.path): no .png/.jpg/.jpeg images found") }
        return (items, classes)
    }

    /// One path per line (blank lines and lines starting with `#` skipped). Relative paths are taken from the
    /// list file's folder, and that relative path is the image's output path and shard key; an absolute path
    /// under the list's folder is made relative to it, any other absolute path keeps its components without
    /// the leading `/`. No labels.
    public static func list(_ file: URL) throws(DataSetError) -> [DataSetItem] {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw .io(file.path, "cannot read the list: \(error.localizedDescription)")
        }
        let base = file.deletingLastPathComponent().standardizedFileURL.path
        var items: [DataSetItem] = []
        var seen = Set<String>()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let url: URL
            let relative: String
            if line.hasPrefix("/") {
                url = URL(fileURLWithPath: line).standardizedFileURL
                relative = url.path.hasPrefix(base + "/") ? String(url.path.dropFirst(base.count + 1)) : String(url.path.dropFirst())
            } else {
                url = URL(fileURLWithPath: line, relativeTo: file.deletingLastPathComponent()).standardizedFileURL
                relative = (line as NSString).standardizingPath
            }
            guard !relative.hasPrefix("../"), relative != ".." else {
                throw .invalid("\(file.path):\(number + 1): '\(line)' leaves the list's folder; outputs could not be placed under OUT")
            }
            guard seen.insert(relative).inserted else { continue }
            items.append(DataSetItem(url: url, relativePath: relative, label: nil))
        }
        guard !items.isEmpty else { throw .invalid("\(file.path): the list names no images") }
        return items
    }
}
