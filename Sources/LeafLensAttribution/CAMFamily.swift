import LeafLensMath

/// Options every method of the pytorch-grad-cam family takes (`GradCAMPlusPlus`, `XGradCAM`,
/// `LayerCAM`, `HiResCAM`, `GradCAMElementWise`, `EigenCAM`, `EigenGradCAM`, `ScoreCAM`,
/// `AblationCAM`, and `PyTorchGradCAM` — Grad-CAM with pytorch-grad-cam's post-processing).
public struct CAMParameters: Sendable, Equatable {
    /// Target layers (`--layer layer3,layer4`). With several, each layer's map is finished on its own
    /// (ReLU → min–max → resize) and the maps are averaged and min–max normalised again, as
    /// pytorch-grad-cam's `aggregate_multi_layers` does.
    public var layers: [String]
    /// `eigen_smooth`: the first principal component of the per-channel weighted activations replaces
    /// their channel sum (no effect on EigenCAM/EigenGradCAM, which always project).
    public var eigenSmooth: Bool
    /// `aug_smooth`: the mean of the finished maps of six test-time augmentations (ttach's
    /// HorizontalFlip × Multiply(0.9, 1, 1.1)), each flipped back; not renormalised.
    public var augSmooth: Bool
    /// Images per forward pass for ScoreCAM (pytorch-grad-cam: 16) and AblationCAM (32). nil = those
    /// defaults. Does not change ScoreCAM's numbers; see `AblationCAM` for AblationCAM's.
    public var batchSize: Int?
    /// Which of the two signs of the principal component EigenCAM/EigenGradCAM/eigen-smooth use.
    public var projectionSign: ProjectionSign

    public init(
        layers: [String] = ["layer4"], eigenSmooth: Bool = false, augSmooth: Bool = false,
        batchSize: Int? = nil, projectionSign: ProjectionSign = .alignedWithChannelSum
    ) {
        self.layers = layers
        self.eigenSmooth = eigenSmooth
        self.augSmooth = augSmooth
        self.batchSize = batchSize
        self.projectionSign = projectionSign
    }
}

/// What a CAM method sees at one target layer for one batch.
struct CAMLayerData<Scalar: TensorScalar> {
    let layer: String
    /// The layer's output A `[N, C, h, w]` and ∂(Σᵢ F(x)[i, tᵢ])/∂A, same shape.
    let activation: Tensor<Scalar>
    let gradient: Tensor<Scalar>
    /// The (possibly augmented) input `[N, 3, H, W]` and the targets used for it.
    let input: Tensor<Scalar>
    let targets: [Int]

    var batch: Int { activation.shape[0] }
    var channels: Int { activation.shape[1] }
    var area: Int { activation.shape[2] * activation.shape[3] }
}

/// How a method turns one layer's data into per-example, per-channel weighted activations
/// (`[N][C·h·w]`, channel-major, in Double); the engine sums them over channels (or projects them).
typealias CAMWeighting<Scalar: TensorScalar> = (CAMLayerData<Scalar>) throws -> [[Double]]

/// pytorch-grad-cam 1.5.7's `BaseCAM` pipeline around a method's weighting:
///
///     per layer:   raw[n] = Σ_c weighted[n, c]   (or the first principal component, see `CAMProjection`)
///                  map[n] = resize(minmax(max(raw[n], 0)), H×W)
///     layers:      cam[n] = minmax(mean_l max(map_l[n], 0))
///     minmax(m)    = (m − min m) / (1e−7 + max(m − min m))   in Model.Scalar (Float: the maximum is 0.9999999)
///     resize       = bilinear, half-pixel centres, edge clamp (cv2.INTER_LINEAR; within ~1e−7 of OpenCV,
///                    whose IPP build is not bit-reproducible)
///
/// Output `[N, 1, H, W]` in the model's precision: every step runs in `Model.Scalar`, so a Float model
/// follows the library's float32 arithmetic and a Double model is the same pipeline in float64 (what the
/// float64 parity fixtures hold the library to, its float32 casts widened). `targets == nil` explains
/// each image's (augmented image's) argmax, like `targets=None`.
///
/// **Target layers modified in place (decision).** pytorch-grad-cam records a layer's output tensor by
/// reference; torchvision's `BasicBlock` then adds the identity to `bn2`'s output and applies an in-place
/// ReLU, so at a `layerL.B.bn2` tap the library pairs the *block output* (post-modification) with the
/// gradient of the true bn2 output, and at the reused `layerL.B.relu` module it takes the first call.
/// LeafLens always uses the true activation of the named value and its own gradient (what Captum's
/// LayerGradCam and the papers mean), so on `…bn2` layers the numbers differ from the library's on
/// purpose; block outputs (`layer4`, `layer4.1`, the usual targets) are unaffected and match.
enum CAMEngine {
    static func run<Model: AttributionModel>(
        model: Model, input: Tensor<Model.Scalar>, targets: [Int]?, parameters: CAMParameters,
        alwaysProjects: Bool, weighting: CAMWeighting<Model.Scalar>
    ) throws -> Tensor<Model.Scalar> {
        guard input.rank == 4, input.shape[0] > 0 else {
            throw AttributionError.shapeMismatch("CAM methods need an input [N, C, H, W], got \(input.shape)")
        }
        if let targets { try validateBatch(input, targets: targets, classCount: model.classCount) }
        guard !parameters.layers.isEmpty else {
            throw AttributionError.invalidOption("CAM methods need at least one layer")
        }
        if let size = parameters.batchSize, size < 1 {
            throw AttributionError.invalidOption("CAM batch size must be at least 1, got \(size)")
        }
        let project = alwaysProjects || parameters.eigenSmooth
        guard parameters.augSmooth else {
            return try finishedMap(model, input, targets, parameters, project: project, weighting: weighting)
        }
        // ttach: product of HorizontalFlip (False, True) and Multiply (0.9, 1, 1.1), flip outermost.
        var sum = [Double](repeating: 0, count: input.shape[0] * input.shape[2] * input.shape[3])
        var shape: [Int] = []
        for flip in [false, true] {
            for factor in [0.9, 1.0, 1.1] as [Model.Scalar] {
                var augmented = flip ? flippedWidth(input) : input
                if factor != 1 { augmented.storage = augmented.storage.map { $0 * factor } }
                var map = try finishedMap(model, augmented, targets, parameters, project: project, weighting: weighting)
                if flip { map = flippedWidth(map) }
                for i in sum.indices { sum[i] += Double(map.storage[i]) }
                shape = map.shape
            }
        }
        return try checkedTensor(shape: shape, storage: sum.map { Model.Scalar($0 / 6) })
    }

    /// One pass of `BaseCAM.forward`: every layer finished, then aggregated.
    static func finishedMap<Model: AttributionModel>(
        _ model: Model, _ input: Tensor<Model.Scalar>, _ targets: [Int]?, _ parameters: CAMParameters,
        project: Bool, weighting: CAMWeighting<Model.Scalar>
    ) throws -> Tensor<Model.Scalar> {
        typealias S = Model.Scalar
        let (batch, height, width) = (input.shape[0], input.shape[2], input.shape[3])
        let chosen = try targets ?? argmaxTargets(model, input)
        var layerMaps: [Tensor<S>] = []
        for layer in parameters.layers {
            let raw = try rawMap(model, input, chosen, layer: layer, parameters, project: project, weighting: weighting)
            var map = raw
            map.storage = map.storage.map { $0 > 0 ? $0 : 0 }
            map = minMaxNormalised(map)
            layerMaps.append(try Upsample.resize(map, to: [height, width], mode: .bilinear))
        }
        if layerMaps.count == 1 { return minMaxNormalised(layerMaps[0]) }
        let plane = batch * height * width
        var mean = [S](repeating: 0, count: plane)
        for map in layerMaps {
            for i in 0..<plane { mean[i] += max(map.storage[i], 0) }
        }
        let count = S(layerMaps.count)
        return minMaxNormalised(try checkedTensor(shape: [batch, 1, height, width], storage: mean.map { $0 / count }))
    }

    /// The method's raw map at one layer, `[N, 1, h, w]` (before ReLU and normalisation).
    static func rawMap<Model: AttributionModel>(
        _ model: Model, _ input: Tensor<Model.Scalar>, _ targets: [Int], layer: String,
        _ parameters: CAMParameters, project: Bool, weighting: CAMWeighting<Model.Scalar>
    ) throws -> Tensor<Model.Scalar> {
        let (_, activation, gradient) = try model.layerGradient(input, layer: layer, targets: targets)
        guard activation.rank == 4, activation.shape == gradient.shape, activation.shape[0] == input.shape[0] else {
            throw AttributionError.shapeMismatch(
                "CAM methods need a layer output [N, C, h, w]; layer '\(layer)' gave \(activation.shape)")
        }
        let data = CAMLayerData(
            layer: layer, activation: activation, gradient: gradient, input: input, targets: targets)
        let weighted = try weighting(data)
        let (channels, area) = (data.channels, data.area)
        var raw: [Model.Scalar] = []
        raw.reserveCapacity(data.batch * area)
        for n in 0..<data.batch {
            let w = weighted[n]
            if project {
                let p = CAMProjection.firstComponent(w, channels: channels, area: area, sign: parameters.projectionSign)
                raw.append(contentsOf: p.map { Model.Scalar($0) })
            } else {
                for j in 0..<area {
                    var s = 0.0
                    for c in 0..<channels { s += w[c * area + j] }
                    raw.append(Model.Scalar(s))
                }
            }
        }
        return try checkedTensor(shape: [data.batch, 1, activation.shape[2], activation.shape[3]], storage: raw)
    }

    /// pytorch-grad-cam's `scale_cam_image` without resizing, per example (each `[1, h, w]` plane):
    /// m − min, then ÷ (1e−7 + max), in the map's precision (Float for a Float model, as the library's
    /// float32 arrays). A constant map becomes 0; NaN spreads, as in numpy.
    static func minMaxNormalised<S: TensorScalar>(_ map: Tensor<S>) -> Tensor<S> {
        var out = map
        let batch = map.shape[0]
        let plane = map.count / max(batch, 1)
        for n in 0..<batch {
            let range = (n * plane)..<((n + 1) * plane)
            var low = S.infinity
            var sawNaN = false
            for i in range {
                if map.storage[i].isNaN { sawNaN = true }
                low = min(low, map.storage[i])
            }
            var high = -S.infinity
            for i in range {
                out.storage[i] = map.storage[i] - low
                high = max(high, out.storage[i])
            }
            for i in range { out.storage[i] = sawNaN ? .nan : out.storage[i] / (1e-7 + high) }
        }
        return out
    }

    /// numpy's argmax (first maximum) of each output row.
    static func argmaxTargets<Model: AttributionModel>(_ model: Model, _ input: Tensor<Model.Scalar>) throws -> [Int] {
        let outputs = try model.outputs(input)
        let k = model.classCount
        guard outputs.shape == [input.shape[0], k] else {
            throw AttributionError.shapeMismatch(
                "model returned outputs \(outputs.shape) for a batch of \(input.shape[0])")
        }
        return (0..<input.shape[0]).map { n in
            var best = 0
            for c in 1..<max(k, 1) where outputs.storage[n * k + c] > outputs.storage[n * k + best] { best = c }
            return best
        }
    }

    /// Reverses the last axis of `[..., W]`.
    static func flippedWidth<S: TensorScalar>(_ t: Tensor<S>) -> Tensor<S> {
        var out = t
        let w = t.shape[t.rank - 1]
        for row in 0..<(t.count / w) {
            for x in 0..<w { out.storage[row * w + x] = t.storage[row * w + (w - 1 - x)] }
        }
        return out
    }

    // MARK: Weightings shared by several methods

    /// weighted[n, c] = w[n, c]·A[n, c] for per-(example, channel) weights `[N·C]`.
    static func channelWeighted<S: TensorScalar>(_ data: CAMLayerData<S>, weights: [Double]) -> [[Double]] {
        let (channels, area) = (data.channels, data.area)
        return (0..<data.batch).map { n in
            var out = [Double](repeating: 0, count: channels * area)
            for c in 0..<channels {
                let w = weights[n * channels + c]
                let base = (n * channels + c) * area
                for j in 0..<area { out[c * area + j] = w * Double(data.activation.storage[base + j]) }
            }
            return out
        }
    }

    /// weighted[n, c, j] = f(G, A) element-wise.
    static func elementWise<S: TensorScalar>(_ data: CAMLayerData<S>, _ f: (Double, Double) -> Double) -> [[Double]] {
        let size = data.channels * data.area
        return (0..<data.batch).map { n in
            (0..<size).map { i in
                f(Double(data.gradient.storage[n * size + i]), Double(data.activation.storage[n * size + i]))
            }
        }
    }
}

/// Which library's numbers `grad-cam` gives (`--cam-postprocess captum|grad-cam`): Captum's
/// `LayerGradCam` raw map (`GradCAM`), or pytorch-grad-cam's finished map (`NormalizedGradCAM`).
public enum CAMPostprocessing: String, CaseIterable, Sendable {
    /// Captum 0.9 `LayerGradCam` (+ `LayerAttribution.interpolate`): raw weighted sum, optional ReLU/upsampling.
    case captum
    /// pytorch-grad-cam 1.5.7: ReLU, min–max with 1e−7, bilinear resize to the input (cv2 semantics).
    case gradCAM = "grad-cam"
}
