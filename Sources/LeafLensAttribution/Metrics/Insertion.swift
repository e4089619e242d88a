import LeafLensMath

/// Insertion (RISE): ranked pixels copied from the image into its Gaussian blur (`RISEBlur`).
/// Higher AUC = more faithful.
public enum Insertion {
    public static func curve<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, ranking: [Float], step: Int? = nil,
        ties: PixelRanking.TieOrder = .ascendingIndex, batchSize: Int = 16
    ) throws -> CausalCurve {
        try CausalMetric.curve(
            model: model, image: image, ranking: ranking, mode: .insertion, step: step, ties: ties,
            batchSize: batchSize)
    }
}
