import ArgumentParser
import Foundation
import LeafLensPipeline

/// Writes the deterministic seeded ResNet18 documented in Fixtures/README.md (used by the CLI tests and
/// by scripts).
struct MakeSeededModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-seeded-model",
        abstract: "Write a deterministic seeded ResNet18 (SplitMix64 weights) as safetensors.",
        shouldDisplay: false)

    @Option(name: .long, help: "PRNG seed.")
    var seed: UInt64 = 42

    @Option(
        name: .long,
        help: "ResNet depth: 18, 34 or 50 (torchvision's BasicBlock and Bottleneck tables; 101 and 152 too).")
    var depth: Int = 18

    @Option(name: .long, help: "Base width (64 = torchvision's).")
    var width: Int = 64

    @Option(name: .long, help: "Number of classes; 38 uses the PlantVillage labels.")
    var classes: Int = 38

    @Option(name: .long, help: "Output .safetensors file.")
    var out: String

    func validate() throws {
        guard width >= 1 && width <= 512 else { throw ValidationError("--width must be 1...512") }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1") }
        guard [18, 34, 50, 101, 152].contains(depth) else {
            throw ValidationError("--depth must be 18, 34, 50, 101 or 152")
        }
    }

    func run() throws {
        try OutputCheck.file(out)
        try SeededModel.write(seed: seed, depth: depth, width: width, classes: classes, to: URL(fileURLWithPath: out))
    }
}
