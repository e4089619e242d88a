import Foundation
import LeafLensImaging
import LeafLensMath

/// One batch: inputs `[B, 3, S, S]`, labels, and the samples it came from.
public struct Batch: Sendable {
    public var inputs: Tensor<Float>
    public var labels: [Int]
    public var indices: [Int]
}

/// Decodes and transforms batches of an `ImageFolder`, one batch ahead on a background thread, so that
/// decoding and preprocessing overlap with the network's compute.
///
/// Randomness: the image at position p of epoch e uses `SeededRandom(seed: mix(seed, e, sample index))`, so
/// a batch's pixels do not depend on scheduling or on where a resumed run started.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: ImageFolder
    public let transform: ImageTransform
    public let batchSize: Int
    let seed: UInt64
    private let queue = DispatchQueue(label: "leaflens.batch-prefetch")
    private let lock = NSLock()
    private var pending: [Int: DispatchGroup] = [:]
    private var ready: [Int: Result<Batch, any Error>] = [:]
    private var order: [Int] = []
    private var epoch = 0

    public init(dataset: ImageFolder, transform: ImageTransform, batchSize: Int, seed: UInt64) {
        self.dataset = dataset
        self.transform = transform
        self.batchSize = max(1, batchSize)
        self.seed = seed
    }

    /// Number of batches per epoch (the last may be smaller).
    public var batchCount: Int { (dataset.samples.count + batchSize - 1) / batchSize }

    /// Starts an epoch: `shuffle` reorders the samples with a seeded permutation for this epoch.
    public func startEpoch(_ epoch: Int, shuffle shuffled: Bool) {
        lock.withLock {
            self.epoch = epoch
            pending = [:]
            ready = [:]
            order = Array(dataset.samples.indices)
        }
        if shuffled {
            var rng = SeededRandom(seed: Self.mix(seed, UInt64(epoch), 0x5348_5546))
            lock.withLock { shuffle(&order, &rng) }
        }
        prefetch(0)
    }

    /// Batch `index` of the current epoch (waits for it if it is being prepared) and starts preparing
    /// the next one.
    public func batch(_ index: Int) throws -> Batch {
        prefetch(index)
        let group = lock.withLock { pending[index] }
        group?.wait()
        prefetch(index + 1)
        let result = lock.withLock { () -> Result<Batch, any Error>? in
            defer { ready[index] = nil; pending[index] = nil }
            return ready[index]
        }
        guard let result else { throw DatasetError.unreadable("batch \(index) was not prepared") }
        return try result.get()
    }

    private func prefetch(_ index: Int) {
        guard index >= 0, index < batchCount else { return }
        let group = DispatchGroup()
        let (start, epoch, members) = lock.withLock { () -> (Bool, Int, [Int]) in
            guard pending[index] == nil && ready[index] == nil else { return (false, 0, []) }
            pending[index] = group
            let lower = index * batchSize
            return (true, self.epoch, Array(order[lower..<min(order.count, lower + batchSize)]))
        }
        guard start else { return }
        queue.async(group: group) {
            let result = Result { () throws -> Batch in try self.load(members, epoch: epoch) }
            self.lock.withLock { self.ready[index] = result }
        }
    }

    /// Decodes and transforms the given samples into one batch.
    public func load(_ members: [Int], epoch: Int) throws -> Batch {
        var tensors: [Tensor<Float>] = []
        for i in members {
            let sample = dataset.samples[i]
            var rng = SeededRandom(seed: Self.mix(seed, UInt64(epoch), UInt64(i)))
            let image: RGBImage
            do { image = try ImageDecoder.decode(contentsOf: sample.url) } catch {
                throw DatasetError.unreadable(error.description)
            }
            do { tensors.append(try transform.apply(image, &rng)) } catch {
                throw DatasetError.unreadable("\(sample.url.path): \(error)")
            }
        }
        let inputs = try Tensor.stack(tensors)
        return Batch(inputs: inputs, labels: members.map { dataset.samples[$0].label }, indices: members)
    }

    /// A SplitMix64 draw keyed by three words.
    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var r = SeededRandom(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (c &* 0xC2B2_AE3D_27D4_EB4F))
        return r.next()
    }
}
