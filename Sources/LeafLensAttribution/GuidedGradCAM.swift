import LeafLensMath
import LeafLensModel

/// Guided Grad-CAM (Selvaraju et al. 2017), as Captum 0.9's `GuidedGradCam`:
///
///     cam    = ReLU(Σ_c mean_hw(∂F/∂A_c)·A_c)         `[N, 1, h, w]` at `layer` (LayerGradCam, relu on)
///     result = GuidedBackprop(x) ⊙ resize(cam, H×W)   broadcast over the input's channels
///
/// The upsampling defaults to Captum's legacy `nearest` (its `interpolate_mode` default), not
/// LeafLens Grad-CAM's bilinear; no normalisation and no further ReLU. The cam uses the ordinary
/// backward (standard ReLU rule), the guided part the guided rule, as in Captum.
///
/// Shapes: `input` `[N, C, H, W]` (any rank ≥ 3 with `nearest`), one target per example; the result
/// has the input's shape.
public enum GuidedGradCAM {
    public struct Parameters: Sendable, Equatable {
        /// The layer whose activations weight the map (LeafLens's Grad-CAM default is `layer4`).
        public var layer: String
        /// How the cam is brought to the input's size (Captum: nearest; `.none` is rejected).
        public var upsample: UpsampleMode

        public init(layer: String = "layer4", upsample: UpsampleMode = .nearest) {
            self.layer = layer
            self.upsample = upsample
        }
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func attribute<Model: GuidedAttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int], parameters: Parameters = Parameters()
    ) throws -> Tensor<Model.Scalar> {
        guard parameters.upsample != .none else {
            throw AttributionError.invalidOption(
                "guided grad-cam needs the map at the input's size: upsample must be nearest or bilinear")
        }
        guard input.rank >= 3 else {
            throw AttributionError.shapeMismatch(
                "guided grad-cam needs an input [N, C, spatial...], got \(input.shape)")
        }
        let cam = try GradCAM.attribute(
            model: model, input: input, layer: parameters.layer, targets: targets, relu: true,
            upsample: parameters.upsample)
        var result = try GuidedBackprop.attribute(model: model, input: input, targets: targets)
        let (batch, channels) = (input.shape[0], input.shape[1])
        let area = input.count / (batch * channels)
        guard cam.count == batch * area else {
            throw AttributionError.shapeMismatch("grad-cam map \(cam.shape) does not fit the input \(input.shape)")
        }
        result.storage.withUnsafeMutableBufferPointer { r in
            cam.storage.withUnsafeBufferPointer { m in
                for n in 0..<batch {
                    for c in 0..<channels {
                        let plane = (n * channels + c) * area
                        for j in 0..<area { r[plane + j] *= m[n * area + j] }
                    }
                }
            }
        }
        return result
    }
}
