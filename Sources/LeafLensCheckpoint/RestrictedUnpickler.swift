/// A pickle reader that never imports, constructs or calls anything named in its input.
///
/// It accepts the subset torch's `weights_only=True` loader accepts — dicts, OrderedDict, Counter, lists,
/// tuples, sets, numbers, strings, bytes, `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`, typed
/// storages by persistent id, `torch.Size` — and, so that `torch.save(model)` files load, records class
/// instances (NEWOBJ, `copyreg._reconstructor`, BUILD) as opaque `PickleObject`s instead of creating them.
/// What it refuses, and how:
///
///   - a GLOBAL/STACK_GLOBAL from `os`, `posix`, `nt`, `sys`, `subprocess`, … or a builtin other than
///     plain data types: `.forbiddenGlobal`, at the GLOBAL;
///   - a REDUCE (a call) of anything but the rebuild functions and data constructors in
///     `interpretReduce`: `.forbiddenCall`, naming the callable;
///   - protocol 0/1 text opcodes, INST/OBJ, EXT*, out-of-band buffers: `.unsupportedOpcode`;
///   - nesting deeper than `limits.maxDepth`, or mutating a container after it was nested (which is the
///     only way to build a cycle): `.tooDeep`;
///   - anything inconsistent (empty stack, unknown memo index, truncated argument): `.malformedPickle`.
///
/// Persistent ids are handed to `persistentLoad`, which resolves `('storage', …)` tuples against the archive.
struct RestrictedUnpickler {
    typealias PersistentLoad = (PickleTuple) throws(CheckpointError) -> StorageReference

    let bytes: [UInt8]
    let source: String
    let limits: CheckpointLimits
    let persistentLoad: PersistentLoad

    private var position = 0
    private var opcodeStart = 0
    private var stack: [PickleValue] = []
    private var marks: [[PickleValue]] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], source: String, limits: CheckpointLimits, persistentLoad: @escaping PersistentLoad) {
        self.bytes = bytes
        self.source = source
        self.limits = limits
        self.persistentLoad = persistentLoad
    }

    func fail(_ kind: CheckpointError.Kind, _ problem: String) -> CheckpointError {
        CheckpointError(kind, file: source, "\(problem) (data.pkl byte \(opcodeStart))")
    }

    /// Decodes the whole stream up to STOP and returns the top of the stack.
    mutating func load() throws(CheckpointError) -> PickleValue {
        while true {
            opcodeStart = position
            let byte = try readByte()
            guard let opcode = PickleOpcode(rawValue: byte) else {
                throw fail(.unsupportedOpcode, "pickle opcode \(PickleOpcode.refusedName(byte)) is not accepted")
            }
            if opcode == .stop {
                guard let result = stack.popLast() else { throw fail(.malformedPickle, "STOP with an empty stack") }
                return result
            }
            try execute(opcode)
        }
    }

    // MARK: Reading arguments

    private mutating func readByte() throws(CheckpointError) -> UInt8 {
        guard position < bytes.count else { throw fail(.malformedPickle, "the pickle ends without STOP (truncated)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func read(_ count: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw fail(.malformedPickle, "an argument of \(count) bytes runs past the end of the pickle (truncated)")
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    /// A little-endian unsigned integer of `width` bytes.
    private mutating func readUnsigned(_ width: Int) throws(CheckpointError) -> UInt64 {
        try read(width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A length argument that must fit the remaining input.
    private mutating func readLength(_ width: Int) throws(CheckpointError) -> Int {
        let value = try readUnsigned(width)
        guard value <= UInt64(bytes.count - position) else {
            throw fail(.malformedPickle, "a length of \(value) bytes runs past the end of the pickle (truncated)")
        }
        return Int(value)
    }

    private mutating func readLine() throws(CheckpointError) -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A), end - position <= 1024 else {
            throw fail(.malformedPickle, "GLOBAL name is not a newline-terminated line of at most 1024 bytes")
        }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private func utf8(_ slice: ArraySlice<UInt8>) throws(CheckpointError) -> String {
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw fail(.malformedPickle, "a string is not valid UTF-8")
        }
        return text
    }

    // MARK: The stack

    private mutating func push(_ value: PickleValue) throws(CheckpointError) {
        guard value.depth <= limits.maxDepth else {
            throw fail(.tooDeep, "nesting exceeds the limit of \(limits.maxDepth) levels")
        }
        stack.append(value)
    }

    private mutating func pop() throws(CheckpointError) -> PickleValue {
        guard let value = stack.popLast() else { throw fail(.malformedPickle, "stack underflow") }
        return value
    }

    private func top() throws(CheckpointError) -> PickleValue {
        guard let value = stack.last else { throw fail(.malformedPickle, "stack underflow") }
        return value
    }

    /// The items pushed since the last MARK, restoring the stack below it.
    private mutating func popMark() throws(CheckpointError) -> [PickleValue] {
        guard let below = marks.popLast() else { throw fail(.malformedPickle, "no MARK to pop to") }
        let items = stack
        stack = below
        return items
    }

    /// Refuses to change a container already nested in another: that keeps every depth exact and makes
    /// cycles (which need a container to gain an ancestor) impossible. `torch.save` never does this.
    func checkMutable(_ isContained: Bool, _ what: String) throws(CheckpointError) {
        if isContained {
            throw fail(
                .tooDeep,
                "\(what) changes a container after it was nested in another (cyclic or self-referencing structure)")
        }
    }

    func checkDepth(_ depth: Int) throws(CheckpointError) {
        if depth > limits.maxDepth { throw fail(.tooDeep, "nesting exceeds the limit of \(limits.maxDepth) levels") }
    }

    // MARK: Opcodes

    private mutating func execute(_ opcode: PickleOpcode) throws(CheckpointError) {
        switch opcode {
        case .proto:
            let version = try readByte()
            guard version <= 5 else { throw fail(.unsupportedOpcode, "pickle protocol \(version) is newer than 5") }
        case .frame:
            _ = try readUnsigned(8)  // framing only groups opcodes; the stream is already in memory
        case .stop:
            break  // handled in load()
        case .mark:
            guard marks.count < limits.maxDepth else {
                throw fail(.tooDeep, "MARKs nest deeper than the limit of \(limits.maxDepth)")
            }
            marks.append(stack)
            stack = []
        case .pop:
            if stack.isEmpty { _ = try popMark() } else { _ = try pop() }
        case .popMark:
            _ = try popMark()
        case .dup:
            try push(try top())

        case .none: try push(.none)
        case .newTrue: try push(.bool(true))
        case .newFalse: try push(.bool(false))
        case .binInt: try push(.int(Int(Int32(bitPattern: UInt32(try readUnsigned(4))))))
        case .binInt1: try push(.int(Int(try readByte())))
        case .binInt2: try push(.int(Int(try readUnsigned(2))))
        case .long1: try push(decodeLong(try read(Int(try readByte()))))
        case .long4:
            let length = try readLength(4)
            guard length <= 1 << 16 else {
                throw fail(.malformedPickle, "LONG4 of \(length) bytes is not a weight file's integer")
            }
            try push(decodeLong(try read(length)))
        case .binFloat: try push(.float(Double(bitPattern: try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))

        case .binUnicode: try push(.string(try utf8(try read(try readLength(4)))))
        case .shortBinUnicode: try push(.string(try utf8(try read(Int(try readByte())))))
        case .binUnicode8: try push(.string(try utf8(try read(try readLength(8)))))
        // Python 2 strings (SHORT_BINSTRING/BINSTRING): torch.load decodes them as ASCII/UTF-8 text.
        case .shortBinString: try push(.string(String(decoding: try read(Int(try readByte())), as: UTF8.self)))
        case .binString: try push(.string(String(decoding: try read(try readLength(4)), as: UTF8.self)))
        case .shortBinBytes: try push(.bytes(Array(try read(Int(try readByte())))))
        case .binBytes: try push(.bytes(Array(try read(try readLength(4)))))
        case .binBytes8, .byteArray8: try push(.bytes(Array(try read(try readLength(8)))))
        case .nextBuffer, .readOnlyBuffer:
            throw fail(.unsupportedOpcode, "out-of-band pickle buffers are not accepted")

        case .emptyTuple: try push(.tuple(PickleTuple([])))
        case .tuple: try push(.tuple(PickleTuple(try popMark())))
        case .tuple1:
            let a = try pop()
            try push(.tuple(PickleTuple([a])))
        case .tuple2:
            let b = try pop(), a = try pop()
            try push(.tuple(PickleTuple([a, b])))
        case .tuple3:
            let c = try pop(), b = try pop(), a = try pop()
            try push(.tuple(PickleTuple([a, b, c])))
        case .emptyList: try push(.list(PickleList()))
        case .list: try push(.list(PickleList(try popMark())))
        case .append: try appendItems([try pop()])
        case .appends: try appendItems(try popMark())
        case .emptyDict: try push(.dict(PickleDict()))
        case .dict:
            let d = PickleDict()
            try setItems(d, try popMark())
            try push(.dict(d))
        case .setItem:
            let value = try pop(), key = try pop()
            guard case .dict(let d) = try top() else {
                throw fail(.forbiddenCall, "SETITEM on a \(try top().typeName), not a dict")
            }
            try setItems(d, [key, value])
        case .setItems:
            let items = try popMark()
            guard case .dict(let d) = try top() else {
                throw fail(.forbiddenCall, "SETITEMS on a \(try top().typeName), not a dict")
            }
            try setItems(d, items)
        case .emptySet: try push(.set(PickleList()))
        case .frozenSet: try push(.set(PickleList(try popMark())))
        case .addItems:
            let items = try popMark()
            guard case .set(let s) = try top() else {
                throw fail(.forbiddenCall, "ADDITEMS on a \(try top().typeName), not a set")
            }
            try extend(s, items, "ADDITEMS")

        case .binGet: try push(try memoValue(Int(try readByte())))
        case .longBinGet: try push(try memoValue(Int(try readUnsigned(4))))
        case .binPut: memo[Int(try readByte())] = try top()
        case .longBinPut: memo[Int(try readUnsigned(4))] = try top()
        case .memoize: memo[memo.count] = try top()

        case .global:
            let module = try readLine(), name = try readLine()
            try push(.global(try resolveGlobal(module: module, name: name)))
        case .stackGlobal:
            let name = try pop(), module = try pop()
            guard case .string(let n) = name, case .string(let m) = module else {
                throw fail(.malformedPickle, "STACK_GLOBAL needs two strings")
            }
            try push(.global(try resolveGlobal(module: m, name: n)))
        case .reduce:
            let arguments = try pop(), callable = try pop()
            guard case .tuple(let args) = arguments else {
                throw fail(.malformedPickle, "REDUCE arguments are not a tuple")
            }
            try push(try interpretReduce(callable, args.items))
        case .newObj:
            let arguments = try pop(), cls = try pop()
            guard case .tuple(let args) = arguments else {
                throw fail(.malformedPickle, "NEWOBJ arguments are not a tuple")
            }
            try push(try interpretNewObject(cls, args.items, opcode: "NEWOBJ"))
        case .newObjEx:
            let keywords = try pop(), arguments = try pop(), cls = try pop()
            guard case .tuple(let args) = arguments, case .dict(let kw) = keywords, kw.entries.isEmpty else {
                throw fail(.forbiddenCall, "NEWOBJ_EX with keyword arguments is not accepted")
            }
            try push(try interpretNewObject(cls, args.items, opcode: "NEWOBJ_EX"))
        case .build:
            let state = try pop()
            try build(try top(), state)
        case .binPersID:
            let pid = try pop()
            guard case .tuple(let id) = pid else {
                throw fail(.invalidTensor, "persistent id is a \(pid.typeName), not a ('storage', …) tuple")
            }
            try push(.storage(try persistentLoad(id)))
        }
    }

    private func memoValue(_ index: Int) throws(CheckpointError) -> PickleValue {
        guard let value = memo[index] else { throw fail(.malformedPickle, "memo index \(index) was never stored") }
        return value
    }

    private mutating func appendItems(_ items: [PickleValue]) throws(CheckpointError) {
        guard case .list(let list) = try top() else {
            throw fail(.forbiddenCall, "APPEND on a \(try top().typeName), not a list")
        }
        try extend(list, items, "APPEND")
    }

    private func extend(_ list: PickleList, _ items: [PickleValue], _ what: String) throws(CheckpointError) {
        try checkMutable(list.isContained, what)
        for item in items {
            if case .list(let inner) = item, inner === list {
                throw fail(.tooDeep, "\(what) puts a list inside itself (cyclic structure)")
            }
            item.markContained()
            list.depth = max(list.depth, item.depth + 1)
        }
        try checkDepth(list.depth)
        list.items.append(contentsOf: items)
    }

    private func setItems(_ dict: PickleDict, _ items: [PickleValue]) throws(CheckpointError) {
        guard items.count % 2 == 0 else { throw fail(.malformedPickle, "SETITEMS with an odd number of items") }
        try checkMutable(dict.isContained, "SETITEMS")
        for i in stride(from: 0, to: items.count, by: 2) {
            let (key, value) = (items[i], items[i + 1])
            if case .dict(let inner) = value, inner === dict {
                throw fail(.tooDeep, "SETITEMS puts a dict inside itself (cyclic structure)")
            }
            key.markContained()
            value.markContained()
            dict.depth = max(dict.depth, key.depth + 1, value.depth + 1)
            let hashKey = PickleKey(key, position: dict.entries.count)
            if let existing = dict.index[hashKey] {
                dict.entries[existing].value = value
            } else {
                dict.index[hashKey] = dict.entries.count
                dict.entries.append((key, value))
            }
        }
        try checkDepth(dict.depth)
    }

    func build(_ instance: PickleValue, _ state: PickleValue) throws(CheckpointError) {
        switch instance {
        case .object(let object):
            try checkMutable(object.isContained, "BUILD")
            state.markContained()
            object.state = state
            object.depth = max(object.depth, state.depth + 1)
            try checkDepth(object.depth)
        case .dict(let dict):
            // torch puts the state_dict's `_metadata` on the OrderedDict this way.
            try checkMutable(dict.isContained, "BUILD")
            state.markContained()
            dict.attributes = state
            dict.depth = max(dict.depth, state.depth + 1)
            try checkDepth(dict.depth)
        case .tensor:
            break  // torch's Parameter/Tensor __setstate__ (requires_grad, hooks): nothing LeafLens uses
        default:
            throw fail(.forbiddenCall, "BUILD on a \(instance.typeName) (only objects, OrderedDicts and tensors)")
        }
    }

    /// LONG1/LONG4 payload: little-endian two's complement.
    private func decodeLong(_ payload: ArraySlice<UInt8>) -> PickleValue {
        if payload.isEmpty { return .int(0) }
        guard payload.count <= 8 else { return .bigInt(Array(payload)) }
        var value: UInt64 = 0
        for (i, byte) in payload.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if payload.count < 8, let last = payload.last, last & 0x80 != 0 {
            value |= ~UInt64(0) << (8 * UInt64(payload.count))  // sign-extend
        }
        return .int(Int(bitPattern: UInt(value)))
    }
}
