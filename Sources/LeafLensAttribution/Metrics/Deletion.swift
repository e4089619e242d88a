import LeafLensMath

/// Deletion (RISE): ranked pixels replaced by the zero substrate — in normalised space, the mean colour.
/// Lower AUC = more faithful.
public enum Deletion {
    public static func curve<Model: AttributionModel>(
        model: Model, image: Tensor<Model.Scalar>, ranking: [Float], step: Int? = nil,
        ties: PixelRanking.TieOrder = .ascendingIndex, batchSize: Int = 16
    ) throws -> CausalCurve {
        try CausalMetric.curve(
            model: model, image: image, ranking: ranking, mode: .deletion, step: step, ties: ties,
            batchSize: batchSize)
    }
}
