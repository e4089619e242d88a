import CLeafLensKernels
import Foundation

/// Raw pointers crossing into `Parallel.forEach` workers. Every worker writes a disjoint range,
/// which is what makes this sound; the box only tells the compiler we checked.
public struct UnsafeSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}

/// How LeafLens spreads work over cores. OpenBLAS itself runs single-threaded (see `BLASRuntime`);
/// parallelism comes from splitting work here: over images in a batch, or over column blocks of one GEMM.
public enum Parallel {
    /// Worker count: one per active processor.
    public static let workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(i)` for i in 0..<count, concurrently when count > 1, on LeafLens's own pool
    /// (`parallel.c`: workers spin briefly between regions, so the ~20 regions of a forward pass do not
    /// each pay a thread wake-up). Nested or concurrent calls run inline on the calling thread.
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { task in
            var task = task
            withUnsafeMutablePointer(to: &task) { pointer in
                leaflens_parallel_for(
                    count,
                    { context, index in
                        // safe: `context` is `pointer`, valid until leaflens_parallel_for returns.
                        context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(index)
                    }, pointer)
            }
        }
    }

    /// Splits 0..<total into at most `workers` contiguous chunks of at least `minimum` items.
    public static func chunks(_ total: Int, minimum: Int = 1) -> [Range<Int>] {
        let parts = max(1, min(workers, total / max(1, minimum)))
        var ranges: [Range<Int>] = []
        var start = 0
        for p in 0..<parts {
            let end = total * (p + 1) / parts
            if end > start { ranges.append(start..<end) }
            start = end
        }
        return ranges
    }
}
