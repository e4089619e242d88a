import LeafLensAttribution
import LeafLensMath
import LeafLensModel

/// Integrated Gradients evaluates the network at `steps` points along the path, and at one of them a ReLU
/// input or a max-pool window's two largest inputs can sit within float32 rounding of a tie. Any float32
/// implementation may then decide that point the other way from float64, and the gradient there (weighted
/// by one quadrature weight) moves the whole result by far more than rounding: on the bundled model and
/// `samples/rust.png`, one stem ReLU input at 5.2e−8 of its layer's maximum, at α = 0.61 of 50
/// Gauss–Legendre points, puts LeafLens's folded float32 IG 9.1e−5 from float64 (that point's gradient
/// 2.5e−3 from float64's; at the three smallest α, where both float32 programs decide max-pool near-ties
/// of tiny values otherwise, 1.2e−2 to 4.1e−2 at weights ≤ 0.005; every other point's ≤ 2.7e−7), while the
/// unfolded float32 program, deciding α = 0.61 as float64 does, is 6.3e−6 away. The noise probes of `compare` cannot see this: they sample other
/// roundings, not other decisions. So when IG fails, `compare` asks which path points the float32 program
/// decided differently from float64 within float32 rounding, and judges the result with those points'
/// terms taken from float64 (the rest is the same float32 result): a wrong backward or a real precision
/// loss still fails, a within-rounding decision is named in the detail instead.
extension Verification {
    /// A path point at which the float32 program decided near-ties differently from float64.
    struct PathFlip: Equatable {
        var index: Int
        var alpha: Double
        /// ReLU inputs of the other sign than in float64, float64's |v| within the threshold.
        var relu: Int
        /// Stem max-pool windows choosing another input, float64's two largest within the threshold.
        var maxPool: Int
    }

    /// The IG path points (zero baseline, `settings.steps` of `settings.rule`) where `models.float32`'s
    /// folded program decides a ReLU input or a stem max-pool window differently from `models.float64`'s,
    /// float64's margin being under `reluThresholdUlps` · eps32 · max |layer|.
    func integratedGradientsFlips(_ x32: Tensor<Float>, models: Models) throws -> [PathFlip] {
        let quadrature = try settings.rule.quadrature(steps: settings.steps)
        let sites = reluInputs()
        let taps = Set(sites.flatMap(\.parts) + ["relu"])
        let x64 = x32.converted(to: Double.self)
        var flips: [PathFlip] = []
        for (k, alpha) in quadrature.alphas.enumerated() {
            let point32 = Tensor(uncheckedShape: x32.shape, storage: x32.storage.map { Float(alpha) * $0 })
            let point64 = Tensor(uncheckedShape: x64.shape, storage: x64.storage.map { alpha * $0 })
            let single = try models.float32.folded.forward(point32, taps: taps).layerActivations
            let double = try models.float64.folded.forward(point64, taps: taps).layerActivations
            var relu = 0
            for (_, parts) in sites {
                let (a, b) = (Self.summed(single, parts), Self.summed(double, parts))
                let threshold = Self.reluThresholdUlps * Double(Float.ulpOfOne) * (b.map(abs).max() ?? 0)
                for i in b.indices where (a[i] > 0) != (b[i] > 0) && abs(b[i]) < threshold { relu += 1 }
            }
            // safe: "relu" was tapped in both.
            let pool = Self.maxPoolFlips(single["relu"]!, double["relu"]!)
            if relu + pool > 0 { flips.append(PathFlip(index: k, alpha: alpha, relu: relu, maxPool: pool)) }
        }
        return flips
    }

    /// `result` (the float32 IG, in Double) with each flipped point's term wₖ · x ⊙ ∂F/∂x(αₖx) replaced by
    /// float64's.
    func replacingFlippedPoints(
        _ result: [Double], _ flips: [PathFlip], x32: Tensor<Float>, target: Int, models: Models
    ) throws -> [Double] {
        let quadrature = try settings.rule.quadrature(steps: settings.steps)
        let x64 = x32.converted(to: Double.self)
        var corrected = result
        for flip in flips {
            let point32 = Tensor(uncheckedShape: x32.shape, storage: x32.storage.map { Float(flip.alpha) * $0 })
            let point64 = Tensor(uncheckedShape: x64.shape, storage: x64.storage.map { flip.alpha * $0 })
            let single = try models.float32.inputGradient(point32, targets: [target]).gradient.storage
            let double = try models.float64.inputGradient(point64, targets: [target]).gradient.storage
            let w = Double(quadrature.weights[flip.index])
            for i in corrected.indices { corrected[i] += w * x64.storage[i] * (double[i] - Double(single[i])) }
        }
        return corrected
    }

    /// The value a ReLU reads: one tap, or a block's residual sum of two.
    static func summed<T: TensorScalar>(_ taps: [String: Tensor<T>], _ parts: [String]) -> [Double] {
        // safe: the caller tapped every part.
        var values = taps[parts[0]]!.storage.map { Double($0) }
        for part in parts.dropFirst() {
            let other = taps[part]!.storage  // safe: tapped
            for i in values.indices { values[i] += Double(other[i]) }
        }
        return values
    }

    /// Stem max-pool windows (`ResNetConfiguration.maxPool` over [N, C, H, W]) whose chosen input differs
    /// between `single` and `double`, float64's largest input positive and within the threshold of the
    /// input float32 chose.
    static func maxPoolFlips(_ single: Tensor<Float>, _ double: Tensor<Double>) -> Int {
        guard single.shape == double.shape else { return 0 }
        let pool = ResNetConfiguration.maxPool
        let threshold = reluThresholdUlps * Double(Float.ulpOfOne) * (double.storage.map(abs).max() ?? 0)
        var flips = 0
        forEachPoolWindow(double.shape, kernel: pool.kernel, stride: pool.stride, padding: pool.padding) { window in
            guard var best32 = window.first else { return }
            var best64 = best32
            for at in window.dropFirst() {
                if single.storage[at] > single.storage[best32] { best32 = at }
                if double.storage[at] > double.storage[best64] { best64 = at }
            }
            if best32 != best64, double.storage[best64] > 0,
                double.storage[best64] - double.storage[best32] < threshold
            {
                flips += 1
            }
        }
        return flips
    }
}
