import ArgumentParser

struct BenchIntegratedGradients: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ig", abstract: "Not implemented yet.", shouldDisplay: false)
}
struct BenchGradCAM: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grad-cam", abstract: "Not implemented yet.", shouldDisplay: false)
}
struct BenchOcclusion: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "occlusion", abstract: "Not implemented yet.", shouldDisplay: false)
}
