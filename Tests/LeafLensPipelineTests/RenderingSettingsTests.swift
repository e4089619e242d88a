import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensPipeline

/// `explain`'s rendering settings (issue 14) in process: which files the views write, colour bars on
/// single pictures, styles per method, scales per image and across a run, and blank maps.
@Suite struct RenderingSettingsTests {
    static func job(_ configure: (inout RenderingSettings) -> Void = { _ in }) throws -> ExplanationJob {
        var job = try ExplanationJobTests.job()
        configure(&job.visualization.rendering)
        return job
    }

    static let path = PipelineFixtures.pngImage.path
    static let stem = "png_rgb8_300x200"

    static func record(_ result: ExplanationFileSet, _ name: String) throws -> [String: Any] {
        let json = try #require(result.files.entries.first { $0.name == name }?.data)
        return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }

    static func png(_ result: ExplanationFileSet, _ name: String) throws -> RGBImage {
        try ImageDecoder.decode(try #require(result.files.entries.first { $0.name == name }?.data), source: name)
    }

    @Test func viewsWriteExactlyTheRequestedFiles() throws {
        let job = try Self.job { $0.views = [.masked, .alpha, .original] }
        let result = try job.run(Self.path, methods: [.integratedGradients, .gradCAM], target: nil)
        let expected =
            ["integrated-gradients", "grad-cam"].flatMap { method in
                ["npy", "json", "masked.png", "alpha.png"].map { "\(Self.stem).\(method).\($0)" }
            } + ["\(Self.stem).original.png", "\(Self.stem).panel.png", "\(Self.stem).report.html"]
        #expect(result.files.entries.map(\.name) == expected)
        let files = try #require(try Self.record(result, "\(Self.stem).grad-cam.json")["files"] as? [String: Any])
        #expect(files["heat_map"] == nil && files["overlay"] == nil)
        #expect(files["masked"] as? String == "\(Self.stem).grad-cam.masked.png")
        #expect(files["original"] as? String == "\(Self.stem).original.png")
        #expect(try Self.png(result, "\(Self.stem).original.png") == (try job.loader.load(Self.path)).displayImage)
    }

    @Test func maskedWithSignAllIsRefused() throws {
        var job = try Self.job { $0.views = [.masked] }
        job.visualization.sign = .all
        #expect(throws: PipelineError.self) { try job.run(Self.path, methods: [.saliency], target: nil) }
    }

    @Test func colorBarOnSinglePicturesOnlyWhenAsked() throws {
        let plain = try Self.job().run(Self.path, methods: [.saliency], target: nil)
        #expect(try Self.png(plain, "\(Self.stem).saliency.png").height == 56)
        let barred = try Self.job { $0.colorBar = true }.run(Self.path, methods: [.saliency], target: nil)
        let picture = try Self.png(barred, "\(Self.stem).saliency.png")
        #expect(picture.height > 56 + 20 && picture.width >= 56)
    }

    @Test func stylePerMethodDrawsCAMMethodsInGradCAMsLook() throws {
        let job = try Self.job { $0.defaultStyle = .perMethod }
        let result = try job.run(Self.path, methods: [.integratedGradients, .gradCAM], target: nil)
        let cam = try #require(try Self.record(result, "\(Self.stem).grad-cam.json")["rendering"] as? [String: Any])
        let ig = try #require(
            try Self.record(result, "\(Self.stem).integrated-gradients.json")["rendering"] as? [String: Any])
        #expect(cam["style"] as? String == "grad-cam" && cam["overlay_base"] as? String == "color")
        #expect(ig["style"] as? String == "captum" && ig["overlay_base"] as? String == "gray")
        #expect((ig["typeface"] as? String)?.isEmpty == false)
        #expect(ig["warnings"] as? [String] == [])
        let visualization = try #require(
            try Self.record(result, "\(Self.stem).grad-cam.json")["visualization"] as? [String: Any])
        #expect(visualization["colormap"] as? String == "opencv-jet")
    }

    /// Two maps, one twice the other, on one min-max scale: the larger reaches twice as far up the bar.
    @Test func oneScaleKeepsTheRatioOfTwoMaps() throws {
        let job = try Self.job {
            $0.scale = .perImage
            $0.normalization = .minMax
        }
        let side = 8
        let input = try PipelineFixtures.input(side: side)
        let values = (0..<(side * side)).map { Float($0 % 7) * 0.01 }  // includes 0, so min-max keeps ratios
        func computed(_ method: AttributionMethod, _ scale: Float) throws -> ComputedMethod {
            let tensor = try Tensor<Float>(shape: [side, side], storage: values.map { $0 * scale })
            let explanation = Explanation(
                method: method, attributions: tensor, displayed: tensor, parameters: MethodParameters(),
                convergenceDelta: nil, seconds: 0)
            return try job.computed(explanation, path: "x.npy")
        }
        let items = [try computed(.saliency, 1), try computed(.inputXGradient, 2)]
        let scales = try job.scales(for: items, path: "x.npy")
        #expect(scales[0] == scales[1] && scales[0].mapCount == 2)
        let drawn = try zip(items, scales).map { try job.draw($0, scale: $1, input: input, base: "x", path: "x.npy") }
        expectClose(
            drawn[1].map.values, drawn[0].map.values.map { $0 * 2 }, atol: 1e-6, rtol: 1e-5, "2× map on one scale")
        #expect(abs((drawn[1].map.values.max() ?? 0) - 1) < 1e-5)
        // Per map, each fills the bar on its own: the ratio is lost.
        var perMap = job
        perMap.visualization.rendering.scale = .perMap
        let own = try perMap.scales(for: items, path: "x.npy")
        #expect(own[0].mapCount == 1 && own[0].high * 2 == own[1].high)
    }

    /// Seeded `.npy` inputs in a fresh directory (the caller removes it).
    static func seededInputs(_ name: String, seeds: [UInt64]) throws -> (directory: URL, paths: [String]) {
        let directory = try FixturePaths.temporaryDirectory(name)
        var paths: [String] = []
        for seed in seeds {
            let url = directory.appendingPathComponent("in\(seed).npy")
            try NPY.encode(ResNet18Input.seeded(seed: seed)).write(to: url)
            paths.append(url.path)
        }
        return (directory, paths)
    }

    /// Counts every attribution the job computes (the `explain` seam), by "<file stem> <method> <target>".
    final class ExplainCounter: @unchecked Sendable {
        var calls: [String] = []
        func install(on job: inout ExplanationJob) {
            job.explain = { [self] explainer, method, input, target, progress in
                calls.append("\(InputLoader.stem(input.path)) \(method.rawValue) \(target)")
                return try explainer.explain(method, input: input, target: target, progress: progress)
            }
        }
    }

    /// `--scale shared` over several inputs: one scale per method fitted over every input's map, each
    /// attribution computed exactly once, and each input drawn on it exactly as if the scale had been
    /// fitted in a separate pass over the same maps.
    @Test func sharedScaleIsFittedOverEveryInputComputingEachOnce() throws {
        let (directory, paths) = try Self.seededInputs("pipeline-shared-scale", seeds: [1, 2])
        defer { try? FileManager.default.removeItem(at: directory) }
        var job = try Self.job {
            $0.scale = .shared
            $0.normalization = .minMax
        }
        let counter = ExplainCounter()
        counter.install(on: &job)
        var results: [String: ExplanationFileSet] = [:]
        try job.run(paths, methods: [.saliency, .inputXGradient], target: nil) { path, result in
            results[path] = try result.get()
        }
        #expect(counter.calls.count == 4 && Set(counter.calls).count == 4, "\(counter.calls)")
        // The same maps, computed apart, give the scale the run drew on.
        var plain = job
        plain.explain = { try $0.explain($1, input: $2, target: $3, progress: $4) }
        let computed = try paths.flatMap { try plain.compute($0, methods: [.saliency, .inputXGradient], target: nil) }
        let scales = try plain.sharedScales(over: computed)
        let scale = try #require(scales[.saliency])
        #expect(scale.mapCount == 2 && scales[.inputXGradient]?.mapCount == 2)
        var highs: [Double] = []
        for path in paths {
            let result = try #require(results[path])
            let stem = InputLoader.stem(path)
            let rendering = try #require(
                try Self.record(result, "\(stem).saliency.json")["rendering"] as? [String: Any])
            #expect(rendering["scale_maps"] as? Int == 2 && rendering["scale"] as? String == "shared")
            highs.append(try #require(rendering["scale_high"] as? Double))
            // Drawn on a scale fitted beforehand (the old two-pass way), the pictures are the same bytes.
            var twoPass = plain
            twoPass.visualization.rendering.sharedScales = scales
            let again = try twoPass.run(path, methods: [.saliency, .inputXGradient], target: nil)
            for name in ["saliency.png", "saliency.overlay.png", "input-x-gradient.png", "panel.png"] {
                let file = "\(stem).\(name)"
                #expect(
                    result.files.entries.first { $0.name == file }?.data
                        == again.files.entries.first { $0.name == file }?.data,
                    "\(file)")
            }
        }
        #expect(highs[0] == highs[1] && Float(highs[0]) == scale.high)  // JSON carries the Float as a Double
    }

    /// `--targets top:2 --scale shared`: each input and class computed once, and the scale covers every
    /// map drawn on it (both classes of both inputs); an input that fails is delivered as a failure and
    /// left out of the scale.
    @Test func sharedScaleWithTopKAndAFailingInput() throws {
        let (directory, paths) = try Self.seededInputs("pipeline-shared-topk", seeds: [1, 2])
        defer { try? FileManager.default.removeItem(at: directory) }
        var job = try Self.job { $0.scale = .shared }
        let counter = ExplainCounter()
        counter.install(on: &job)
        let missing = directory.appendingPathComponent("missing.npy").path
        var delivered: [(String, Bool)] = []
        var maps: [Int] = []
        try job.run([paths[0], missing, paths[1]], methods: [.saliency], target: nil, topK: 2) { path, result in
            delivered.append((path, (try? result.get()) != nil))
            guard let set = try? result.get() else { return }
            let stem = InputLoader.stem(path)
            for k in 1...2 {
                let record = try Self.record(set, "\(stem).saliency.top\(k).json")
                maps.append(try #require((record["rendering"] as? [String: Any])?["scale_maps"] as? Int))
            }
        }
        #expect(counter.calls.count == 4 && Set(counter.calls).count == 4, "\(counter.calls)")
        // The failure is delivered while computing, before any input is drawn.
        #expect(delivered.map(\.0) == [missing, paths[0], paths[1]] && delivered.map(\.1) == [false, true, true])
        #expect(maps == [4, 4, 4, 4])
    }

    /// Per map, `run` over several inputs computes and delivers one input at a time.
    @Test func perMapRunOverInputsStreams() throws {
        let (directory, paths) = try Self.seededInputs("pipeline-per-map-run", seeds: [1, 2])
        defer { try? FileManager.default.removeItem(at: directory) }
        var job = try Self.job()
        let counter = ExplainCounter()
        counter.install(on: &job)
        var seenBeforeDelivery: [Int] = []
        try job.run(paths, methods: [.saliency], target: nil) { _, result in
            _ = try result.get()
            seenBeforeDelivery.append(counter.calls.count)
        }
        #expect(seenBeforeDelivery == [1, 2])
    }

    /// The report's comparison row names each unit once, with its methods, and no bracket doubles up
    /// (a unit name used to carry its own brackets inside the list's).
    @Test func reportSaysWhichUnitsDisagreeInPlainText() throws {
        let result = try Self.job().run(Self.path, methods: [.saliency, .gradCAM, .integratedGradients], target: nil)
        let html = String(
            decoding: try #require(result.files.entries.first { $0.name == "\(Self.stem).report.html" }?.data),
            as: UTF8.self)
        let note =
            "The methods&#39; units differ: gradient (Saliency); layer gradient × activation (Grad-CAM); "
            + "model output (Integrated Gradients). Read this row for where, not how much."
        #expect(html.contains("<p class=\"note\">\(note)</p>"))
        let notes = html.components(separatedBy: "<p class=\"note\">").dropFirst().map { $0.prefix { $0 != "<" } }
        #expect(!notes.isEmpty && notes.allSatisfy { !$0.contains("))") && !$0.contains("((") }, "\(notes)")
        // Methods measured in one unit share one group; every method has a unit.
        #expect(
            ExplanationSummary.unitsNote([("A", "model output"), ("B", "gradient"), ("C", "model output")])
                == "The methods' units differ: model output (A, C); gradient (B). Read this row for where, not how much."
        )
        #expect(AttributionMethod.allCases.allSatisfy { RenderingSettings.unit(of: $0) != nil })
        #expect(AttributionMethod.allCases.allSatisfy { !(RenderingSettings.unit(of: $0) ?? "(").contains("(") })
    }

    @Test func blankMapWarnsAndDrawsNoNaN() throws {
        let job = try Self.job()
        let input = try PipelineFixtures.input(side: 8)
        let zeros = try Tensor<Float>(shape: [3, 8, 8], storage: .init(repeating: 0, count: 192))
        let explanation = Explanation(
            method: .saliency, attributions: zeros, displayed: zeros, parameters: MethodParameters(),
            convergenceDelta: nil, seconds: 0)
        let item = try job.computed(explanation, path: "zero.npy")
        let scale = try #require(try job.scales(for: [item], path: "zero.npy").first)
        let drawing = try job.draw(item, scale: scale, input: input, base: "zero", path: "zero.npy")
        #expect(drawing.blank && drawing.warnings == [.allZero])
        #expect(drawing.map.values.allSatisfy { $0 == 0 })
        let lines = ExplanationJob.warningLines(drawing, method: .saliency, sign: item.sign, path: "zero.npy")
        #expect(lines.count == 1 && lines[0].contains("zero.npy") && lines[0].contains("blank"))
    }
}

/// A seeded preprocessed input `[1, 3, 48, 48]` as a `.npy` file holds it.
enum ResNet18Input {
    static func seeded(seed: UInt64) throws -> Tensor<Float> { try PipelineFixtures.input(side: 48, seed: seed).tensor }
}
