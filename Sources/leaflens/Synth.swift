import ArgumentParser
import Foundation
import LeafLensPipeline

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic leaf-disease data set with lesion masks (ImageFolder layout).",
        discussion: """
            Writes OUT/<class>/leaf-NNNNN.png for the classes \
            \(SyntheticData.classNames.joined(separator: ", ")), and for each image a lesion \
            mask of the same relative path under MASKS (white = lesion, all black for healthy leaves). \
            The output depends only on --seed, --per-class and --size.
            """)

    @Option(name: .long, help: "Output folder for the images (one sub-folder per class).")
    var out: String

    @Option(name: .long, help: "Output folder for the lesion masks (same relative paths as the images).")
    var masks: String

    @Option(name: .customLong("per-class"), help: "Images per class.")
    var perClass: Int

    @Option(name: .long, help: "Seed of the generator (images for different seeds are independent).")
    var seed: UInt64

    @Option(name: .long, help: "Image side in pixels (32 to 4096).")
    var size: Int = 128

    @Flag(name: .long, help: "Print no progress bar.")
    var quiet = false

    func validate() throws {
        guard perClass >= 1 else { throw ValidationError("--per-class must be at least 1") }
        guard (32...4096).contains(size) else { throw ValidationError("--size must be between 32 and 4096") }
        guard out != masks else { throw ValidationError("--out and --masks must be different folders") }
    }

    func run() throws {
        try OutputCheck.folder(out)
        try OutputCheck.folder(masks, option: "--masks")
        let bar = ProgressBar(quiet: quiet)
        let images: Int
        do {
            images = try SyntheticData.generate(
                out: out, masks: masks, perClass: perClass, seed: seed, size: size, progress: bar.callback("synth"))
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        print(
            "wrote \(images) images (\(SyntheticData.classNames.count) classes × \(perClass), \(size)×\(size)) to \(out), masks to \(masks)"
        )
    }
}
