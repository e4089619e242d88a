/// A failure the user can act on (unreadable or malformed file, bad weights, an input the model
/// cannot take), with a message that names the file and the problem. The CLI prints `message` and
/// exits with status 1.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
