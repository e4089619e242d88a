import ArgumentParser

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not implemented yet.", shouldDisplay: false)
}
