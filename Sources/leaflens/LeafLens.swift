import ArgumentParser
import Foundation
import LeafLensMath

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
            Classify.self, Explain.self, Train.self, Evaluate.self, Synth.self, Bench.self, Info.self,
            MakeSeededModel.self,
        ])

    static func main() {
        // SIGINT/SIGTERM remove the live temporaries, roll back an unfinished file set, exit 130/143.
        TemporaryFiles.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as RuntimeError {
            FileHandle.standardError.write(Data("leaflens: error: \(error.message)\n".utf8))
            Foundation.exit(1)
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
