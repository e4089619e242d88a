/// A value decoded from a checkpoint's pickle by `RestrictedUnpickler`: plain data, references to storages
/// and tensors, and opaque records of Python objects that were never constructed.
///
/// Containers are reference types because the pickle protocol fills a dict or list after it was created and
/// memoised (EMPTY_DICT, BINPUT, MARK, …, SETITEMS). Every container records its nesting `depth`; the unpickler
/// refuses to mutate a container once it sits inside another, so depths stay exact and no cycle can form.
public enum PickleValue: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: the boxes are mutated only by the unpickler that creates them, before the value is returned.
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits (LONG1/LONG4), little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list(PickleList)
    case tuple(PickleTuple)
    case dict(PickleDict)
    case set(PickleList)
    /// A module-level name (`module.qualname`) the file referred to; never imported.
    case global(PickleGlobal)
    /// An instance of a class that was not constructed: its class, NEWOBJ/REDUCE arguments and BUILD state.
    case object(PickleObject)
    case storage(StorageReference)
    case tensor(TensorReference)

    /// Nesting depth: 0 for scalars, 1 + the deepest child for containers.
    var depth: Int {
        switch self {
        case .list(let b), .set(let b): b.depth
        case .tuple(let b): b.depth
        case .dict(let b): b.depth
        case .object(let b): b.depth
        case .tensor: 1
        default: 0
        }
    }

    /// Marks a container as nested inside another; afterwards the unpickler refuses to mutate it.
    func markContained() {
        switch self {
        case .list(let b), .set(let b): b.isContained = true
        case .dict(let b): b.isContained = true
        case .object(let b): b.isContained = true
        default: break
        }
    }

    /// A short type name for messages: `dict`, `OrderedDict`, `tensor`, `torchvision.models.resnet.ResNet`, …
    public var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .list: "list"
        case .tuple: "tuple"
        case .dict(let d): d.kind
        case .set: "set"
        case .global(let g): "global \(g.fullName)"
        case .object(let o): o.className
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }

    public var description: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "\(i)"
        case .bigInt: "<int>"
        case .float(let f): "\(f)"
        case .string(let s): "'\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        case .bytes(let b): "<\(b.count) bytes>"
        case .list(let l): "<list of \(l.items.count)>"
        case .tuple(let t): "<tuple of \(t.items.count)>"
        case .dict(let d): "<\(d.kind) of \(d.entries.count)>"
        case .set(let l): "<set of \(l.items.count)>"
        case .global(let g): g.fullName
        case .object(let o): "<\(o.className) object>"
        case .storage(let s): "<storage \(s.key)>"
        case .tensor(let t): "<tensor \(t.dtype.name) \(t.shape)>"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): i
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }
    public var dictValue: PickleDict? { if case .dict(let d) = self { return d } else { return nil } }
    public var tensorValue: TensorReference? { if case .tensor(let t) = self { return t } else { return nil } }
    /// The items of a list or tuple.
    public var sequenceItems: [PickleValue]? {
        switch self {
        case .list(let l): l.items
        case .tuple(let t): t.items
        default: nil
        }
    }
}

public final class PickleList {
    public internal(set) var items: [PickleValue]
    var depth: Int
    var isContained = false
    init(_ items: [PickleValue] = []) {
        self.items = items
        self.depth = 1 + (items.map(\.depth).max() ?? 0)
        for item in items { item.markContained() }
    }
}

public final class PickleTuple {
    public let items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue]) {
        self.items = items
        self.depth = 1 + (items.map(\.depth).max() ?? 0)
        for item in items { item.markContained() }
    }
}

/// A dict, OrderedDict or Counter, in insertion order (later SETITEMs of an existing key replace its value).
public final class PickleDict {
    /// `dict`, `OrderedDict` or `Counter`.
    public let kind: String
    public internal(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    /// Attributes set by BUILD on an OrderedDict (torch stores the state_dict's `_metadata` there).
    public internal(set) var attributes: PickleValue?
    var index: [PickleKey: Int] = [:]
    var depth = 1
    var isContained = false

    init(kind: String = "dict") { self.kind = kind }

    /// The value for a string key, if present.
    public subscript(key: String) -> PickleValue? {
        index[.string(key)].map { entries[$0].value }
    }

    /// The keys that are strings, in order.
    public var stringKeys: [String] { entries.compactMap { $0.key.stringValue } }
}

/// Hashable view of the scalar keys a dict can have; other keys are kept but never looked up.
enum PickleKey: Hashable {
    case string(String), int(Int), other(Int)
    init(_ value: PickleValue, position: Int) {
        switch value {
        case .string(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        default: self = .other(position)
        }
    }
}

public struct PickleGlobal: Sendable, Hashable {
    public let module: String
    public let name: String
    public var fullName: String { "\(module).\(name)" }
}

/// An instance recorded without running any of its code: `cls.__new__(cls, *arguments)` for NEWOBJ (or
/// `copyreg._reconstructor`), with the BUILD `state` (for `nn.Module`, the instance `__dict__`).
public final class PickleObject {
    public let classGlobal: PickleGlobal
    public let arguments: [PickleValue]
    public internal(set) var state: PickleValue?
    var depth: Int
    var isContained = false
    public var className: String { classGlobal.fullName }

    init(classGlobal: PickleGlobal, arguments: [PickleValue]) {
        self.classGlobal = classGlobal
        self.arguments = arguments
        self.depth = 1 + (arguments.map(\.depth).max() ?? 0)
        for argument in arguments { argument.markContained() }
    }

    /// The BUILD state's entry `name`, when the state is a dict (or the dict half of a (dict, slots) tuple).
    public func attribute(_ name: String) -> PickleValue? {
        switch state {
        case .dict(let d): return d[name]
        case .tuple(let t):
            if t.items.count == 2, case .dict(let d) = t.items[0] { return d[name] }
            return nil
        default: return nil
        }
    }
}
