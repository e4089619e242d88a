/// The `__metadata__` keys `leaflens train` writes into every checkpoint besides the labels, read back
/// by every command that loads the model (LeafLensPipeline's `InputSize` rule).
public enum CheckpointMetadata {
    /// The network input side S the model was trained at (the evaluation transform's CenterCrop).
    public static let imageSize = "image_size"
    /// The shorter side the evaluation transform resized to before cropping.
    public static let resize = "resize"
    /// The epoch the checkpoint was written after.
    public static let epoch = "epoch"
}
