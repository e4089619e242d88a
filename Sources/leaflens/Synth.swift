import ArgumentParser

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not implemented yet.", shouldDisplay: false)
}
