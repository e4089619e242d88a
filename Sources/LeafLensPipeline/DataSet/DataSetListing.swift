import Foundation

/// The images of a data-set run, from a folder or a list file.
public enum DataSetListing {
    /// Every file under `root`, recursively, in byte-sorted path order (hidden files and folders left out).
    /// Files named `.png`, `.jpg` or `.jpeg` are explained (one that cannot be read or decoded gets a failed
    /// record); any other file gets an `ignored` record, so it is reported rather than silently dropped.
    /// Images in a sub-folder are labelled with their top-level folder (ImageFolder: `root/<class>/**/<image>`);
    /// images directly in `root` have no label. `classes` are the top-level folders holding images, sorted.
    public static func folder(_ root: URL) throws(DataSetError) -> (items: [DataSetItem], classes: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .invalid("\(root.path): not a folder")
        }
        var items: [DataSetItem] = []
        try walk(root, relative: "", into: &items)
        items.sort { ImageFolderOrder.precedes($0.relativePath, $1.relativePath) }
        guard items.contains(where: { $0.skipReason == nil }) else {
            throw .invalid("\(root.path): no .png/.jpg/.jpeg images found")
        }
        try checkOutputNames(items)
        let classes = Set(items.filter { $0.skipReason == nil }.compactMap(\.label)).sorted(
            by: ImageFolderOrder.precedes)
        return (items, classes)
    }

    private static func walk(_ directory: URL, relative: String, into items: inout [DataSetItem]) throws(DataSetError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw .io(directory.path, "cannot list the folder: \(error.localizedDescription)")
        }
        for name in names where !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            let path = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            if exists, isDirectory.boolValue {
                try walk(url, relative: path, into: &items)
                continue
            }
            // A dangling link named like an image is kept: its load fails and is recorded.
            let label = relative.isEmpty ? nil : String(path.prefix { $0 != "/" })
            let ext = (name as NSString).pathExtension.lowercased()
            let reason =
                imageExtensions.contains(ext)
                ? nil
                : "not an image (\(ext.isEmpty ? "no extension" : "." + ext)); only .png, .jpg and .jpeg files are explained"
            items.append(DataSetItem(url: url, relativePath: path, label: label, skipReason: reason))
        }
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

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
                relative =
                    url.path.hasPrefix(base + "/")
                    ? String(url.path.dropFirst(base.count + 1)) : String(url.path.dropFirst())
            } else {
                url = URL(fileURLWithPath: line, relativeTo: file.deletingLastPathComponent()).standardizedFileURL
                relative = (line as NSString).standardizingPath
            }
            guard !relative.hasPrefix("../"), relative != ".." else {
                throw .invalid(
                    "\(file.path):\(number + 1): '\(line)' leaves the list's folder; outputs could not be placed under OUT"
                )
            }
            guard seen.insert(relative).inserted else { continue }
            items.append(DataSetItem(url: url, relativePath: relative, label: nil))
        }
        guard !items.isEmpty else { throw .invalid("\(file.path): the list names no images") }
        try checkOutputNames(items)
        return items
    }

    /// Outputs are named by the relative path without its extension, so `a/leaf.png` and `a/leaf.jpg` would
    /// write the same files (perhaps from two shards at once): refused before anything runs.
    static func checkOutputNames(_ items: [DataSetItem]) throws(DataSetError) {
        var seen: [String: String] = [:]
        for item in items where item.skipReason == nil {
            let stem = (item.relativePath as NSString).deletingPathExtension
            if let earlier = seen[stem] {
                throw .invalid(
                    "\(earlier) and \(item.relativePath) would both write \(stem).* under the output folder; rename one"
                )
            }
            seen[stem] = item.relativePath
        }
    }
}
