import Foundation

/// Locations of the repository's committed test data, found from this file's path
/// (Tests/LeafLensTestSupport/FixturePaths.swift → repository root), not from the working directory.
public enum FixturePaths {
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = repositoryRoot.appendingPathComponent("Fixtures")
    public static let golden = repositoryRoot.appendingPathComponent("Golden")

    public static func fixture(_ relative: String) -> URL { fixtures.appendingPathComponent(relative) }

    /// A fresh, empty temporary directory for one test.
    public static func temporaryDirectory(_ label: String = "leaflens-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
