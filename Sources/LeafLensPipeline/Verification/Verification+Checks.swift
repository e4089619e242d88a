import Foundation
import LeafLensAttribution
import LeafLensMath
import LeafLensModel

extension Verification {
    /// The weights themselves: any NaN or infinity, a negative BatchNorm `running_var` (√(var + eps) of
    /// a negative number), or a convolution/linear weight whose max |w| exceeds `outlierRatio` × its
    /// median |w| (nonzero values). measured = the worst max/median ratio (infinity with a non-finite
    /// value), bound = `outlierRatio`.
    func weightChecks() -> [VerificationCheck] {
        var problems: [String] = []
        var worst = 0.0
        var worstName = ""
        for (name, tensor) in model.network.parameters.sorted(by: { $0.key < $1.key }) {
            let values = tensor.storage
            let nonFinite = values.filter { !$0.isFinite }.count
            if nonFinite > 0 {
                problems.append("\(name) has \(nonFinite) NaN or infinite values")
                worst = .infinity
                worstName = name
                continue
            }
            if name.hasSuffix("running_var"), let low = values.min(), low < 0 {
                problems.append("\(name) has a negative variance (\(low))")
            }
            guard tensor.rank >= 2 else { continue }
            let magnitudes = values.map { Double(abs($0)) }.filter { $0 > 0 }.sorted()
            guard let largest = magnitudes.last else { continue }
            let ratio = largest / magnitudes[magnitudes.count / 2]
            if ratio > worst {
                worst = ratio
                worstName = name
            }
            if ratio > Self.outlierRatio {
                problems.append(
                    "\(name): max |w| = \(String(format: "%.3g", largest)) is \(String(format: "%.3g", ratio)) × its median"
                )
            }
        }
        let detail =
            problems.isEmpty
            ? "finite, BatchNorm variances ≥ 0, largest max/median |w| in \(worstName)"
            : problems.prefix(4).joined(separator: "; ") + (problems.count > 4 ? "; \(problems.count - 4) more" : "")
        return [
            VerificationCheck(
                name: "weights", input: nil, measured: worst, bound: Self.outlierRatio, noise: nil,
                status: problems.isEmpty ? .pass : .fail, detail: detail)
        ]
    }

    /// Central differences in float64 at `finiteDifferencePositions` seeded input elements, at steps h and
    /// h/2, against the analytic float64 gradient of the target logit. A ResNet in evaluation mode is
    /// piecewise linear, so away from a ReLU or max-pool kink both differences equal the derivative up to
    /// rounding: their disagreement is the difference's own noise. measured = max |FD_h − g| / max |g|,
    /// bound = max(2 · max |FD_h − FD_h/2| / max |g|, `finiteDifferenceFloor`).
    func finiteDifferences<Model: AttributionModel>(
        input: VerificationInput, x: Tensor<Double>, target: Int, model: Model
    ) -> VerificationCheck where Model.Scalar == Double {
        let name = "finite-differences"
        do {
            let gradient = try model.inputGradient(x, targets: [target]).gradient.storage
            let scale = gradient.map(abs).max() ?? 0
            var rng = SeededRandom(seed: settings.seed &+ 0x5EED)
            let positions = (0..<settings.finiteDifferencePositions).map { _ in Int(rng.next() % UInt64(x.count)) }
            let h = Self.finiteDifferenceStep
            // Rows: for each position x + h, x − h, x + h/2, x − h/2.
            var rows: [[Double]] = []
            for p in positions {
                for offset in [h, -h, h / 2, -h / 2] {
                    var row = x.storage
                    row[p] += offset
                    rows.append(row)
                }
            }
            var values: [Double] = []
            let classes = model.classCount
            for chunk in stride(from: 0, to: rows.count, by: 8) {
                let part = rows[chunk..<min(rows.count, chunk + 8)]
                let batch = Tensor<Double>(
                    uncheckedShape: [part.count] + x.shape.dropFirst(), storage: part.flatMap { $0 })
                let outputs = try model.outputs(batch).storage
                values += (0..<part.count).map { outputs[$0 * classes + target] }
            }
            var error = 0.0, noise = 0.0
            for (k, p) in positions.enumerated() {
                let v = values[(4 * k)..<(4 * k + 4)].map { $0 }
                let coarse = (v[0] - v[1]) / (2 * h)
                let fine = (v[2] - v[3]) / h
                error = max(error, abs(coarse - gradient[p]))
                noise = max(noise, abs(coarse - fine))
            }
            let relativeError = scale > 0 ? error / scale : (error == 0 ? 0 : .infinity)
            let relativeNoise = scale > 0 ? noise / scale : (noise == 0 ? 0 : .infinity)
            let bound = DerivedBound(noise: relativeNoise, floor: Self.finiteDifferenceFloor)
            return VerificationCheck(
                name: name, input: input.name, measured: relativeError, bound: bound.value, noise: bound.noise,
                status: bound.admits(relativeError) ? .pass : .fail,
                detail:
                    "float64 central differences at \(positions.count) input elements vs the analytic gradient, relative to max |∂F/∂x|"
            )
        } catch {
            return VerificationCheck(
                name: name, input: input.name, measured: .nan, bound: nil, noise: nil, status: .fail,
                detail: "could not be computed: \(error)")
        }
    }

    /// Integrated Gradients' completeness (zero baseline, `settings.rule`): the relative delta
    /// |Σ attributions − (F(x) − F(0))| / |F(x) − F(0)| at `settings.steps` and at every count of
    /// `completenessSteps`. Quadrature errors need not shrink monotonically (Gauss–Legendre at 50 steps can
    /// be worse than at 32), so the steps needed are the first count from which every later count of the
    /// sequence stays within `completenessTarget`. Float32 (the path `explain` runs): its rounding is orders
    /// of magnitude below 1%. measured = the delta at the steps needed (else at the last count), bound =
    /// the target; it fails when not even the last count reaches it.
    func completeness(
        input: VerificationInput, x: Tensor<Float>, target: Int, model: ResNetClassifier<Float>
    ) -> VerificationCheck {
        let name = "completeness"
        do {
            let difference =
                try model.outputs(x).storage[target] - model.outputs(Tensor(zeros: x.shape)).storage[target]
            func relativeDelta(_ steps: Int) throws -> Double {
                let delta = try IntegratedGradients.attribute(
                    model: model, input: x, targets: [target], steps: steps, rule: settings.rule
                ).convergenceDelta[0]
                if difference == 0 { return delta == 0 ? 0 : .infinity }
                return Double(abs(delta)) / Double(abs(difference))
            }
            let atDefault = try relativeDelta(settings.steps)
            let counts = settings.completenessSteps
            let deltas = try counts.map(relativeDelta)
            let target = settings.completenessTarget
            let needed = Self.stepsNeeded(counts: counts, deltas: deltas, target: target).flatMap(counts.firstIndex)
            let measured = needed.map { deltas[$0] } ?? deltas.last ?? .infinity
            let percent = { (v: Double) in String(format: "%.3g%%", v * 100) }
            let sequence = zip(counts, deltas).map { "\($0): \(percent($1))" }.joined(separator: ", ")
            let verdict =
                needed.map { "\(percent(target)) from \(counts[$0]) steps on" }
                ?? "\(percent(target)) not reached by \(counts.last ?? 0) steps"
            return VerificationCheck(
                name: name, input: input.name, measured: measured, bound: target, noise: nil,
                status: needed != nil ? .pass : .fail,
                detail:
                    "\(verdict) (\(sequence)); at \(settings.steps) steps \(percent(atDefault)) (\(settings.rule.rawValue))"
            )
        } catch {
            return VerificationCheck(
                name: name, input: input.name, measured: .nan, bound: nil, noise: nil, status: .fail,
                detail: "could not be computed: \(error)")
        }
    }

    /// The steps needed for the completeness target: the first of `counts` from which every later
    /// delta is within `target` (NaN never is); nil when the last is not.
    public static func stepsNeeded(counts: [Int], deltas: [Double], target: Double) -> Int? {
        var needed: Int?
        for k in counts.indices.reversed() {
            guard deltas[k] <= target else { break }
            needed = counts[k]
        }
        return needed
    }

    /// The value each ReLU reads, by tap names of the folded program: the stem's `bn1`, each block's
    /// inner `…bnK`, and the block's residual sum (last norm + identity), reported under the block's name.
    func reluInputs() -> [(name: String, parts: [String])] {
        var sites: [(String, [String])] = [("bn1", ["bn1"])]
        var previous = "maxpool"
        for block in model.network.configuration.blocks {
            let body = block.body
            for unit in body.dropLast() { sites.append((unit.norm, [unit.norm])) }
            // safe: a block has two or three convolutions.
            let last = body.last!.norm
            sites.append((block.name, [last, block.shortcut != nil ? "\(block.name).downsample" : previous]))
            previous = block.name
        }
        return sites
    }

    /// ReLU inputs within float32 rounding of zero, in float64: per ReLU, how many |v| <
    /// `reluThresholdUlps` · eps32 · max |v|. Such a ReLU can switch on in one float32 implementation and
    /// off in another, and every gradient through it follows. An `.info` line (no bound) naming the ReLUs
    /// with the most.
    func reluNearZero(
        input: VerificationInput, x: Tensor<Double>, model: ResNetClassifier<Double>
    ) -> (VerificationCheck, [ReLUSite]) {
        let name = "relu-near-zero"
        let sites = reluInputs()
        do {
            let taps = Set(sites.flatMap(\.parts))
            let record = try model.folded.forward(x, taps: taps)
            var found: [ReLUSite] = []
            var near = 0, total = 0
            for (site, parts) in sites {
                let values = Self.summed(record.layerActivations, parts)
                let maximum = values.map(abs).max() ?? 0
                let threshold = Self.reluThresholdUlps * Double(Float.ulpOfOne) * maximum
                let count = values.filter { abs($0) < threshold }.count
                near += count
                total += values.count
                if count > 0 {
                    found.append(ReLUSite(name: site, nearZero: count, total: values.count, maximum: maximum))
                }
            }
            found.sort { $0.nearZero != $1.nearZero ? $0.nearZero > $1.nearZero : $0.name < $1.name }
            let most = found.prefix(3).map { "\($0.name) \($0.nearZero)" }.joined(separator: ", ")
            let detail =
                "\(near) of \(total) ReLU inputs within \(Int(Self.reluThresholdUlps)) float32 ulps of zero"
                + (most.isEmpty ? "" : "; most in \(most)")
            return (
                VerificationCheck(
                    name: name, input: input.name, measured: Double(near), bound: nil, noise: nil, status: .info,
                    detail: detail), found
            )
        } catch {
            return (
                VerificationCheck(
                    name: name, input: input.name, measured: .nan, bound: nil, noise: nil, status: .info,
                    detail: "could not be computed: \(error)"), []
            )
        }
    }

    /// Max-pool windows whose two largest inputs are within float32 rounding of each other, in float64: the
    /// stem's pool (`maxpool`, reading `relu`), a window counted when its largest input is positive and the
    /// gap to the second largest is below `reluThresholdUlps` · eps32 · max |layer|. Such a window can pick
    /// another input in one float32 implementation than in another, and the gradient is routed to another
    /// pixel (on the bundled model one such window, 1.4e−8 apart, puts GradientShap 4.4e−3 from float64 in
    /// PyTorch's oneDNN-off runs and in LeafLens's alike). An `.info` line, no bound.
    func maxPoolNearTies(
        input: VerificationInput, x: Tensor<Double>, model: ResNetClassifier<Double>
    )
        -> VerificationCheck
    {
        let name = "maxpool-near-tie"
        do {
            let record = try model.folded.forward(x, taps: ["relu"])
            // safe: tapped above.
            let values = record.layerActivations["relu"]!
            let pool = ResNetConfiguration.maxPool
            let maximum = values.storage.map(abs).max() ?? 0
            let (near, windows) = Self.nearTies(
                values, kernel: pool.kernel, stride: pool.stride, padding: pool.padding,
                threshold: Self.reluThresholdUlps * Double(Float.ulpOfOne) * maximum)
            return VerificationCheck(
                name: name, input: input.name, measured: Double(near), bound: nil, noise: nil, status: .info,
                detail: "\(near) of \(windows) max-pool windows (maxpool) with their two largest inputs within "
                    + "\(Int(Self.reluThresholdUlps)) float32 ulps of each other")
        } catch {
            return VerificationCheck(
                name: name, input: input.name, measured: .nan, bound: nil, noise: nil, status: .info,
                detail: "could not be computed: \(error)")
        }
    }

    /// For a square max pool over `values` ([N, C, H, W]; padding never wins): how many windows have a
    /// positive largest input within `threshold` of the second largest (another position of the window),
    /// and how many windows there are.
    public static func nearTies(
        _ values: Tensor<Double>, kernel: Int, stride: Int, padding: Int, threshold: Double
    ) -> (near: Int, windows: Int) {
        var near = 0, windows = 0
        forEachPoolWindow(values.shape, kernel: kernel, stride: stride, padding: padding) { window in
            windows += 1
            var first = -Double.infinity, second = -Double.infinity
            for at in window {
                let v = values.storage[at]
                if v > first {
                    second = first
                    first = v
                } else if v > second {
                    second = v
                }
            }
            if first > 0, first - second < threshold { near += 1 }
        }
        return (near, windows)
    }

    /// Calls `body` with the flat indices (C order) of each window of a square pool over `shape`
    /// ([N, C, H, W]), padding left out; nothing for another rank or a pool larger than the padded input.
    static func forEachPoolWindow(
        _ shape: [Int], kernel: Int, stride: Int, padding: Int, _ body: ([Int]) -> Void
    ) {
        guard shape.count == 4 else { return }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = (h + 2 * padding - kernel) / stride + 1
        let ow = (w + 2 * padding - kernel) / stride + 1
        guard oh > 0, ow > 0 else { return }
        var window: [Int] = []
        window.reserveCapacity(kernel * kernel)
        for plane in 0..<(n * c) {
            let base = plane * h * w
            for i in 0..<oh {
                for j in 0..<ow {
                    window.removeAll(keepingCapacity: true)
                    for p in 0..<kernel {
                        let y = i * stride - padding + p
                        guard y >= 0, y < h else { continue }
                        for q in 0..<kernel {
                            let x = j * stride - padding + q
                            if x >= 0, x < w { window.append(base + y * w + x) }
                        }
                    }
                    body(window)
                }
            }
        }
    }
}
