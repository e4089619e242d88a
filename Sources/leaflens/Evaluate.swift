import ArgumentParser
import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensModel
import LeafLensTraining

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure accuracy, per-class precision/recall/F1 and the confusion matrix on an ImageFolder data set.",
        discussion: """
            Class folders are matched to the model's labels by name (or by position when no name matches \
            and the counts agree). With --out, writes confusion.csv, confusion.png (rows: true class, \
            columns: predicted, shade: share of the row) and metrics.json. With --masks and --explain, \
            also scores explanations on diseased images (non-empty masks): the pointing game (is the \
            attribution maximum within --tolerance pixels of the lesion) and the share of positive \
            attribution inside the lesion. --sanity-check runs the model-randomization check of Adebayo \
            et al. (2018) and prints Spearman rank correlations per randomized stage.
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Data set folder (one sub-folder per class).")
    var data: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Option(name: .long, help: "Folder for confusion.csv, confusion.png and metrics.json.")
    var out: String?

    @Option(name: .customLong("image-size"), help: "Network input side (default: from the weights file, else 224).")
    var imageSize: Int?

    @Option(name: .long, help: "Resize the shorter side to this before center-cropping (default: from the weights file, else S·256/224).")
    var resize: Int?

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize: Int = 32

    @OptionGroup(title: "Explanations") var explanations: ExplanationEvaluationOptions

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let imageSize, imageSize < 32 { throw ValidationError("--image-size must be at least 32") }
        if let resize, let imageSize, resize < imageSize { throw ValidationError("--resize must be at least --image-size") }
        try explanations.validate()
    }

    func run() throws {
        if let out { try OutputCheck.folder(out) }
        let network = try model.loadModel()
        let stored = storedInputSize()
        let size = imageSize ?? stored.imageSize ?? 224
        let transform = ImageTransform.evaluation(
            resize: resize ?? stored.resize ?? Int((Double(size) * 256 / 224).rounded()), size: size)
        let dataset: ImageFolder
        do { dataset = try ImageFolder(root: URL(fileURLWithPath: data)) } catch { throw RuntimeError("\(error)") }
        for entry in dataset.skipped { warn("leaflens: warning: skipped \(entry)") }
        let classMap = try Self.classMap(dataset: dataset.classes, model: network.labels)
        let result: ModelEvaluation.Result
        do {
            result = try ModelEvaluation.run(model: network, dataset: dataset, transform: transform, batchSize: batchSize, classMap: classMap)
        } catch {
            throw RuntimeError("\(error)")
        }
        var report = EvaluationReport(
            images: result.confusion.total, accuracy: result.confusion.accuracy, loss: result.loss,
            classes: result.confusion.perClass, confusion: result.confusion.counts, labels: network.labels,
            explanations: nil, sanity_check: nil)
        if let masks = explanations.masks, !explanations.methods.isEmpty {
            report.explanations = try explanations.score(
                network: network, dataset: dataset, classMap: classMap, masks: URL(fileURLWithPath: masks), transform: transform,
                quiet: json)
        }
        if explanations.sanityCheck {
            report.sanity_check = try explanations.sanityCheck(
                network: network, dataset: dataset, classMap: classMap, masks: explanations.masks.map { URL(fileURLWithPath: $0) },
                transform: transform)
        }
        if let out { try write(report, confusion: result.confusion, to: URL(fileURLWithPath: out)) }
        if json {
            print(try JSONLine.encode(report))
        } else {
            printText(report)
        }
    }

    /// image_size / resize stored by `leaflens train` in the weights file's metadata.
    private func storedInputSize() -> (imageSize: Int?, resize: Int?) {
        let url = model.weights.map { URL(fileURLWithPath: $0) } ?? DefaultModel.location
        guard let url, let file = try? SafeTensorsFile.read(url) else { return (nil, nil) }
        return (file.metadata["image_size"].flatMap { Int($0) }, file.metadata["resize"].flatMap { Int($0) })
    }

    /// Data set class index → model class index: by name when every folder names a model label, else by
    /// position when the counts agree.
    static func classMap(dataset: [String], model: [String]) throws -> [Int] {
        let byName = dataset.compactMap { model.firstIndex(of: $0) }
        if byName.count == dataset.count { return byName }
        if dataset.count == model.count {
            warn("warning: class folders do not match the model's labels; matching by position")
            return Array(dataset.indices)
        }
        let missing = dataset.filter { !model.contains($0) }
        throw RuntimeError("class folders \(missing.prefix(5).joined(separator: ", ")) are not among the model's \(model.count) labels")
    }

    private func write(_ report: EvaluationReport, confusion: ConfusionMatrix, to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicWrite.write(Data(confusion.csv.utf8), to: directory.appendingPathComponent("confusion.csv"))
            try PNGWriter.write(ConfusionImage.render(confusion), to: directory.appendingPathComponent("confusion.png"))
            try AtomicWrite.write(Data((try JSONLine.encode(report) + "\n").utf8), to: directory.appendingPathComponent("metrics.json"))
        } catch {
            throw RuntimeError("\(directory.path): cannot write the evaluation files (\(error))")
        }
    }

    private func printText(_ r: EvaluationReport) {
        print(String(format: "%d images  accuracy %.2f%%  loss %.4f", r.images, r.accuracy * 100, r.loss))
        let width = max(12, r.classes.map(\.label.count).max() ?? 0)
        print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "  precision  recall     f1  support")
        for c in r.classes {
            print(c.label.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  %9.4f  %6.4f  %6.4f  %7d", c.precision, c.recall, c.f1, c.support))
        }
        if let e = r.explanations { ExplanationEvaluationOptions.printText(e) }
        if let s = r.sanity_check { ExplanationEvaluationOptions.printText(s) }
    }
}

struct EvaluationReport: Codable {
    var images: Int
    var accuracy: Double
    var loss: Double
    var classes: [ConfusionMatrix.ClassMetrics]
    var confusion: [[Int]]
    var labels: [String]
    var explanations: [ExplanationScore]?
    var sanity_check: SanityCheckReport?
}

/// The confusion matrix as a picture: one 16-pixel cell per (true row, predicted column), shaded by the
/// share of the row (Colormap.blues), with a 1-pixel grey grid and a green frame on the diagonal.
enum ConfusionImage {
    static func render(_ m: ConfusionMatrix, cell: Int = 16) throws -> RGBImage {
        let k = m.labels.count, side = k * cell + 1
        var pixels = [UInt8](repeating: 160, count: side * side * 3)
        for r in 0..<k {
            let rowTotal = max(1, m.counts[r].reduce(0, +))
            for c in 0..<k {
                let share = Float(m.counts[r][c]) / Float(rowTotal)
                let colour = Colormap.blues.color(normalized: share)
                let diagonal = r == c
                for y in 1..<cell {
                    for x in 1..<cell {
                        let frame = diagonal && (x == 1 || y == 1 || x == cell - 1 || y == cell - 1)
                        let i = ((r * cell + y) * side + c * cell + x) * 3
                        pixels[i] = frame ? 40 : UInt8((colour.r * 255).rounded())
                        pixels[i + 1] = frame ? 160 : UInt8((colour.g * 255).rounded())
                        pixels[i + 2] = frame ? 60 : UInt8((colour.b * 255).rounded())
                    }
                }
            }
        }
        return try RGBImage(width: side, height: side, pixels: pixels)
    }
}
