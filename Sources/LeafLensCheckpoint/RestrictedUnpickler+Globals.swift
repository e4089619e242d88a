/// What a GLOBAL may name, and what REDUCE/NEWOBJ of it means — as data, never as code.
///
/// GLOBAL itself only names something; it is refused at once for modules that are never safe (the same
/// blocklist torch uses — `sys`, `os`, `posix`, `nt` — widened to process, file and import machinery, and
/// every builtin that is not a plain data type). Other names become `PickleGlobal` placeholders. They mean
/// something only when applied:
///
///   - REDUCE of one of torch's rebuild functions or a data constructor (OrderedDict, set, torch.Size, …)
///     is interpreted here; REDUCE of anything else is refused, because it would be a call;
///   - NEWOBJ of a class records an opaque `PickleObject` (Python would run only `cls.__new__`, which
///     LeafLens does not run either), and BUILD attaches its state.
extension RestrictedUnpickler {
    /// Modules (and their submodules) a checkpoint may not even name.
    static let blockedModules: Set<String> = [
        "os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "importlib", "runpy", "pickle", "_pickle",
        "marshal", "ctypes", "pty", "code", "codeop", "webbrowser", "multiprocessing", "signal", "io", "_io",
        "pathlib", "tempfile", "urllib", "http", "asyncio", "threading", "_thread", "platform", "commands",
        "pdb", "bdb", "timeit", "cProfile", "profile", "trace", "zipimport", "pkgutil", "imp", "glob",
    ]
    /// Builtins that are plain data types (everything else in `builtins` — eval, exec, getattr, open,
    /// __import__, compile, … — is refused at the GLOBAL).
    static let dataBuiltins: Set<String> = [
        "set", "frozenset", "bytearray", "complex", "object", "dict", "list", "tuple", "int", "float", "str",
        "bytes", "bool", "slice", "range",
    ]

    /// Applies Python 2→3 renames the way `pickle` and torch do, then refuses blocked names.
    func resolveGlobal(module rawModule: String, name: String) throws(CheckpointError) -> PickleGlobal {
        var module = rawModule
        switch rawModule {
        case "__builtin__": module = "builtins"
        case "copy_reg": module = "copyreg"
        case "torch.tensor": module = "torch._tensor"
        default: break
        }
        let root = String(module.split(separator: ".", maxSplits: 1).first ?? "")
        let global = PickleGlobal(module: module, name: name)
        if Self.blockedModules.contains(root) || module.isEmpty || name.isEmpty {
            throw fail(
                .forbiddenGlobal,
                "GLOBAL \(global.fullName) is refused: LeafLens never imports or calls code named by a checkpoint")
        }
        if module == "builtins" && !Self.dataBuiltins.contains(name) {
            throw fail(.forbiddenGlobal, "GLOBAL builtins.\(name) is refused: only plain data types may be named")
        }
        if name.hasPrefix("__") && name != "__newobj__" {
            throw fail(.forbiddenGlobal, "GLOBAL \(global.fullName) is refused (dunder names are never data)")
        }
        return global
    }

    /// REDUCE `callable(*arguments)`, for the callables torch's `weights_only` loader allows.
    func interpretReduce(_ callable: PickleValue, _ arguments: [PickleValue]) throws(CheckpointError) -> PickleValue {
        guard case .global(let function) = callable else {
            throw fail(.forbiddenCall, "REDUCE of a \(callable.typeName) (only named functions are interpreted)")
        }
        func argument(_ i: Int) throws(CheckpointError) -> PickleValue {
            guard i < arguments.count else {
                throw fail(
                    .malformedPickle,
                    "REDUCE \(function.fullName) has \(arguments.count) arguments, needs at least \(i + 1)")
            }
            return arguments[i]
        }
        switch function.fullName {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard case .storage(let storage) = try argument(0) else {
                throw fail(
                    .invalidTensor, "\(function.name) expects a storage first, got a \(try argument(0).typeName)")
            }
            guard let offset = try argument(1).intValue else {
                throw fail(.invalidTensor, "tensor storage offset is not an integer")
            }
            let shape = try integers(try argument(2), "size")
            let strides = try integers(try argument(3), "stride")
            switch TensorReference.validated(
                storage: storage, offset: offset, shape: shape, strides: strides, isParameter: false)
            {
            case .success(let tensor): return .tensor(tensor)
            case .failure(let problem): throw fail(.invalidTensor, problem.message)
            }
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard case .tensor(let tensor) = try argument(0) else {
                throw fail(.invalidTensor, "\(function.name) expects a tensor, got a \(try argument(0).typeName)")
            }
            return .tensor(tensor.asParameter())
        case "torch._tensor._rebuild_from_type_v2":
            // (func, new_type, args, state): a tensor subclass or a tensor with attributes.
            guard case .global(let type) = try argument(1),
                ["torch.Tensor", "torch.nn.parameter.Parameter", "torch._tensor.Tensor"].contains(type.fullName)
            else {
                throw fail(.forbiddenCall, "_rebuild_from_type_v2 of a tensor subclass \(try argument(1).description)")
            }
            guard case .tuple(let inner) = try argument(2) else {
                throw fail(.malformedPickle, "_rebuild_from_type_v2 arguments are not a tuple")
            }
            let rebuilt = try interpretReduce(try argument(0), inner.items)
            if type.name == "Parameter", case .tensor(let t) = rebuilt { return .tensor(t.asParameter()) }
            return rebuilt
        case "collections.OrderedDict", "collections.Counter":
            let dict = PickleDict(kind: function.name)
            if let pairs = arguments.first?.sequenceItems {
                for pair in pairs {
                    guard let kv = pair.sequenceItems, kv.count == 2 else {
                        throw fail(.malformedPickle, "\(function.name) items are not (key, value) pairs")
                    }
                    try insert(dict, kv[0], kv[1])
                }
            }
            return .dict(dict)
        case "builtins.set", "builtins.frozenset":
            return .set(PickleList(arguments.first?.sequenceItems ?? []))
        case "torch.Size":
            return .tuple(PickleTuple((arguments.first?.sequenceItems ?? [])))
        case "_codecs.encode":
            // Protocol 2's spelling of bytes: encode(text, 'latin1').
            guard case .string(let text) = try argument(0) else {
                throw fail(.malformedPickle, "_codecs.encode of a non-string")
            }
            let encoding = arguments.count > 1 ? arguments[1].stringValue ?? "" : "utf-8"
            if encoding == "latin1" || encoding == "latin-1" {
                var bytes: [UInt8] = []
                for scalar in text.unicodeScalars {
                    guard scalar.value < 256 else {
                        throw fail(.malformedPickle, "_codecs.encode latin1 of a non-latin1 string")
                    }
                    bytes.append(UInt8(scalar.value))
                }
                return .bytes(bytes)
            }
            return .bytes(Array(text.utf8))
        case "builtins.bytearray":
            switch arguments.first {
            case .bytes(let b): return .bytes(b)
            case .string(let s): return .bytes(Array(s.utf8))
            default: return .bytes([])
            }
        case "torch.device", "torch.serialization._get_layout", "builtins.complex", "builtins.slice",
            "builtins.range":
            return .object(PickleObject(classGlobal: function, arguments: arguments))
        case "copyreg._reconstructor":
            // Protocol 0/1 object creation: (cls, object, state) — recorded like NEWOBJ + BUILD.
            guard case .global(let cls) = try argument(0), case .global(let base) = try argument(1),
                base.fullName == "builtins.object"
            else { throw fail(.forbiddenCall, "copyreg._reconstructor with a base other than object") }
            let object = PickleObject(classGlobal: cls, arguments: [])
            if arguments.count > 2, case .none = arguments[2] {
            } else if arguments.count > 2 {
                try build(.object(object), arguments[2])
            }
            return .object(object)
        default:
            throw fail(
                .forbiddenCall,
                "REDUCE would call \(function.fullName)(…): LeafLens never calls functions named by a checkpoint")
        }
    }

    /// NEWOBJ `cls.__new__(cls, *arguments)`: `nn.Parameter`, the dict types, or an opaque instance record.
    func interpretNewObject(
        _ cls: PickleValue, _ arguments: [PickleValue], opcode: String
    ) throws(CheckpointError) -> PickleValue {
        guard case .global(let type) = cls else {
            throw fail(.forbiddenCall, "\(opcode) of a \(cls.typeName), not a class")
        }
        switch type.fullName {
        case "torch.nn.parameter.Parameter":
            guard case .tensor(let tensor)? = arguments.first else {
                throw fail(.invalidTensor, "nn.Parameter of a \(arguments.first?.typeName ?? "nothing"), not a tensor")
            }
            return .tensor(tensor.asParameter())
        case "collections.OrderedDict", "collections.Counter", "builtins.dict":
            return .dict(PickleDict(kind: type.name == "dict" ? "dict" : type.name))
        case "builtins.set", "builtins.frozenset":
            return .set(PickleList())
        case "builtins.list":
            return .list(PickleList())
        default:
            return .object(PickleObject(classGlobal: type, arguments: arguments))
        }
    }

    private func integers(_ value: PickleValue, _ what: String) throws(CheckpointError) -> [Int] {
        guard let items = value.sequenceItems else {
            throw fail(.invalidTensor, "tensor \(what) is a \(value.typeName), not a tuple")
        }
        var result: [Int] = []
        for item in items {
            guard let n = item.intValue else {
                throw fail(.invalidTensor, "tensor \(what) holds a \(item.typeName), not an integer")
            }
            result.append(n)
        }
        return result
    }

    private func insert(_ dict: PickleDict, _ key: PickleValue, _ value: PickleValue) throws(CheckpointError) {
        key.markContained()
        value.markContained()
        dict.depth = max(dict.depth, key.depth + 1, value.depth + 1)
        try checkDepth(dict.depth)
        let hashKey = PickleKey(key, position: dict.entries.count)
        if let existing = dict.index[hashKey] {
            dict.entries[existing].value = value
        } else {
            dict.index[hashKey] = dict.entries.count
            dict.entries.append((key, value))
        }
    }
}
