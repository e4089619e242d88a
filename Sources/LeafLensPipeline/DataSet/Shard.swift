import Foundation

/// One of N disjoint parts of a data set, chosen by a stable hash of each image's relative path.
///
/// An image belongs to shard `fnv1a64(relativePath) mod N`, where `fnv1a64` is the 64-bit FNV-1a hash of
/// the path's UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3). The assignment depends on
/// nothing but the path and N, so adding or removing images never moves the others, and every task of an
/// array job computes the same split without talking to the others.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// Zero-based shard index K, `0 <= index < count`.
    public let index: Int
    /// Number of shards N, at least 1.
    public let count: Int

    /// The whole data set as one shard.
    public static let whole = Shard(validated: 0, of: 1)

    public init(_ index: Int, of count: Int) throws(ShardError) {
        guard count >= 1 else { throw .invalid("the shard count must be at least 1, got \(count)") }
        guard (0..<count).contains(index) else {
            throw .invalid("shard \(index)/\(count) does not exist: K must be in 0…\(count - 1) for N = \(count)")
        }
        self.init(validated: index, of: count)
    }

    private init(validated index: Int, of count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `K/N` (zero-based K), e.g. `0/4`.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
            let n = Int(parts[1].trimmingCharacters(in: .whitespaces))
        else { throw .invalid("'\(text)' is not a shard: expected K/N with 0 <= K < N, e.g. 0/4") }
        try self.init(k, of: n)
    }

    /// The shard of this task of a Slurm array job (`SLURM_ARRAY_TASK_ID`, of `shards` or else
    /// `SLURM_ARRAY_TASK_COUNT`) or of a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, which carries no
    /// count: `shards` is then required).
    ///
    /// The task ID is the shard index itself, so that resubmitting one task (`sbatch --array=K`) reruns
    /// shard K. Such a resubmission is an array of one task (`SLURM_ARRAY_TASK_COUNT=1`): job scripts should
    /// pass the shard count explicitly (`--shards N`), as `scripts/slurm-explain` does.
    public static func fromEnvironment(_ environment: [String: String], shards: Int? = nil) throws(ShardError) -> Shard
    {
        func number(_ key: String) throws(ShardError) -> Int? {
            guard let text = environment[key] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw .invalid("\(key)='\(text)' is not a whole number")
            }
            return value
        }
        if let task = try number("SLURM_ARRAY_TASK_ID") {
            let given = try number("SLURM_ARRAY_TASK_COUNT")
            guard let count = shards ?? given else {
                throw .invalid("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shards N")
            }
            do { return try Shard(task, of: count) } catch {
                throw .invalid(
                    "SLURM_ARRAY_TASK_ID=\(task) is not a shard of \(count)\(shards == nil ? " (SLURM_ARRAY_TASK_COUNT)" : ""): "
                        + "task IDs must be 0…N-1; when resubmitting part of an array (sbatch --array=K), pass --shards N"
                )
            }
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let count = shards else {
                throw .invalid(
                    "JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but the job's completions are not known; pass --shards N"
                )
            }
            return try Shard(index, of: count)
        }
        throw .invalid(
            "--shard auto needs a Slurm array task (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with --shards N); neither is set"
        )
    }

    /// Whether the image at `relativePath` (relative to the data set root, `/`-separated) is in this shard.
    public func contains(relativePath: String) -> Bool {
        Int(Self.stableHash(relativePath) % UInt64(count)) == index
    }

    /// 64-bit FNV-1a of the UTF-8 bytes.
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// The file-name form used for records: `shard-K-of-N`.
    public var fileStem: String { "shard-\(index)-of-\(count)" }
}

public enum ShardError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): message
        }
    }
}
