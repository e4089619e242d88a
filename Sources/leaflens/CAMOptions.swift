import ArgumentParser
import Foundation
import LeafLensPipeline

extension CAMPostprocessing: ExpressibleByArgument {}
extension LimeSurrogate: ExpressibleByArgument {}

/// Options of the pytorch-grad-cam CAM family (`--layer` is Grad-CAM's, shared).
struct CAMOptions: ParsableArguments {
    @Flag(
        name: .customLong("eigen-smooth"),
        help:
            "CAM family: use the first principal component of the weighted activations instead of their channel sum (pytorch-grad-cam's eigen_smooth)."
    )
    var eigenSmooth = false

    @Flag(
        name: .customLong("aug-smooth"),
        help:
            "CAM family: average the maps of six test-time augmentations, horizontal flip × brightness 0.9/1/1.1 (pytorch-grad-cam's aug_smooth)."
    )
    var augSmooth = false

    @Option(
        name: .customLong("cam-batch-size"),
        help: ArgumentHelp(
            "score-cam, ablation-cam: images per forward pass (default: pytorch-grad-cam's 16 and 32).", valueName: "N")
    )
    var camBatchSize: Int?

    @Option(
        name: .customLong("cam-postprocess"),
        help: """
            grad-cam's numbers: captum (Captum 0.9 LayerGradCam, the default) or grad-cam (pytorch-grad-cam 1.5.7 \
            GradCAM: ReLU, min-max, bilinear resize, several --layer averaged; --no-relu and --upsample then do not apply).
            """)
    var camPostprocess: CAMPostprocessing = .captum

    func validate() throws {
        if let camBatchSize, !(1...4096).contains(camBatchSize) {
            throw ValidationError("--cam-batch-size must be in 1...4096, got \(camBatchSize)")
        }
    }

    func settings(layers: [String]) -> CAMSettings {
        var settings = CAMSettings()
        settings.layers = layers
        settings.eigenSmooth = eigenSmooth
        settings.augSmooth = augSmooth
        settings.batchSize = camBatchSize
        settings.postprocessing = camPostprocess
        return settings
    }
}

/// Options of Captum's segment methods.
struct SegmentOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Segment methods: the features perturbed together. grid:N (an N×N grid), slic:N[,C] (SLIC superpixels \
            of the RGB crop as scikit-image's slic: about N segments, compactness C, default 10), or FILE.png (a \
            label image the input's size; each distinct value is a segment).
            """, valueName: "spec"))
    var segments: String = SegmentSettings.defaultSpec.text

    @Option(
        name: .customLong("lime-model"),
        help: "lime: the interpretable model, lasso (Captum's SkLearnLasso, alpha 0.01) or linear-regression.")
    var limeModel: LimeSurrogate = .lasso

    var spec: SegmentSpec? { try? SegmentSpec(parsing: segments) }

    func validate() throws {
        do { _ = try SegmentSpec(parsing: segments) } catch {
            throw ValidationError("--segments \(segments): \(error)")
        }
    }

    /// `--samples` and `--seed` are shared with GradientShap and NoiseTunnel (one flag each).
    func settings(samples: Int?, seed: UInt64) -> SegmentSettings {
        var settings = SegmentSettings()
        if let spec { settings.spec = spec }
        settings.samples = samples
        settings.seed = seed
        settings.limeModel = limeModel
        return settings
    }
}

extension GradCAMOptions {
    /// `--layer a,b`: the layers, in order.
    var layers: [String] { layer.split(separator: ",", omittingEmptySubsequences: false).map { String($0) } }
}

extension Explain {
    /// Cross-option rules of the CAM family.
    func validateCAM() throws {
        let layers = gradCAM.layers
        if let empty = layers.firstIndex(where: \.isEmpty) {
            throw ValidationError("--layer \(gradCAM.layer): layer \(empty + 1) of the list is empty")
        }
        if layers.count > 1, method.methods.contains(.gradCAM), cam.camPostprocess == .captum {
            throw ValidationError(
                "--layer \(gradCAM.layer): grad-cam with Captum's numbers takes one layer; several layers need --cam-postprocess grad-cam"
            )
        }
    }

    /// "  grad-cam-plus-plus    pytorch-grad-cam 1.5.7 GradCAMPlusPlus", one line per method, for the discussion.
    static var methodTable: String {
        let width = (AttributionMethod.allCases.map(\.rawValue.count).max() ?? 0) + 2
        return AttributionMethod.allCases.map { method in
            "  " + method.rawValue.padding(toLength: width, withPad: " ", startingAt: 0) + method.reference
        }.joined(separator: "\n")
    }
}
