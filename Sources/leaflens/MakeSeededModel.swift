import ArgumentParser
import Foundation
import LeafLensModel

/// Writes the deterministic seeded ResNet18 documented in Fixtures/README.md (used for the bundled
/// default model until a trained one lands, and by scripts).
struct MakeSeededModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-seeded-model",
        abstract: "Write a deterministic seeded ResNet18 (SplitMix64 weights) as safetensors.",
        shouldDisplay: false)

    @Option(name: .long, help: "PRNG seed.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Base width (64 = torchvision resnet18).")
    var width: Int = 64

    @Option(name: .long, help: "Number of classes; 38 uses the PlantVillage labels.")
    var classes: Int = 38

    @Option(name: .long, help: "Output .safetensors file.")
    var out: String

    func validate() throws {
        guard width >= 1 && width <= 512 else { throw ValidationError("--width must be 1...512") }
        guard classes >= 1 else { throw ValidationError("--classes must be at least 1") }
    }

    func run() throws {
        try OutputCheck.file(out)
        let labels = classes == PlantVillage.labels.count ? PlantVillage.labels : nil
        let model = try ResNet18<Float>.seeded(
            seed: seed, configuration: ResNet18Configuration(classCount: classes, width: width), labels: labels)
        do {
            try model.save(to: URL(fileURLWithPath: out), metadata: [
                "description": "deterministic seeded ResNet18 (seed \(seed), width \(width)); not trained",
            ])
        } catch {
            throw RuntimeError(error.description)
        }
    }
}
