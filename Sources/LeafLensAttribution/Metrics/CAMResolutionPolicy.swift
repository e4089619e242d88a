/// How large the network input should be for a Grad-CAM map to localise: a layer with total stride s
/// has a ⌈S/s⌉-cell grid, and the upsampled map's maximum can only sit at a cell centre.
///
/// Measured on the bundled synthetic-leaf model (issue 13 item 5; 100 held-out diseased leaves, seed
/// 424242, lesions 231–1133 px at 128 px, tolerance 15·S/224): at S = 128 layer4 is a 4×4 grid of 32-px
/// cells and points at the lesion in 71 % of images (layer3 87 %); with the same 128-px images fed at
/// S = 256 (an 8×8 layer4 grid) layer4 reaches ≥ 90 % (numbers and commands in the report of the
/// metrics branch). The cause is the grid resolution, not the lesions or the model.
public enum CAMResolutionPolicy {
    /// ResNet18's total stride at `layer4` (conv1 2 · maxpool 2 · layer2 2 · layer3 2 · layer4 2).
    public static let layer4Stride = 32

    /// The smallest input side ≥ `imageSize` giving the layer a grid of at least `minimumCells` per
    /// side: max(S, minimumCells·stride).
    public static func explanationInputSize(imageSize: Int, stride: Int = layer4Stride, minimumCells: Int = 8) -> Int {
        max(imageSize, minimumCells * stride)
    }
}
