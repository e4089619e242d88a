/// Element types of torch storages that LeafLens reads. Storage classes map to them by name
/// (`torch.FloatStorage` → `.float32`, `torch.HalfStorage` → `.float16`, …; `torch.UntypedStorage` is bytes).
public enum TorchDType: String, Sendable, CaseIterable {
    case float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: true
        default: false
        }
    }

    /// torch's own spelling, e.g. `torch.bfloat16`.
    public var name: String { "torch.\(rawValue)" }

    /// The dtype of a legacy typed-storage class (`FloatStorage`, …) or `UntypedStorage` (bytes).
    static func ofStorageClass(_ name: String) -> TorchDType? {
        switch name {
        case "DoubleStorage": .float64
        case "FloatStorage": .float32
        case "HalfStorage": .float16
        case "BFloat16Storage": .bfloat16
        case "LongStorage": .int64
        case "IntStorage": .int32
        case "ShortStorage": .int16
        case "CharStorage": .int8
        case "ByteStorage", "UntypedStorage": .uint8
        case "BoolStorage": .bool
        default: nil
        }
    }

    /// The dtype named by a `torch.<dtype>` global (`torch.float32`, `torch.half`, …).
    static func ofTorchAttribute(_ name: String) -> TorchDType? {
        switch name {
        case "float64", "double": .float64
        case "float32", "float": .float32
        case "float16", "half": .float16
        case "bfloat16": .bfloat16
        case "int64", "long": .int64
        case "int32", "int": .int32
        case "int16", "short": .int16
        case "int8": .int8
        case "uint8": .uint8
        case "bool": .bool
        default: nil
        }
    }
}

/// A storage named by a persistent id `('storage', StorageClass, key, location, numel)`: its bytes are the
/// archive record `<top>/data/<key>`, `elementCount · dtype.byteSize` long. Read only when a tensor needs it.
public struct StorageReference: Sendable, Equatable {
    public let key: String
    public let dtype: TorchDType
    public let elementCount: Int
    /// Where torch had it (`cpu`, `cuda:0`, …); LeafLens always loads to the CPU.
    public let location: String
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage.
///
/// Element `(i₀, …, iₖ)` lives at storage index `offset + Σ iⱼ·strideⱼ`. The view is checked against its
/// storage when it is made (`validated`), before any data is read: every index it can reach must lie
/// inside the storage, which also bounds its element count by the storage's.
public final class TensorReference: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let storage: StorageReference
    public let storageOffset: Int
    public let shape: [Int]
    public let strides: [Int]
    /// True for `nn.Parameter` (via `_rebuild_parameter`).
    public let isParameter: Bool

    public var dtype: TorchDType { storage.dtype }
    public var elementCount: Int { shape.reduce(1, *) }  // safe: checked not to overflow in `validated`

    init(storage: StorageReference, storageOffset: Int, shape: [Int], strides: [Int], isParameter: Bool) {
        self.storage = storage
        self.storageOffset = storageOffset
        self.shape = shape
        self.strides = strides
        self.isParameter = isParameter
    }

    func asParameter() -> TensorReference {
        TensorReference(
            storage: storage, storageOffset: storageOffset, shape: shape, strides: strides, isParameter: true)
    }

    /// Builds a view after checking: non-negative sizes, strides and offset; as many strides as sizes;
    /// no overflow; and the highest reachable index `offset + Σ (sizeⱼ − 1)·strideⱼ` below the storage's
    /// element count (an empty view must still start within the storage, as torch requires).
    static func validated(
        storage: StorageReference, offset: Int, shape: [Int], strides: [Int], isParameter: Bool
    ) -> Result<TensorReference, ViewProblem> {
        guard shape.count == strides.count else {
            return .failure("tensor has \(shape.count) sizes but \(strides.count) strides")
        }
        guard shape.count <= 32 else { return .failure("tensor has \(shape.count) dimensions (more than 32)") }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            return .failure(
                "tensor has a negative size, stride or offset (sizes \(shape), strides \(strides), offset \(offset))")
        }
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return .failure("tensor shape \(shape) has more elements than an Int can count") }
            count = product
        }
        if count > 0 {
            var highest = offset
            for (size, stride) in zip(shape, strides) {
                let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = highest.addingReportingOverflow(step)
                guard !o1, !o2 else { return .failure("tensor shape \(shape) with strides \(strides) overflows") }
                highest = sum
            }
            guard highest < storage.elementCount else {
                let where_ = "storage '\(storage.key)', which holds \(storage.elementCount) elements"
                return .failure(
                    "tensor of shape \(shape) (strides \(strides), offset \(offset)) reaches element \(highest) of \(where_)"
                )
            }
        } else if offset > storage.elementCount {
            return .failure(
                "empty tensor starts at element \(offset) of storage '\(storage.key)' with \(storage.elementCount) elements"
            )
        }
        return .success(
            TensorReference(
                storage: storage, storageOffset: offset, shape: shape, strides: strides, isParameter: isParameter))
    }

    /// True when the view reads `elementCount` consecutive elements from `storageOffset` in C order.
    public var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }
}

/// Why a tensor view does not fit its storage (wrapped into a `CheckpointError` by the unpickler).
struct ViewProblem: Error, ExpressibleByStringInterpolation {
    let message: String
    init(stringLiteral value: String) { message = value }
    init(stringInterpolation: DefaultStringInterpolation) { message = String(stringInterpolation: stringInterpolation) }
}
