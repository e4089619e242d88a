import LeafLensTraining

/// The one rule for how big a network input is, shared by every command (classify, explain, evaluate,
/// train): torchvision's evaluation transform `Resize(resize)` (shorter side) → `CenterCrop(crop)`.
///
///     crop   = the option ?? the weights' `image_size` ?? 224
///     resize = nil with --no-resize, else the option ?? the weights' `resize` ?? round(crop · 256/224)
///
/// so the defaults are torchvision's 256/224 and a model trained by `leaflens train` is read at the
/// size it was trained at (the keys are `CheckpointMetadata.imageSize` / `.resize`). Stored values
/// outside `allowed` are ignored.
public struct InputSize: Sendable, Equatable, Codable {
    /// Shorter side after resizing; nil: no resize (center-crop only).
    public var resize: Int?
    public var crop: Int

    public static let defaultCrop = 224
    public static let defaultResize = 256
    /// Sizes the options and the metadata may give.
    public static let allowed = 1...16_384

    public init(resize: Int?, crop: Int) {
        self.resize = resize
        self.crop = crop
    }

    /// Resolves the sizes from the options (nil: not given) and the weights file's metadata.
    public static func resolve(
        resize: Int? = nil, crop: Int? = nil, noResize: Bool = false, metadata: [String: String]
    ) -> InputSize {
        func stored(_ key: String) -> Int? {
            metadata[key].flatMap { Int($0) }.flatMap { allowed.contains($0) ? $0 : nil }
        }
        let crop = crop ?? stored(CheckpointMetadata.imageSize) ?? defaultCrop
        if noResize { return InputSize(resize: nil, crop: crop) }
        return InputSize(
            resize: resize ?? stored(CheckpointMetadata.resize) ?? proportionalResize(crop: crop), crop: crop)
    }

    /// torchvision's ratio 256/224, rounded: 256 for 224, 128 for 112, 146 for 128.
    public static func proportionalResize(crop: Int) -> Int {
        Int((Double(crop) * Double(defaultResize) / Double(defaultCrop)).rounded())
    }

    /// These sizes as LeafLensTraining's evaluation transform, which always resizes (evaluate and train
    /// have no --no-resize; a nil resize would resize the shorter side to the crop).
    var evaluationTransform: ImageTransform { .evaluation(resize: resize ?? crop, size: crop) }
}
