/// Renames a found state_dict onto torchvision's ResNet names and checks it against the expected entries.
///
/// Decisions, each recorded as a note:
///
///   1. `num_batches_tracked` counters are dropped (LeafLens keeps no training step count).
///   2. The prefix is the one in front of the stem: the key ending in `conv1.weight` whose shape is
///      `[w, 3, 7, 7]`; everything before it (`module.`, `_orig_mod.`, `model.`, `backbone.`, …, or any
///      combination) is stripped. Keys without that prefix are reported and ignored.
///   3. A head `fc = Sequential(Dropout, Linear)` has keys `fc.1.weight`/`fc.1.bias`; a single Linear at
///      any index `fc.N` maps to `fc.weight`/`fc.bias`.
///   4. The architecture is inferred from the renamed keys (`ResNetArchitecture.infer`), or given.
///   5. Every expected entry must then be present with its exact shape and a floating-point dtype, and no
///      other entry may remain; errors list what is missing/unexpected and the nearest expected names.
struct StateDictMapping {
    struct Item {
        let name: String
        let shape: [Int]
        let dtype: String
        let isFloatingPoint: Bool
    }

    struct Result {
        let architecture: ResNetArchitecture
        /// Expected name → the name in the file, in torchvision's order.
        let renames: [(expected: String, original: String)]
        let notes: [String]
    }

    let source: String

    func fail(_ problem: String) -> CheckpointError { CheckpointError(.layout, file: source, problem) }

    func map(_ items: [Item], architecture requested: ResNetArchitecture.Depth?) throws(CheckpointError) -> Result {
        var notes: [String] = []
        let counters = items.filter { $0.name.hasSuffix("num_batches_tracked") }
        if !counters.isEmpty { notes.append("dropped \(counters.count) BatchNorm num_batches_tracked counters") }
        let kept = items.filter { !$0.name.hasSuffix("num_batches_tracked") }

        // 2. The prefix before the stem convolution.
        let stems = kept.filter { item in
            item.name.hasSuffix("conv1.weight") && item.shape.count == 4 && item.shape[1] == 3 && item.shape[2] == 7
                && item.shape[3] == 7
                && (item.name == "conv1.weight" || item.name.dropLast("conv1.weight".count).hasSuffix("."))
        }
        guard !stems.isEmpty else {
            let sample = kept.prefix(6).map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
            throw fail(
                "no ResNet stem: no key ending in 'conv1.weight' with shape [w, 3, 7, 7] (keys found: \(sample)\(kept.count > 6 ? ", …" : ""))"
            )
        }
        let prefixes = stems.map { String($0.name.dropLast("conv1.weight".count)) }
        let prefix: String
        if prefixes.contains("") {
            prefix = ""
        } else if prefixes.count == 1 {
            prefix = prefixes[0]
        } else {
            throw fail(
                "several ResNets in one state_dict (prefixes \(prefixes.map { "'\($0)'" }.joined(separator: ", "))); save the one you want alone"
            )
        }
        let outside = kept.filter { !$0.name.hasPrefix(prefix) }
        var renamed: [(name: String, item: Item)] = kept.filter { $0.name.hasPrefix(prefix) }.map {
            (String($0.name.dropFirst(prefix.count)), $0)
        }
        if !prefix.isEmpty { notes.append("stripped the key prefix '\(prefix)' from \(renamed.count) keys") }
        if !outside.isEmpty {
            notes.append(
                "ignored \(outside.count) entries outside '\(prefix)': \(outside.prefix(5).map(\.name).joined(separator: ", "))\(outside.count > 5 ? ", …" : "")"
            )
        }

        // 3. A Linear inside a Sequential head.
        if !renamed.contains(where: { $0.name == "fc.weight" }) {
            let indexed = renamed.compactMap { entry -> (index: String, field: String)? in
                let parts = entry.name.split(separator: ".")
                guard parts.count == 3, parts[0] == "fc", Int(parts[1]) != nil else { return nil }
                return (String(parts[1]), String(parts[2]))
            }
            let linears = Set(indexed.filter { $0.field == "weight" }.map(\.index)).sorted()
            if linears.count == 1, let index = linears.first {
                renamed = renamed.map { entry in
                    entry.name == "fc.\(index).weight"
                        ? ("fc.weight", entry.item)
                        : entry.name == "fc.\(index).bias" ? ("fc.bias", entry.item) : entry
                }
                notes.append(
                    "mapped the head 'fc.\(index).weight'/'fc.\(index).bias' (a Sequential such as Dropout → Linear) to 'fc.weight'/'fc.bias'"
                )
            } else if linears.count > 1 {
                throw fail(
                    "the head 'fc' is a Sequential with \(linears.count) weighted layers (fc.\(linears.joined(separator: ", fc."))); LeafLens supports one Linear, optionally after a Dropout"
                )
            }
        }

        // 4. Architecture.
        var shapes: [String: [Int]] = [:]
        for entry in renamed { shapes[entry.name] = entry.item.shape }
        let architecture: ResNetArchitecture
        switch ResNetArchitecture.infer(from: shapes) {
        case .success(let inferred):
            if let requested, requested != inferred.depth {
                throw fail("--arch \(requested.name) was given, but the keys and shapes are \(inferred.depth.name)'s")
            }
            architecture = inferred
            notes.append(
                "architecture: \(inferred.description), \(requested == nil ? "inferred from the keys and shapes" : "as --arch says, and the keys agree")"
            )
        case .failure(let problem):
            guard let requested, let stem = shapes["conv1.weight"], let fc = shapes["fc.weight"], fc.count == 2 else {
                throw fail("not a torchvision resnet18/34/50 state_dict: \(problem.description)")
            }
            architecture = ResNetArchitecture(depth: requested, width: stem[0], classCount: fc[0])
            notes.append("architecture: \(architecture.description) as --arch says (inference: \(problem.description))")
        }

        // 5. Exact match.
        let expected = architecture.parameterShapes
        let expectedNames = Set(expected.map(\.name))
        var byName: [String: Item] = [:]
        for entry in renamed { byName[entry.name] = entry.item }
        let missing = expected.filter { byName[$0.name] == nil }.map(\.name)
        let unexpected = renamed.map(\.name).filter { !expectedNames.contains($0) }
        if !missing.isEmpty || !unexpected.isEmpty {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.count): \(list(missing))") }
            if !unexpected.isEmpty {
                let hints = unexpected.prefix(3).map { name in
                    let nearest = expectedNames.min { editDistance(name, $0) < editDistance(name, $1) } ?? ""
                    return "'\(name)' (nearest expected: '\(nearest)')"
                }
                parts.append(
                    "unexpected \(unexpected.count): \(hints.joined(separator: ", "))\(unexpected.count > 3 ? ", …" : "")"
                )
            }
            throw fail("does not match torchvision's \(architecture.description): \(parts.joined(separator: "; "))")
        }
        var converted: [String: Int] = [:]
        for (name, shape) in expected {
            guard let item = byName[name] else { continue }
            guard item.shape == shape else {
                throw fail(
                    "tensor '\(name)' has shape \(item.shape), expected \(shape) for \(architecture.description)")
            }
            guard item.isFloatingPoint else {
                throw fail("tensor '\(name)' has dtype \(item.dtype), not floating point")
            }
            if item.dtype != "torch.float32" && item.dtype != "F32" { converted[item.dtype, default: 0] += 1 }
        }
        for (dtype, count) in converted.sorted(by: { $0.key < $1.key }) {
            notes.append("converted \(count) tensors from \(dtype) to float32")
        }
        let renames = expected.map { (expected: $0.name, original: byName[$0.name]?.name ?? $0.name) }
        return Result(architecture: architecture, renames: renames, notes: notes)
    }

    private func list(_ names: [String]) -> String {
        names.prefix(6).joined(separator: ", ") + (names.count > 6 ? " and \(names.count - 6) more" : "")
    }
}
