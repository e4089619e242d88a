import LeafLensMath

/// Which forward pass a schedule is for: the tapped layers and the backward plan.
struct ScheduleKey: Hashable, Sendable {
    var taps: Set<String>
    var plan: BackwardPlan?
}

/// A forward pass planned ahead: the steps grouped into actions (fusions decided), each action's layer,
/// and the values to release after it (lifetimes decided), so that `forward` is a plain switch.
///
/// Fusion: conv → ReLU and conv → add → ReLU (a block's end) run as one pass over the output when the
/// convolution is packed and the intermediate values are read by nothing else (not tapped, not kept for
/// the backward pass, which reads only the ReLU output). In place: a ReLU or add whose first input is read
/// for the last time and not kept updates that value instead of copying it.
struct Schedule<T: TensorScalar>: Sendable {
    enum Action: Sendable {
        case convolution(Conv2d<T>)
        /// relu(conv(x)).
        case convolutionReLU(Conv2d<T>)
        /// relu(conv(x) + identity).
        case convolutionAddReLU(Conv2d<T>, identity: Int)
        case batchNorm(BatchNorm2d<T>, parameter: String, training: Bool)
        case relu(inPlace: Bool)
        case add(inPlace: Bool)
        /// With `keepIndices`, the argmax indices are recorded for the backward pass.
        case maxPool(MaxPool2d, keepIndices: Bool)
        case averagePool
        case linear(Linear<T>)
    }

    struct Entry: Sendable {
        /// The (first) step this action computes; its inputs are the action's inputs.
        let step: Int
        let action: Action
        /// The value written (the last computed step's output).
        let output: Int
        /// Outputs of every step the action computes: all have the output's shape.
        let covers: [Int]
        /// Values no later action reads and nothing keeps: dropped after this action.
        let release: [Int]
    }

    let entries: [Entry]
    /// Values kept to the end (taps, the output, what the backward pass reads).
    let keep: Set<Int>
    /// Steps up to `floor` keep nothing for a backward pass that stops above them (−1: none).
    let floor: Int
}

extension ResNetProgram {
    /// The schedule for `key`: the prebuilt one, or planned now. Layer names must have been checked.
    func plannedSchedule(for key: ScheduleKey) -> Schedule<T> {
        schedules[key] ?? schedule(for: key)
    }

    func schedule(for key: ScheduleKey) -> Schedule<T> {
        var floor = -1
        if let lowest = key.plan?.lowestLayer, let id = layers[lowest] {
            floor = steps.firstIndex { $0.output == id } ?? -1
        }
        let keep = retainedValues(taps: key.taps, plan: key.plan, above: floor)
        var lastUse = [Int](repeating: -1, count: valueCount)
        var readers = [Int](repeating: 0, count: valueCount)
        for (i, step) in steps.enumerated() {
            for v in step.inputs {
                lastUse[v] = i
                readers[v] += 1
            }
        }
        /// Whether value `v` is read by step `i` alone and need not be kept: then it never has to exist.
        func passesThrough(_ v: Int, into i: Int) -> Bool { readers[v] == 1 && lastUse[v] == i && !keep.contains(v) }
        func released(_ i: Int) -> [Int] { steps[i].inputs.filter { lastUse[$0] == i && !keep.contains($0) } }
        /// The first input is read for the last time here, and only once: it can be overwritten.
        func consumable(_ i: Int) -> Bool {
            let inputs = steps[i].inputs, first = inputs[0]
            return lastUse[first] == i && !keep.contains(first) && inputs.dropFirst().allSatisfy { $0 != first }
        }
        func isReLU(_ i: Int) -> Bool {
            if i < steps.count, case .relu = steps[i].operation { return true }
            return false
        }

        var entries: [Schedule<T>.Entry] = []
        var i = 0
        while i < steps.count {
            let step = steps[i]
            func single(_ action: Schedule<T>.Action) -> Schedule<T>.Entry {
                Schedule.Entry(
                    step: i, action: action, output: step.output, covers: [step.output], release: released(i))
            }
            switch step.operation {
            case .convolution(let conv, _):
                if conv.algorithm == .packed, i + 1 < steps.count, passesThrough(step.output, into: i + 1) {
                    let next = steps[i + 1]
                    if isReLU(i + 1) {
                        entries.append(
                            Schedule.Entry(
                                step: i, action: .convolutionReLU(conv), output: next.output,
                                covers: [step.output, next.output],
                                release: released(i)))
                        i += 2
                        continue
                    }
                    if case .add = next.operation, next.inputs[0] == step.output, next.inputs[1] != step.output,
                        isReLU(i + 2), passesThrough(next.output, into: i + 2)
                    {
                        let identity = next.inputs[1]
                        let last = steps[i + 2].output
                        let identityDone = lastUse[identity] == i + 1 && !keep.contains(identity)
                        entries.append(
                            Schedule.Entry(
                                step: i, action: .convolutionAddReLU(conv, identity: identity), output: last,
                                covers: [step.output, next.output, last],
                                release: released(i) + (identityDone ? [identity] : [])))
                        i += 3
                        continue
                    }
                }
                entries.append(single(.convolution(conv)))
            case .batchNorm(let bn, let name):
                entries.append(single(.batchNorm(bn, parameter: name, training: key.plan?.training == true)))
            case .relu:
                entries.append(single(.relu(inPlace: consumable(i))))
            case .add:
                entries.append(single(.add(inPlace: consumable(i))))
            case .maxPool(let pool):
                entries.append(single(.maxPool(pool, keepIndices: key.plan != nil && i > floor)))
            case .averagePool:
                entries.append(single(.averagePool))
            case .linear(let fc, _):
                entries.append(single(.linear(fc)))
            }
            i += 1
        }
        return Schedule(entries: entries, keep: keep, floor: floor)
    }

    /// Values the backward pass reads: ReLU outputs (their masks), tapped layers, and — for parameter
    /// gradients or training-mode BatchNorm — the inputs of parameterised layers.
    private func retainedValues(taps: Set<String>, plan: BackwardPlan?, above floor: Int) -> Set<Int> {
        var keep = Set(taps.compactMap { layers[$0] })
        keep.insert(outputValue)
        guard let plan else { return keep }
        for step in steps[(floor + 1)...] {
            switch step.operation {
            case .relu: keep.insert(step.output)
            case .convolution(_, let name), .linear(_, let name as String?):
                if plan.parameterGradients && name != nil { keep.insert(step.inputs[0]) }
            case .batchNorm:
                if plan.parameterGradients || plan.training { keep.insert(step.inputs[0]) }
            default: break
            }
        }
        return keep
    }
}
