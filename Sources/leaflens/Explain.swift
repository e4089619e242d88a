import ArgumentParser
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Explain predictions (coming with the attribution methods).")
}
