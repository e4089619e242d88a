import ArgumentParser

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not implemented yet.", shouldDisplay: false)
}
