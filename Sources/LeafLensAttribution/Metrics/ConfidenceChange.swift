import LeafLensMath

/// pytorch-grad-cam 1.5.7's `CamMultImageConfidenceChange` family: the image (in normalised space) is
/// multiplied by a [0, 1] map broadcast over channels, and the target's softmax probability compared:
///
///     change   = p(target | x ⊙ cam) − p(target | x)        (Float)
///     drop     = max(−change, 0)        (`DropInConfidence`; lower = more faithful)
///     increase = 1 if change > 0 else 0 (`IncreaseInConfidence`; its mean over images is a share)
///
/// Low-map pixels move toward 0, i.e. toward the normalisation mean colour, not black.
public enum ConfidenceChange {
    public struct Result: Sendable, Equatable, Codable {
        public var change: Double
        public var drop: Double
        public var increase: Double

        public init(change: Double, drop: Double, increase: Double) {
            (self.change, self.drop, self.increase) = (change, drop, increase)
        }
    }

    /// pytorch-grad-cam's map normalisation (`BaseCAM` ReLU, then `scale_cam_image`):
    /// m ← max(m, 0); m ← m − min m; m ← m / (1e−7 + max m), in Float.
    public static func unitMap(_ map: [Float]) -> [Float] {
        let relu = map.map { max($0, 0) }
        let low = relu.min() ?? 0
        let shifted = relu.map { $0 - low }
        let high = shifted.max() ?? 0
        return shifted.map { $0 / (1e-7 + high) }
    }

    @_specialize(where Model == ResNetClassifier<Float>)
    public static func evaluate<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, cam: [Float], target: Int
    ) throws -> Result {
        let (channels, height, width) = try CausalMetric.imageDimensions(image)
        let pixels = height * width
        guard cam.count == pixels else {
            throw MetricError.shapeMismatch("confidence map has \(cam.count) values for a \(height)×\(width) image")
        }
        guard (0..<model.classCount).contains(target) else {
            throw MetricError.invalidOption("target \(target) is outside the model's classes 0..<\(model.classCount)")
        }
        var multiplied = image.storage
        for c in 0..<channels {
            for p in 0..<pixels { multiplied[c * pixels + p] *= Model.Scalar(cam[p]) }
        }
        let batch = try Tensor.stack([
            image.item(0), Tensor(uncheckedShape: Array(image.shape.dropFirst()), storage: multiplied),
        ])
        let p = try probabilities(model.outputs(batch), columns: [target, target])
        let change = Float(p[1]) - Float(p[0])
        return Result(change: Double(change), drop: Double(max(-change, 0)), increase: change > 0 ? 1 : 0)
    }
}
