import Foundation
import LeafLensImaging
import LeafLensMath

/// Writes a synthetic ImageFolder data set: `out/<class>/leaf-NNNNN.png` and, under `masks`, a lesion
/// mask of the same relative path (white = lesion; all black for healthy leaves).
public enum SyntheticDataset {
    public struct Summary: Sendable, Equatable {
        public var images: Int
        public var classes: [String]
    }

    /// File name of image `index` (same in the image and mask trees).
    public static func fileName(index: Int) -> String {
        "leaf-" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index) + ".png"
    }

    /// Generates `perClass` images of every class, rendering in parallel (each image is independent
    /// and a pure function of its seed, so the result does not depend on scheduling).
    public static func generate(
        out: URL, masks: URL?, perClass: Int, seed: UInt64, size: Int,
        classes: [SyntheticDisease] = SyntheticDisease.allCases,
        progress: (@Sendable (Int) -> Void)? = nil
    ) throws -> Summary {
        guard perClass >= 1 else { throw DatasetError.invalidOption("images per class must be at least 1") }
        let manager = FileManager.default
        for disease in classes {
            try manager.createDirectory(
                at: out.appendingPathComponent(disease.rawValue), withIntermediateDirectories: true)
            if let masks {
                try manager.createDirectory(
                    at: masks.appendingPathComponent(disease.rawValue), withIntermediateDirectories: true)
            }
        }
        let jobs = classes.flatMap { disease in (0..<perClass).map { (disease, $0) } }
        let failures = ErrorCollector()
        let done = Counter()
        Parallel.forEach(jobs.count) { j in
            let (disease, index) = jobs[j]
            do {
                let sample = try SyntheticLeaves.render(disease: disease, seed: seed, index: index, size: size)
                let name = disease.rawValue + "/" + fileName(index: index)
                try PNGWriter.write(sample.image, to: out.appendingPathComponent(name))
                if let masks { try PNGWriter.write(sample.maskImage, to: masks.appendingPathComponent(name)) }
                progress?(done.increment())
            } catch {
                failures.record(error)
            }
        }
        if let error = failures.first { throw error }
        return Summary(images: jobs.count, classes: classes.map(\.rawValue))
    }
}

/// First error recorded by concurrent workers.
final class ErrorCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func record(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
    var first: (any Error)? { lock.withLock { error } }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.withLock {
            value += 1; return value
        }
    }
}
