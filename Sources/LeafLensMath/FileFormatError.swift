/// A file LeafLens cannot read or write, with the file and the problem in words.
///
/// Every reader in LeafLens throws this for anything a file can contain (bad magic, impossible
/// shapes, truncated data, …) instead of trapping, so a CLI can print it as-is:
///
///     weights.safetensors: tensor 'fc.weight' has data_offsets [0, 100] beyond the 64-byte data buffer
public struct FileFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file's path, or a label such as `"<memory>"` for bytes that never were a file.
    public var file: String
    /// What is wrong, as a sentence fragment without the file name.
    public var problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}
