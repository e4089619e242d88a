import Foundation
import LeafLensTraining

/// `synth` as library code: a synthetic leaf-disease ImageFolder with lesion masks.
public enum SyntheticData {
    /// The class folders, in order.
    public static var classNames: [String] { SyntheticDisease.allCases.map(\.rawValue) }

    /// Writes `perClass` images of every class under `out` and their masks under `masks`; returns the
    /// number of images. `progress(done, total)` may be called from several threads.
    public static func generate(
        out: String, masks: String, perClass: Int, seed: UInt64, size: Int,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Int {
        let total = perClass * SyntheticDisease.allCases.count
        var perImage: (@Sendable (Int) -> Void)? = nil
        if let progress { perImage = { done in progress(done, total) } }
        do {
            return try SyntheticDataset.generate(
                out: URL(fileURLWithPath: out), masks: URL(fileURLWithPath: masks), perClass: perClass, seed: seed,
                size: size, progress: perImage
            ).images
        } catch {
            throw PipelineError("cannot write the data set: \(error)")
        }
    }
}
