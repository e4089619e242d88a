/// Where the weights are inside an unpickled checkpoint, and which labels travel with them.
///
/// Layouts recognised (what people save, per PyTorch's checkpoint recipe and public PlantVillage code):
///
///     {name: tensor, …}                                  a plain state_dict
///     {"model_state_dict" | "state_dict" | "model" | "net" | "state": <state_dict or module>,
///      "epoch": …, "optimizer_state_dict": …, "class_to_idx" | "classes" | "idx_to_class": …}
///     <an nn.Module>                                     torch.save(model): `_parameters` and
///                                                        `_buffers` of nested `_modules`, named as
///                                                        state_dict() names them (dots)
///
/// Failing these, the one top-level entry holding tensors is taken. `key` (the CLI's `--key`) names the
/// entry explicitly; `a/b` walks into nested dicts.
struct CheckpointLayout {
    struct Located {
        var entries: [(name: String, tensor: TensorReference)]
        var labels: [String]?
        var notes: [String]
    }

    /// Keys under which checkpoints keep the model's weights, in order of preference.
    static let weightKeys = [
        "model_state_dict", "state_dict", "model", "net", "state", "model_state", "network", "weights",
    ]
    /// Keys that hold class names, in order of preference.
    static let labelKeys = ["class_to_idx", "classes", "idx_to_class", "class_names", "labels"]
    /// Everything a checkpoint's top level is expected to hold (for "nearest expected" in errors).
    static let knownKeys =
        weightKeys + labelKeys + ["epoch", "optimizer_state_dict", "optimizer", "scheduler", "arch", "best_acc1"]

    let source: String
    let maxVisits: Int

    func fail(_ problem: String) -> CheckpointError { CheckpointError(.layout, file: source, problem) }

    func locate(_ root: PickleValue, key: String?) throws(CheckpointError) -> Located {
        var notes: [String] = []
        var container: PickleDict? = nil
        var weights = root
        var place = "the top level"
        if let key {
            guard case .dict(let top) = root else {
                throw fail("--key \(key): the file holds a \(root.typeName), not a dict")
            }
            var current = top
            var found: PickleValue? = top[key]
            if found == nil {
                let parts = key.split(separator: "/").map(String.init)
                found = .dict(top)
                for (i, part) in parts.enumerated() {
                    guard case .dict(let d)? = found, let next = d[part] else {
                        throw fail(
                            "--key \(key): no entry '\(part)'; keys found: \(describeKeys(i == 0 ? top : current))")
                    }
                    current = d
                    found = next
                }
            }
            container = current
            weights = found ?? .none
            place = "'\(key)' (--key)"
        } else if case .dict(let top) = root, tensorEntries(top) == nil {
            container = top
            let holders = top.entries.compactMap { entry -> String? in
                guard let name = entry.key.stringValue, holdsWeights(entry.value) else { return nil }
                return name
            }
            if let name = Self.weightKeys.first(where: { top[$0].map(holdsWeights) ?? false }) {
                weights = top[name] ?? .none
                place = "'\(name)'"
            } else if holders.count == 1, let name = holders.first {
                weights = top[name] ?? .none
                place = "'\(name)', the only entry holding tensors"
            } else if holders.count > 1 {
                throw fail(
                    "several entries hold tensors (\(holders.joined(separator: ", "))); choose one with --key NAME")
            } else {
                throw fail(
                    "no state_dict found. Top-level keys: \(describeKeys(top)). Expected a state_dict, or one under "
                        + "\(nearestKnown(top.stringKeys).map { "'\($0)'" }.joined(separator: " or "))")
            }
        }

        var located: [(String, TensorReference)]
        switch weights {
        case .dict(let d):
            guard let entries = tensorEntries(d) else {
                if let inner = Self.weightKeys.first(where: { d[$0].map(holdsWeights) ?? false }) {
                    notes.append("found a checkpoint dict under \(place); looking inside its '\(inner)'")
                    var nested = try locate(.dict(d), key: nil)
                    nested.notes = notes + nested.notes
                    if nested.labels == nil, let container {
                        nested.labels = try labels(in: container, notes: &nested.notes)
                    }
                    return nested
                }
                throw fail(
                    "the entry at \(place) is a dict whose values are not all tensors (keys: \(describeKeys(d)))")
            }
            located = entries
            let beside = container.map { c in c.stringKeys.filter { c[$0].map { !holdsWeights($0) } ?? true } } ?? []
            notes.append(
                "found a state_dict of \(entries.count) tensors at \(place)"
                    + (beside.isEmpty ? "" : " (beside: \(beside.prefix(8).joined(separator: ", ")))"))
        case .object(let module):
            var visits = 0
            guard let entries = try moduleStateDict(module, prefix: "", visits: &visits) else {
                throw fail("the object at \(place) is a \(module.className) without nn.Module _parameters/_modules")
            }
            located = entries
            notes.append(
                "whole pickled module \(module.className) at \(place): collected \(entries.count) parameters and "
                    + "buffers from its nested _modules (no code from the file was run)")
        default:
            throw fail("the entry at \(place) is a \(weights.typeName), not a state_dict or a module")
        }

        var labelNotes: [String] = []
        var labels: [String]? = nil
        if let container { labels = try self.labels(in: container, notes: &labelNotes) }
        if labels == nil, case .object(let module) = weights {
            labels = try self.labels(inModule: module, notes: &labelNotes)
        }
        return Located(entries: located, labels: labels, notes: notes + labelNotes)
    }

    // MARK: State dicts and modules

    /// The (name, tensor) pairs of a dict whose keys are all strings and values all tensors; nil otherwise.
    func tensorEntries(_ dict: PickleDict) -> [(name: String, tensor: TensorReference)]? {
        guard !dict.entries.isEmpty else { return nil }
        var result: [(String, TensorReference)] = []
        for (key, value) in dict.entries {
            guard let name = key.stringValue, case .tensor(let t) = value else { return nil }
            result.append((name, t))
        }
        return result
    }

    func holdsWeights(_ value: PickleValue) -> Bool {
        switch value {
        case .dict(let d):
            return tensorEntries(d) != nil || Self.weightKeys.contains { d[$0].map(holdsWeights) ?? false }
        case .object(let o): return o.attribute("_modules") != nil || o.attribute("_parameters") != nil
        default: return false
        }
    }

    /// `nn.Module.state_dict()` without running it: `_parameters` then persistent `_buffers` of the module,
    /// then each child in `_modules` under `name.`; None entries are skipped, as state_dict skips them.
    func moduleStateDict(
        _ module: PickleObject, prefix: String, visits: inout Int
    ) throws(CheckpointError) -> [(name: String, tensor: TensorReference)]? {
        visits += 1
        guard visits <= maxVisits else {
            throw CheckpointError(.sizeLimit, file: source, "the module graph has more than \(maxVisits) modules")
        }
        let parameters = module.attribute("_parameters")?.dictValue
        let buffers = module.attribute("_buffers")?.dictValue
        let children = module.attribute("_modules")?.dictValue
        guard parameters != nil || children != nil else { return nil }
        var nonPersistent: Set<String> = []
        if case .set(let s)? = module.attribute("_non_persistent_buffers_set") {
            nonPersistent = Set(s.items.compactMap(\.stringValue))
        }
        var result: [(String, TensorReference)] = []
        for dict in [parameters, buffers].compactMap({ $0 }) {
            for (key, value) in dict.entries {
                guard let name = key.stringValue, !nonPersistent.contains(name) else { continue }
                switch value {
                case .tensor(let t): result.append((prefix + name, t))
                case .none: continue
                default:
                    throw fail(
                        "module \(prefix.isEmpty ? module.className : String(prefix.dropLast())) has a \(value.typeName) where a tensor '\(name)' was expected"
                    )
                }
            }
        }
        for (key, value) in children?.entries ?? [] {
            guard let name = key.stringValue else { continue }
            switch value {
            case .object(let child):
                guard let entries = try moduleStateDict(child, prefix: prefix + name + ".", visits: &visits) else {
                    throw fail("submodule '\(prefix + name)' is a \(child.className) without nn.Module state")
                }
                result += entries
            case .none: continue
            default: throw fail("submodule '\(prefix + name)' is a \(value.typeName), not a module")
            }
        }
        return result
    }

    // MARK: Labels

    /// Class names from `class_to_idx` (name → index), `classes` (a list), `idx_to_class` (index → name),
    /// `class_names` or `labels`, checked to cover indices 0…K−1 exactly once.
    func labels(in dict: PickleDict, notes: inout [String]) throws(CheckpointError) -> [String]? {
        for key in Self.labelKeys {
            guard let value = dict[key] else { continue }
            if let labels = try decodeLabels(value, key: key) {
                notes.append("labels: \(labels.count) class names from '\(key)'")
                return labels
            }
        }
        return nil
    }

    func labels(inModule module: PickleObject, notes: inout [String]) throws(CheckpointError) -> [String]? {
        for key in Self.labelKeys {
            guard let value = module.attribute(key), let labels = try decodeLabels(value, key: key) else { continue }
            notes.append("labels: \(labels.count) class names from the module's attribute '\(key)'")
            return labels
        }
        return nil
    }

    private func decodeLabels(_ value: PickleValue, key: String) throws(CheckpointError) -> [String]? {
        var byIndex: [Int: String] = [:]
        switch value {
        case .list, .tuple:
            let items = value.sequenceItems ?? []
            let names = items.compactMap(\.stringValue)
            guard names.count == items.count, !names.isEmpty else { throw fail("'\(key)' is not a list of strings") }
            return names
        case .dict(let d):
            for (k, v) in d.entries {
                if let name = k.stringValue, let index = v.intValue {
                    byIndex[index] = byIndex[index] == nil ? name : "\u{0}"  // class_to_idx
                } else if let index = k.intValue ?? k.stringValue.flatMap({ Int($0) }), let name = v.stringValue {
                    byIndex[index] = byIndex[index] == nil ? name : "\u{0}"  // idx_to_class
                } else {
                    throw fail("'\(key)' maps \(k.typeName) to \(v.typeName); expected class name ↔ index")
                }
            }
        default:
            throw fail("'\(key)' is a \(value.typeName), not class names")
        }
        let count = byIndex.count
        guard count > 0, (0..<count).allSatisfy({ byIndex[$0] != nil && byIndex[$0] != "\u{0}" }) else {
            throw fail("'\(key)' does not give exactly one class name for each index 0…\(max(0, count - 1))")
        }
        return (0..<count).map { byIndex[$0] ?? "" }
    }

    // MARK: Messages

    func describeKeys(_ dict: PickleDict) -> String {
        let keys = dict.entries.map { $0.key.stringValue ?? $0.key.description }
        return keys.prefix(12).joined(separator: ", ") + (keys.count > 12 ? " and \(keys.count - 12) more" : "")
    }

    /// The known weight keys closest (by edit distance) to the keys found.
    func nearestKnown(_ keys: [String]) -> [String] {
        var scored = Self.weightKeys.map { known in
            (known, keys.map { editDistance($0.lowercased(), known) }.min() ?? Int.max)
        }
        scored.sort { $0.1 < $1.1 }
        return scored.prefix(3).map(\.0)
    }
}

/// Levenshtein distance (insert, delete, substitute = 1), for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8.prefix(200)), b = Array(b.utf8.prefix(200))
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
