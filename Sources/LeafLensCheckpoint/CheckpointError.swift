/// A checkpoint LeafLens will not read, with the file, what kind of problem it is, and the problem in words.
///
/// Every path from file bytes to tensors throws this instead of trapping; `kind` lets callers and tests tell
/// a hostile file (`forbiddenGlobal`, `forbiddenCall`) from a damaged one (`truncated`) or a layout that is
/// simply not a ResNet (`layout`).
///
///     model.pth: GLOBAL os.system is refused: LeafLens never imports or calls code named by a checkpoint
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Not a zip, legacy torch, or safetensors file at all.
        case unknownFormat
        /// The pre-1.6 (non-zip) torch format; the message carries the command that re-saves it.
        case legacyFormat
        /// A TorchScript archive (`torch.jit.save`), whose weights live in code LeafLens does not run.
        case torchScript
        /// The zip container is damaged, truncated, or lies about its sizes.
        case malformedArchive
        /// An entry inflates beyond what it declares or beyond the limits (a zip bomb).
        case sizeLimit
        /// The pickle stream is damaged or inconsistent (stack underflow, bad memo index, truncated opcode).
        case malformedPickle
        /// An opcode outside the restricted subset (e.g. INST, OBJ, EXT1, PERSID).
        case unsupportedOpcode
        /// A GLOBAL from a module that is never allowed (`os`, `sys`, `subprocess`, `builtins.eval`, …).
        case forbiddenGlobal
        /// A REDUCE/NEWOBJ/BUILD whose callable or class is not one of torch's weight-rebuilding functions.
        case forbiddenCall
        /// Nesting deeper than `CheckpointLimits.maxDepth`, or a structure mutated after it was nested.
        case tooDeep
        /// A tensor or storage that does not fit its data, or a persistent id naming a missing record.
        case invalidTensor
        /// A storage or tensor element type LeafLens does not convert (complex, quantized, …).
        case unsupportedType
        /// The file holds no ResNet state_dict LeafLens can map (keys, shapes, architecture, labels).
        case layout
    }

    public var kind: Kind
    /// The file's path, or a label such as `"<memory>"`.
    public var file: String
    /// What is wrong, as a sentence fragment without the file name.
    public var problem: String

    public init(_ kind: Kind, file: String, _ problem: String) {
        self.kind = kind
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// Resource bounds applied while reading an untrusted checkpoint. The defaults admit any real ResNet
/// checkpoint (a full resnet152 with its optimizer state is ≈ 700 MB) and refuse absurd claims early.
public struct CheckpointLimits: Sendable, Equatable {
    /// Largest uncompressed size of any one zip entry (a storage or `data.pkl`).
    public var maxEntryBytes: Int
    /// Largest total of all uncompressed bytes read from one archive.
    public var maxTotalBytes: Int
    /// Largest `data.pkl`.
    public var maxPickleBytes: Int
    /// Most entries in the zip's central directory.
    public var maxEntries: Int
    /// Deepest nesting of containers, objects and MARKs in the pickle.
    public var maxDepth: Int
    /// Most elements materialised over all tensors of one load (views of one storage count each time).
    public var maxTensorElements: Int

    public init(
        maxEntryBytes: Int = 4 << 30, maxTotalBytes: Int = 16 << 30, maxPickleBytes: Int = 256 << 20,
        maxEntries: Int = 200_000, maxDepth: Int = 200, maxTensorElements: Int = 2 << 30
    ) {
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxPickleBytes = maxPickleBytes
        self.maxEntries = maxEntries
        self.maxDepth = maxDepth
        self.maxTensorElements = maxTensorElements
    }

    public static let `default` = CheckpointLimits()
}
