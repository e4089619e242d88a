import Foundation
import LeafLensMath
import LeafLensTestSupport
import LeafLensTraining
import Testing

@Suite struct OptimizerTests {
    /// f(p) = ½ Σ aᵢ (pᵢ − cᵢ)², ∇f = a ⊙ (p − c); minimum at c.
    static let a: [Float] = [1, 4, 0.5]
    static let c: [Float] = [2, -1, 3]
    static func gradient(_ p: Tensor<Float>) -> Tensor<Float> {
        var g = Tensor<Float>(zeros: [3])
        for i in 0..<3 { g.storage[i] = a[i] * (p.storage[i] - c[i]) }
        return g
    }

    static func minimise(_ settings: OptimizerSettings, lr: Double, steps: Int) throws -> [Float] {
        var optimizer = Optimizer(settings)
        var parameters = ["p": Tensor<Float>(zeros: [3])]
        for _ in 0..<steps {
            let g = gradient(try #require(parameters["p"]))
            try optimizer.step(parameters: &parameters, gradients: ["p": g], learningRate: lr)
        }
        return try #require(parameters["p"]).storage
    }

    @Test func sgdWithMomentumConvergesOnAQuadratic() throws {
        let p = try Self.minimise(OptimizerSettings(kind: .sgd, momentum: 0.9), lr: 0.05, steps: 500)
        expectClose(p, Self.c, atol: 1e-4, rtol: 0)
    }

    @Test func adamConvergesOnAQuadratic() throws {
        let p = try Self.minimise(OptimizerSettings(kind: .adam), lr: 0.05, steps: 2000)
        expectClose(p, Self.c, atol: 1e-3, rtol: 0)
    }

    /// Weight decay moves the minimum of f + (λ/2)|p|² to a·c / (a + λ).
    @Test func weightDecayIsL2OnTheGradient() throws {
        let lambda: Float = 0.5
        let p = try Self.minimise(
            OptimizerSettings(kind: .sgd, momentum: 0.9, weightDecay: Double(lambda)), lr: 0.05, steps: 800)
        expectClose(p, (0..<3).map { Self.a[$0] * Self.c[$0] / (Self.a[$0] + lambda) }, atol: 1e-4, rtol: 0)
    }

    /// Two SGD steps by hand: b₁ = d₁, p₁ = p₀ − η b₁; b₂ = μ b₁ + d₂, p₂ = p₁ − η b₂.
    @Test func sgdFirstStepsByHand() throws {
        var optimizer = Optimizer(OptimizerSettings(kind: .sgd, momentum: 0.9, weightDecay: 0.1))
        var parameters = ["w": Tensor<Float>(repeating: 1, shape: [1])]
        try optimizer.step(
            parameters: &parameters, gradients: ["w": Tensor(repeating: 2, shape: [1])], learningRate: 0.5)
        // d₁ = 2 + 0.1·1 = 2.1; p₁ = 1 − 1.05 = −0.05
        expectClose(try #require(parameters["w"]).storage, [Float(-0.05)], atol: 1e-7, rtol: 0)
        try optimizer.step(
            parameters: &parameters, gradients: ["w": Tensor(repeating: 1, shape: [1])], learningRate: 0.5)
        // d₂ = 1 − 0.005 = 0.995; b₂ = 0.9·2.1 + 0.995 = 2.885; p₂ = −0.05 − 1.4425
        expectClose(try #require(parameters["w"]).storage, [Float(-1.4925)], atol: 1e-6, rtol: 0)
    }

    /// Adam's first step is η·g/(|g| + ε) after bias correction: magnitude η for |g| ≫ ε.
    @Test func adamFirstStepByHand() throws {
        var optimizer = Optimizer(OptimizerSettings(kind: .adam))
        var parameters = ["w": try Tensor<Float>(shape: [2], storage: [0, 0])]
        try optimizer.step(
            parameters: &parameters, gradients: ["w": try Tensor(shape: [2], storage: [3, -0.01])], learningRate: 0.1)
        expectClose(try #require(parameters["w"]).storage, [Float(-0.1), Float(0.1)], atol: 1e-6, rtol: 0)
        #expect(optimizer.stepCount == 1)
        #expect(Set(optimizer.stateTensors.keys) == ["exp_avg.w", "exp_avg_sq.w"])
    }

    @Test func stateRoundTrips() throws {
        var optimizer = Optimizer(OptimizerSettings(kind: .adam))
        var parameters = ["w": Tensor<Float>(repeating: 1, shape: [2])]
        try optimizer.step(
            parameters: &parameters, gradients: ["w": Tensor(repeating: 1, shape: [2])], learningRate: 0.1)
        var restored = Optimizer(OptimizerSettings(kind: .adam))
        restored.restore(stateTensors: optimizer.stateTensors, stepCount: optimizer.stepCount)
        var p1 = parameters, p2 = parameters
        try optimizer.step(parameters: &p1, gradients: ["w": Tensor(repeating: 0.5, shape: [2])], learningRate: 0.1)
        try restored.step(parameters: &p2, gradients: ["w": Tensor(repeating: 0.5, shape: [2])], learningRate: 0.1)
        #expect(p1 == p2)
    }

    @Test func unknownParameterIsAnError() {
        var optimizer = Optimizer(OptimizerSettings(kind: .sgd))
        var parameters: [String: Tensor<Float>] = [:]
        #expect(throws: TrainingError.self) {
            try optimizer.step(parameters: &parameters, gradients: ["x": Tensor(zeros: [1])], learningRate: 0.1)
        }
    }
}

@Suite struct LearningRateScheduleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var schedule: LearningRateSchedule
        var rates: [Double]
        var testDescription: String { "\(schedule)" }
    }

    @Test(arguments: [
        Case(schedule: .constant, rates: [0.1, 0.1, 0.1]),
        // StepLR(step_size=2, gamma=0.1): 0.1, 0.1, 0.01, 0.01, 0.001
        Case(schedule: .step(stepSize: 2, gamma: 0.1), rates: [0.1, 0.1, 0.01, 0.01, 0.001]),
        // CosineAnnealingLR(T_max=4): 0.1·(1 + cos(π e/4))/2
        Case(schedule: .cosine(totalEpochs: 4), rates: [0.1, 0.0853553390593274, 0.05, 0.0146446609406726, 0]),
    ])
    func values(c: Case) {
        let actual = c.rates.indices.map { c.schedule.rate(base: 0.1, epoch: $0) }
        expectClose(actual, c.rates, atol: 1e-15, rtol: 1e-12)
    }
}
