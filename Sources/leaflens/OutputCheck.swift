import Foundation
import LeafLensMath

/// Output locations are checked before any computation (issue 10 #7), by the library's rules
/// (`FileAccess.checkOutputDirectory`: creatable or writable, stale temporaries swept).
enum OutputCheck {
    /// A folder an option names (`--out DIR`, `--masks DIR`).
    static func folder(_ path: String, option: String = "--out") throws {
        do { try FileAccess.checkOutputDirectory(URL(fileURLWithPath: path)) } catch {
            throw RuntimeError("\(option) \(error.description)")
        }
    }

    /// A file an option names (`--out FILE`): its folder must be writable or creatable, and the name
    /// must not be a directory.
    static func file(_ path: String, option: String = "--out") throws {
        let url = URL(fileURLWithPath: path)
        if let (kind, _) = FileAccess.status(url.path, followingLinks: true), kind == .directory {
            throw RuntimeError("\(option) \(url.path): is a directory, not a file")
        }
        try folder(url.deletingLastPathComponent().path, option: option)
    }
}
