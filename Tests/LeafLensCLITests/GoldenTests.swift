import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

/// Golden files: what `leaflens explain` draws for two fixture images with the bundled default model,
/// one case per (image, method), pinned in Golden/ like snapshot tests.
///
/// Each case keeps two files:
/// - `<stem>.<method>.png`: the CLI's heat map, byte for byte as written;
/// - `<stem>.<method>.normalized.npy`: float32 `[H, W]`, the `AttributionMap` values the heat map is
///   drawn from, recomputed here from the CLI's raw `<stem>.<method>.npy` with the sign and outlier
///   percentage its `.json` records (the CLI does not write the normalized map itself).
///
/// Tolerances (`GoldenManifest.Tolerances`, also written into Golden/manifest.json):
/// - normalized map: |actual − golden| ≤ 1e-4 element-wise (values lie in [−1, 1]);
/// - heat map: no channel differs by more than 2 levels, and at most 1% of the pixels differ at all
///   (a map value within 1e-4 of a colormap bin edge can land in the neighbouring bin).
///
/// Golden/ is rewritten only by `scripts/regenerate-golden`, which runs `record()` below with
/// LEAFLENS_GOLDEN_RECORD set to a fresh directory (and the release binary in LEAFLENS_BINARY). CI
/// never sets it. On a mismatch the actual picture is attached (and written to a temporary file whose
/// path is printed).
@Suite("Golden")
struct GoldenTests {
    static let recordDirectory = ProcessInfo.processInfo.environment["LEAFLENS_GOLDEN_RECORD"]
    static let recording = recordDirectory != nil

    /// The images: one PNG, one JPEG, both non-square, both shrunk by the resize.
    static let inputs = [
        "Fixtures/imaging/images/png_rgb8_300x200.png",
        "Fixtures/imaging/images/jpg_baseline_333x257.jpg",
    ]
    /// Smaller than the default 256/224 to keep Golden/ small (each normalized map is 112·112·4 bytes).
    static let commonOptions = ["--resize", "128", "--crop", "112"]
    /// Every method, with settings that keep the run short.
    static let methods: [(method: String, options: [String])] = [
        ("integrated-gradients", ["--steps", "8"]),
        // Captum's look (the default for CAM methods is pytorch-grad-cam's JET), which this test re-derives.
        ("grad-cam", ["--style", "captum"]),
        ("occlusion", ["--window", "16", "--stride", "8"]),
        ("saliency", []),
        ("input-x-gradient", []),
    ]
    static let outPlaceholder = "OUT"

    static let cases: [GoldenManifest.Case] = inputs.flatMap { input in
        methods.map { method, options in
            let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
            let arguments =
                ["explain", "--method", method] + commonOptions + options + ["--quiet", "--out", outPlaceholder, input]
            return GoldenManifest.Case(
                name: "\(stem).\(method)", input: input, method: method, arguments: arguments,
                command: (["leaflens"] + arguments).joined(separator: " "),
                heatMap: "\(stem).\(method).png", normalizedMap: "\(stem).\(method).normalized.npy")
        }
    }

    // MARK: Comparing

    @Test(.enabled(if: !recording), arguments: cases)
    func matchesGolden(_ goldenCase: GoldenManifest.Case) throws {
        let actual = try Self.run(goldenCase)
        let golden = FixturePaths.golden
        let hint = "(regenerate with scripts/regenerate-golden if the change is intended)"

        let goldenMap: Tensor<Float>
        do {
            goldenMap = try NPY.read(golden.appendingPathComponent(goldenCase.normalizedMap))
        } catch {
            Issue.record("Golden/\(goldenCase.normalizedMap) is unreadable: \(error) \(hint)")
            return
        }
        expectClose(
            actual.normalized, goldenMap, atol: GoldenManifest.Tolerances.standard.normalizedMapAbsolute, rtol: 0,
            "\(goldenCase.name): normalized map differs from Golden/\(goldenCase.normalizedMap) \(hint)")

        let goldenPicture: RGBImage
        do {
            goldenPicture = try ImageDecoder.decode(contentsOf: golden.appendingPathComponent(goldenCase.heatMap))
        } catch {
            Issue.record("Golden/\(goldenCase.heatMap) is unreadable: \(error) \(hint)")
            return
        }
        let comparison = PictureComparison(actual: actual.heatMap, expected: goldenPicture)
        let tolerances = GoldenManifest.Tolerances.standard
        if !comparison.within(levels: tolerances.heatMapLevels, differingPixels: tolerances.heatMapMaxDifferingPixels) {
            let saved = Self.keepActual(actual.heatMapPNG, name: goldenCase.heatMap)
            Attachment.record(actual.heatMapPNG, named: "\(goldenCase.name).actual.png")
            Issue.record(
                """
                \(goldenCase.name): heat map differs from Golden/\(goldenCase.heatMap): \(comparison) \
                (tolerance: ≤ \(tolerances.heatMapLevels) levels, ≤ \(tolerances.heatMapMaxDifferingPixels) \
                differing pixels); actual picture: \(saved) \(hint)
                """)
        }
    }

    /// Golden/manifest.json describes exactly the cases above (same command lines, same tolerances).
    @Test(.enabled(if: !recording))
    func manifestMatchesTheCases() throws {
        let url = FixturePaths.golden.appendingPathComponent("manifest.json")
        let manifest = try JSONDecoder.golden.decode(GoldenManifest.self, from: Data(contentsOf: url))
        #expect(manifest.tolerances == .standard)
        #expect(manifest.cases.map(\.arguments) == Self.cases.map(\.arguments), "stale Golden/manifest.json")
        #expect(manifest.cases.map(\.name) == Self.cases.map(\.name))
        // Nothing in Golden/ that no case owns.
        // rendering/ holds the library's picture goldens (Tests/LeafLensImagingTests/RenderingGoldenTests.swift).
        let owned = Set(
            Self.cases.flatMap { [$0.heatMap, $0.normalizedMap] } + ["manifest.json", "README.md", "rendering"])
        let present = try FileManager.default.contentsOfDirectory(atPath: FixturePaths.golden.path)
        #expect(
            Set(present).subtracting(owned).isEmpty, "unexpected files in Golden/: \(Set(present).subtracting(owned))")
    }

    // MARK: Recording (scripts/regenerate-golden only)

    /// Writes every case's golden files and the manifest into LEAFLENS_GOLDEN_RECORD.
    @Test(.enabled(if: recording))
    func record() throws {
        let directory = URL(fileURLWithPath: try #require(Self.recordDirectory))
        var recorded: [GoldenManifest.Case] = []
        for var goldenCase in Self.cases {
            let actual = try Self.run(goldenCase)
            try actual.heatMapPNG.write(to: directory.appendingPathComponent(goldenCase.heatMap))
            try NPY.encode(actual.normalized).write(to: directory.appendingPathComponent(goldenCase.normalizedMap))
            goldenCase.sign = actual.sign
            goldenCase.outlierPercent = actual.outlierPercent
            goldenCase.colormap = actual.colormap
            recorded.append(goldenCase)
        }
        let manifest = GoldenManifest(cases: recorded)
        var data = try JSONEncoder.golden.encode(manifest)
        data.append(0x0A)
        try data.write(to: directory.appendingPathComponent("manifest.json"))
    }

    // MARK: Running the CLI

    struct Outcome {
        var heatMapPNG: Data
        var heatMap: RGBImage
        /// `[H, W]`
        var normalized: Tensor<Float>
        var sign: String
        var outlierPercent: Double
        var colormap: String
    }

    /// Runs the case's command line from the repository root into a temporary directory, reads the heat
    /// map, and recomputes the normalized map from the raw attributions.
    static func run(_ goldenCase: GoldenManifest.Case) throws -> Outcome {
        let out = try FixturePaths.temporaryDirectory("leaflens-golden")
        defer { try? FileManager.default.removeItem(at: out) }
        let arguments = goldenCase.arguments.map { $0 == outPlaceholder ? out.path : $0 }
        let result = try CLI.run(arguments, in: FixturePaths.repositoryRoot)
        try #require(result.status == 0, "\(goldenCase.command) failed (\(result.status)): \(result.stderr)")

        let base = out.appendingPathComponent(goldenCase.name)
        let record = try JSONDecoder.golden.decode(
            CLIRecord.self, from: Data(contentsOf: base.appendingPathExtension("json")))
        let sign = try #require(AttributionSign(rawValue: record.visualization.sign))
        let raw: Tensor<Float> = try NPY.read(base.appendingPathExtension("npy"))
        let map = try AttributionMap(raw, sign: sign, outlierPercent: record.visualization.outlierPercent)
        let png = try Data(contentsOf: base.appendingPathExtension("png"))
        let heatMap = try ImageDecoder.decode(png, source: goldenCase.heatMap)

        // The normalized map is what the picture was drawn from: the same colours, exactly.
        let colormap = try #require(Colormap.named(record.visualization.colormap))
        #expect(
            map.heatMap(colormap: colormap) == heatMap,
            "\(goldenCase.name): the CLI's heat map is not the colormapped normalized map of its .npy")

        return Outcome(
            heatMapPNG: png, heatMap: heatMap,
            normalized: try Tensor(shape: [map.height, map.width], storage: map.values),
            sign: sign.rawValue, outlierPercent: record.visualization.outlierPercent,
            colormap: record.visualization.colormap)
    }

    /// The parts of the CLI's `<stem>.<method>.json` the goldens need.
    struct CLIRecord: Decodable {
        struct Visualization: Decodable {
            var sign: String
            var outlierPercent: Double
            var colormap: String
        }
        var visualization: Visualization
    }

    /// Writes a failing case's actual picture where a person can open it; returns the path.
    static func keepActual(_ png: Data, name: String) -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("leaflens-golden-actual-\(name)")
        do {
            try png.write(to: url)
            return url.path
        } catch {
            return "(could not be saved: \(error))"
        }
    }
}

/// Golden/manifest.json: every case with its exact command line (OUT stands for the output directory,
/// paths are relative to the repository root), and the tolerances the test applies.
struct GoldenManifest: Codable, Equatable {
    struct Tolerances: Codable, Equatable {
        /// |actual − golden| allowed in the normalized map.
        var normalizedMapAbsolute: Double
        /// Largest difference allowed in any channel of any heat-map pixel, in 8-bit levels.
        var heatMapLevels: Int
        /// How many heat-map pixels may differ at all (1% of 112×112).
        var heatMapMaxDifferingPixels: Int

        static let standard = Tolerances(normalizedMapAbsolute: 1e-4, heatMapLevels: 2, heatMapMaxDifferingPixels: 125)
    }

    struct Case: Codable, Equatable, Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var method: String
        var arguments: [String]
        var command: String
        var heatMap: String
        var normalizedMap: String
        /// How the CLI normalized and coloured the map (from its .json), recorded for readers.
        var sign: String?
        var outlierPercent: Double?
        var colormap: String?

        var testDescription: String { name }
    }

    var comment =
        "Written by scripts/regenerate-golden; compared by Tests/LeafLensCLITests/GoldenTests.swift. Model: the bundled default (no --weights)."
    var tolerances = Tolerances.standard
    var cases: [Case]

    init(cases: [Case]) { self.cases = cases }
}

/// Compares two pictures channel by channel.
struct PictureComparison: CustomStringConvertible {
    var sameSize: Bool
    var actualSize: (Int, Int)
    var expectedSize: (Int, Int)
    var largestDifference = 0
    /// (x, y, channel) of the largest difference.
    var worst = (x: 0, y: 0, channel: 0)
    var worstValues = (actual: UInt8(0), expected: UInt8(0))
    var differingPixels = 0

    init(actual: RGBImage, expected: RGBImage) {
        actualSize = (actual.width, actual.height)
        expectedSize = (expected.width, expected.height)
        sameSize = actualSize == expectedSize
        guard sameSize else { return }
        for y in 0..<actual.height {
            for x in 0..<actual.width {
                let a = actual[x, y], e = expected[x, y]
                let pairs = [(a.r, e.r), (a.g, e.g), (a.b, e.b)]
                var differs = false
                for (channel, (va, ve)) in pairs.enumerated() {
                    let d = abs(Int(va) - Int(ve))
                    if d > 0 { differs = true }
                    if d > largestDifference {
                        largestDifference = d
                        worst = (x, y, channel)
                        worstValues = (va, ve)
                    }
                }
                if differs { differingPixels += 1 }
            }
        }
    }

    func within(levels: Int, differingPixels limit: Int) -> Bool {
        sameSize && largestDifference <= levels && differingPixels <= limit
    }

    var description: String {
        guard sameSize else {
            return "size \(actualSize.0)x\(actualSize.1), golden \(expectedSize.0)x\(expectedSize.1)"
        }
        return """
            largest difference \(largestDifference) levels at (x \(worst.x), y \(worst.y)) channel \
            \("RGB".map(String.init)[worst.channel]) (actual \(worstValues.actual), golden \(worstValues.expected)); \
            \(differingPixels) pixels differ
            """
    }
}

extension JSONDecoder {
    static var golden: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

extension JSONEncoder {
    static var golden: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }
}
