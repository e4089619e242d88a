import ArgumentParser
import Foundation
import LeafLensPipeline

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the shards of a data-set run into one index and report.",
        discussion: """
            Reads OUT/records/ (written by `leaflens explain --data/--list --out OUT`, one file per shard) and \
            writes OUT/index.jsonl and OUT/index.csv (one row per image: its latest record), OUT/summary.json \
            and one self-contained OUT/summary.html (counts, accuracy and confusion matrix when labels are \
            known, per-class mean attribution maps, metric tables, galleries, failures). Safe to run at any \
            time, also while shards are still running, and as often as wanted.

            Exit status: 0 when every shard ran and every image was explained; 1 when shards never started, \
            images have no record yet or images failed (the report is written all the same).
            """)

    @Argument(help: ArgumentHelp("The --out folder of the data-set run.", valueName: "out"))
    var out: String

    @Option(
        name: .customLong("mean-map-images"),
        help: ArgumentHelp("Images per class averaged into each mean attribution map.", valueName: "N"))
    var meanMapImages: Int = 20

    @Option(
        name: .long, help: ArgumentHelp("Images per gallery (most and least confident, misclassified).", valueName: "N")
    )
    var gallery: Int = 8

    @Flag(name: .long, help: "Print only problems.")
    var quiet = false

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(out): not a folder (give the --out folder of `leaflens explain --data`)")
        }
        guard meanMapImages >= 0 else {
            throw ValidationError("--mean-map-images must be at least 0, got \(meanMapImages)")
        }
        guard gallery >= 0 else { throw ValidationError("--gallery must be at least 0, got \(gallery)") }
    }

    func run() throws {
        let output = URL(fileURLWithPath: out)
        let report: DataSetReport
        do {
            report = try DataSetReport.build(output: output)
            try report.write(to: output, options: .init(meanMapImagesPerClass: meanMapImages, galleryCount: gallery))
        } catch { throw RuntimeError(error.description) }
        let s = report.summary
        if !quiet {
            print(
                "\(out): \(s.images) images in \(s.shardCount) shard\(s.shardCount == 1 ? "" : "s"): \(s.explained) explained, \(s.failed) failed, \(s.missing) without a record"
            )
            if s.ignored > 0 { print("  \(s.ignored) files are not images (ignored)") }
            if let accuracy = s.accuracy {
                print(String(format: "  accuracy: %.2f%% of %d labelled images", accuracy * 100, s.labelledImages))
            }
            if !s.methods.isEmpty { print("  methods: \(s.methods.joined(separator: ", "))") }
            print("  wrote index.jsonl, index.csv, summary.json, summary.html to \(out)")
        }
        for failure in s.failures.prefix(10) { warn("leaflens: failed: \(failure.input): \(failure.error)") }
        if s.failures.count > 10 {
            warn("leaflens: … and \(s.failures.count - 10) more failures (summary.json lists all)")
        }
        if s.unreadableRecordLines > 0 {
            warn("leaflens: warning: \(s.unreadableRecordLines) record lines could not be read")
        }
        guard !s.complete else { return }
        var problems: [String] = []
        if !s.missingShards.isEmpty {
            problems.append(
                "shard\(s.missingShards.count == 1 ? "" : "s") \(s.missingShards.map(String.init).joined(separator: ", ")) of \(s.shardCount) never started"
            )
        }
        if s.missing > 0 {
            let shown = s.missingImages.prefix(3).joined(separator: ", ")
            problems.append(
                "\(s.missing) image\(s.missing == 1 ? " has" : "s have") no record yet (\(shown)\(s.missing > 3 ? ", …" : ""))"
            )
        }
        if s.failed > 0 { problems.append("\(s.failed) image\(s.failed == 1 ? "" : "s") failed") }
        throw RuntimeError(
            "the run is incomplete: \(problems.joined(separator: "; ")); the report was written; rerun the shards concerned"
        )
    }
}
