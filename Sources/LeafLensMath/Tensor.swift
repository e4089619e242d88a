/// A dense, row-major (C-order) tensor with value semantics. Images are `[N, C, H, W]`.
///
/// Storage is a Swift array, so copies are cheap until written (copy-on-write). The element
/// count always equals the product of `shape`: initialisers that take user data check it and throw, and
/// `storage` may be changed in place (element values) but never resized — a write that changes its count
/// is a programming error and traps.
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable {
    public let shape: [Int]
    @usableFromInline
    var values: [Scalar]

    /// The elements in C order. Element values may be written; the count is fixed by `shape`.
    @inlinable
    public var storage: [Scalar] {
        get { values }
        set {
            precondition(  // safe: internal invariant
                newValue.count == values.count, "Tensor.storage resized from \(values.count) to \(newValue.count)")
            values = newValue
        }
        _modify {
            let count = values.count
            yield &values
            precondition(values.count == count, "Tensor.storage resized from \(count) to \(values.count)")  // safe: internal invariant
        }
    }

    /// A tensor of zeros.
    @inlinable
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.values = Array(repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor filled with one value.
    @inlinable
    public init(repeating value: Scalar, shape: [Int]) {
        self.shape = shape
        self.values = Array(repeating: value, count: shape.reduce(1, *))
    }

    /// Wraps existing values; throws if the count does not match the shape.
    @inlinable
    public init(shape: [Int], storage: [Scalar]) throws(TensorError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .invalidShape(shape) }
        let count = shape.reduce(1, *)
        guard count == storage.count else {
            throw .elementCountMismatch(shape: shape, expected: count, found: storage.count)
        }
        self.shape = shape
        self.values = storage
    }

    /// Fast path for shapes computed by LeafLens itself (the count is the caller's guarantee).
    @inlinable
    package init(uncheckedShape shape: [Int], storage: [Scalar]) {
        self.shape = shape
        self.values = storage
    }

    @inlinable
    public var count: Int { storage.count }
    @inlinable
    public var rank: Int { shape.count }

    /// Same values, another shape with the same element count.
    @inlinable
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        try Tensor(shape: newShape, storage: storage)
    }

    /// Element-wise conversion to another scalar type.
    @inlinable
    public func converted<Other: TensorScalar>(to _: Other.Type = Other.self) -> Tensor<Other> {
        Tensor<Other>(uncheckedShape: shape, storage: storage.map { Other($0) })
    }

    /// The `index`-th item along the first axis, e.g. one image `[C, H, W]` of a batch `[N, C, H, W]`.
    @inlinable
    public func item(_ index: Int) -> Tensor {
        let inner = Array(shape.dropFirst())
        let size = inner.reduce(1, *)
        return Tensor(uncheckedShape: inner, storage: Array(storage[index * size..<(index + 1) * size]))
    }

    /// Stacks equally shaped tensors along a new first axis.
    @inlinable
    public static func stack(_ items: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = items.first else { throw .invalidShape([0]) }
        var values: [Scalar] = []
        values.reserveCapacity(first.count * items.count)
        for item in items {
            guard item.shape == first.shape else {
                throw .shapeMismatch(operation: "stack", expected: first.shape, found: item.shape)
            }
            values.append(contentsOf: item.storage)
        }
        return Tensor(uncheckedShape: [items.count] + first.shape, storage: values)
    }

    /// Concatenates along the first axis (shapes must agree after it).
    @inlinable
    public static func concatenate(_ items: [Tensor]) throws(TensorError) -> Tensor {
        guard let first = items.first else { throw .invalidShape([0]) }
        let inner = Array(first.shape.dropFirst())
        var values: [Scalar] = []
        var n = 0
        for item in items {
            guard Array(item.shape.dropFirst()) == inner else {
                throw .shapeMismatch(operation: "concatenate", expected: first.shape, found: item.shape)
            }
            n += item.shape.first ?? 0
            values.append(contentsOf: item.storage)
        }
        return Tensor(uncheckedShape: [n] + inner, storage: values)
    }

    /// Rows `range` along the first axis.
    @inlinable
    public func slice(_ range: Range<Int>) -> Tensor {
        let inner = Array(shape.dropFirst())
        let size = inner.reduce(1, *)
        return Tensor(
            uncheckedShape: [range.count] + inner,
            storage: Array(storage[range.lowerBound * size..<range.upperBound * size]))
    }
}

/// Errors for shapes and element counts that do not fit.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    case invalidShape([Int])
    case elementCountMismatch(shape: [Int], expected: Int, found: Int)
    case shapeMismatch(operation: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .invalidShape(let s): "invalid tensor shape \(s)"
        case .elementCountMismatch(let s, let e, let f):
            "shape \(s) needs \(e) elements, found \(f)"
        case .shapeMismatch(let op, let e, let f): "\(op): expected shape \(e), found \(f)"
        }
    }
}
