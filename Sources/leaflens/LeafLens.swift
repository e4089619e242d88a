import ArgumentParser
import Foundation
import LeafLensMath
import LeafLensPipeline

/// The `leaflens` command. Exit codes: 0 success, 1 runtime error (bad file, bad weights), 2 usage error.
@main
struct LeafLensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaflens",
        abstract: "Classify plant-leaf images with a ResNet18 and explain the decision.",
        discussion: """
            Without --weights the bundled default model is used (see README: a deterministic \
            demonstration model, not a trained PlantVillage model).
            """,
        subcommands: [
            Classify.self, Explain.self, Report.self, Train.self, Evaluate.self, Synth.self, Bench.self, Info.self,
            MakeSeededModel.self, Convert.self, Verify.self,
        ])

    static func main() {
        // SIGINT/SIGTERM remove the live temporaries, roll back an unfinished file set, exit 130/143
        // (a data-set run replaces SIGTERM's handler with "stop before the next image" while it runs).
        TemporaryFiles.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as RuntimeError {
            fail(error.message)
        } catch let error as PipelineError {
            fail(error.message)
        } catch let code as ExitCode {
            // Commands that already reported their problems exit with a bare code.
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            // Argument and validation problems are usage errors; anything else failed at run time.
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("leaflens: error: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A failure while running (unreadable file, bad weights, …): exit code 1. The message names the file.
struct RuntimeError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Writes a line to standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The message of an error caught per input: the pipeline's own names the file; anything else is
/// prefixed with the input.
func errorText(_ error: any Error, input: String) -> String {
    (error as? PipelineError)?.message ?? (error as? RuntimeError)?.message ?? "\(input): \(error)"
}

/// A usage error found only once the model is loaded (it knows the classes and layers): printed with
/// the command's usage line, exit code 2. (A ValidationError thrown from `run()` would be shown with
/// the root command's usage.)
func usageError<Command: ParsableCommand>(_ message: String, in command: Command.Type) -> ExitCode {
    let usage = LeafLensCommand.usageString(for: Command.self)
    let name = Command.configuration.commandName ?? String(describing: Command.self).lowercased()
    warn("Error: \(message)\nUsage: \(usage)\n  See 'leaflens \(name) --help' for more information.")
    return .validationFailure
}

/// Prints `value` as one line of JSON (the pipeline's one encoder).
func printJSON<T: Encodable>(_ value: T) throws {
    print(try ReportJSON.line(value))
}
