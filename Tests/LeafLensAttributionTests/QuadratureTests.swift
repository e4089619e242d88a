import LeafLensAttribution
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct QuadratureTests {
    struct TableCase: CustomTestStringConvertible, Sendable {
        let rule: IntegrationRule
        let steps: Int
        let alphas: [Double]
        let weights: [Double]
        var testDescription: String { "\(rule.rawValue)/\(steps)" }
    }

    /// Spec §1.1 reference values (Captum's approximation tests and the 0.9 venv).
    static let tables: [TableCase] = [
        .init(rule: .riemannLeft, steps: 2, alphas: [0, 0.5], weights: [0.5, 0.5]),
        .init(rule: .riemannRight, steps: 2, alphas: [0.5, 1], weights: [0.5, 0.5]),
        .init(rule: .riemannMiddle, steps: 2, alphas: [0.25, 0.75], weights: [0.5, 0.5]),
        .init(rule: .riemannTrapezoid, steps: 2, alphas: [0, 1], weights: [0.25, 0.25]),
        .init(rule: .gaussLegendre, steps: 1, alphas: [0.5], weights: [1]),
        .init(
            rule: .gaussLegendre, steps: 3, alphas: [0.1127016654, 0.5, 0.8872983346],
            weights: [5.0 / 18, 8.0 / 18, 5.0 / 18]),
        .init(rule: .riemannLeft, steps: 3, alphas: [0, 1.0 / 3, 2.0 / 3], weights: [1.0 / 3, 1.0 / 3, 1.0 / 3]),
        .init(
            rule: .riemannTrapezoid, steps: 4, alphas: [0, 1.0 / 3, 2.0 / 3, 1],
            weights: [0.125, 0.25, 0.25, 0.125]),
        .init(
            rule: .riemannMiddle, steps: 4, alphas: [0.125, 0.375, 0.625, 0.875], weights: [0.25, 0.25, 0.25, 0.25]),
        .init(
            rule: .gaussLegendre, steps: 4, alphas: [0.0694318442, 0.3300094782, 0.6699905218, 0.9305681558],
            weights: [0.1739274226, 0.3260725774, 0.3260725774, 0.1739274226]),
    ]

    @Test(arguments: tables)
    func referenceTable(_ c: TableCase) throws {
        let q = try c.rule.quadrature(steps: c.steps)
        // Riemann nodes are float32 values (0.6666667 for 2/3), GL nodes are Double.
        expectClose(q.alphas, c.alphas, atol: c.rule == .gaussLegendre ? 1e-9 : 6e-8, rtol: 0, "alphas")
        expectClose(q.weights, c.weights, atol: 1e-7, rtol: 0, "weights")
    }

    @Test func gaussLegendre50FirstNode() throws {
        let q = try IntegrationRule.gaussLegendre.quadrature(steps: 50)
        expectClose([q.alphas[0]], [0.00056679779], atol: 1e-11, rtol: 0)
        expectClose([q.weights[0]], [0.0014543113], atol: 1e-10, rtol: 0)
    }

    /// Weights are float32 values: riemann_left at n=3 has weights Float(1/3), not 1/3.
    @Test func weightsAreFloat32() throws {
        let q = try IntegrationRule.riemannLeft.quadrature(steps: 3)
        #expect(q.weights == [Float(1.0 / 3), Float(1.0 / 3), Float(1.0 / 3)])
        #expect(Double(q.weights[0]) != 1.0 / 3)
    }

    /// Every Riemann rule's nodes equal torch.linspace in float32 bit for bit. The reference rounds
    /// once with a Float fused multiply-add (start + step·i, end − step·(n−1−i)), an independent
    /// formulation of the same single rounding.
    @Test(arguments: [IntegrationRule.riemannLeft, .riemannRight, .riemannMiddle, .riemannTrapezoid])
    func riemannNodesAreFloat32Linspace(_ rule: IntegrationRule) throws {
        for n in 2...200 {
            let d = Double(n)
            let (start, end): (Double, Double) =
                switch rule {
                case .riemannLeft: (0, 1 - 1 / d)
                case .riemannRight: (1 / d, 1)
                case .riemannMiddle: (1 / (2 * d), 1 - 1 / (2 * d))
                default: (0, 1)
                }
            let s = Float(start), e = Float(end)
            let step = (e - s) / Float(n - 1)
            let reference: [Float] = (0..<n).map { i in
                i < n / 2 ? s.addingProduct(step, Float(i)) : e.addingProduct(-step, Float(n - 1 - i))
            }
            let alphas = try rule.quadrature(steps: n).alphas.map { Float($0) }
            #expect(alphas == reference, "n = \(n)")
            #expect(try rule.quadrature(steps: n).alphas.allSatisfy { Double(Float($0)) == $0 })
        }
    }

    /// Trapezoid weights are 1/n with halved ends, so they sum to (n−1)/n — Captum's rule.
    @Test(arguments: [2, 4, 50])
    func trapezoidWeightsSumToNMinusOneOverN(_ n: Int) throws {
        let q = try IntegrationRule.riemannTrapezoid.quadrature(steps: n)
        expectClose([q.weights.reduce(0.0) { $0 + Double($1) }], [Double(n - 1) / Double(n)], atol: 1e-6, rtol: 0)
    }

    /// Our Newton-iteration Gauss–Legendre rule: ascending, symmetric, weights sum to 1 on [0, 1],
    /// and exact for α^(2n−1).
    @Test func gaussLegendreIsExactToDegreeTwoNMinusOne() {
        for n in 1...60 {
            let (x, w) = GaussLegendre.nodesAndWeights(count: n)
            #expect(zip(x, x.dropFirst()).allSatisfy { $0 < $1 }, "n = \(n) not ascending")
            expectClose(x, x.reversed().map { -$0 }, atol: 1e-15, rtol: 0, "n = \(n) symmetry")
            expectClose([w.reduce(0, +)], [2.0], atol: 1e-13, rtol: 0, "n = \(n) weight sum")
            let degree = 2 * n - 1
            let integral = zip(x, w).reduce(0.0) { acc, p in acc + 0.5 * p.1 * pow(0.5 * (1 + p.0), degree) }
            expectClose([integral], [1 / Double(degree + 1)], atol: 1e-13, rtol: 0, "n = \(n) exactness")
        }
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let rule: IntegrationRule
        let steps: Int
        var testDescription: String { "\(rule.rawValue)/\(steps)" }
    }

    @Test(arguments: [
        InvalidCase(rule: .riemannLeft, steps: 1), .init(rule: .riemannRight, steps: 0),
        .init(rule: .riemannMiddle, steps: -3), .init(rule: .riemannTrapezoid, steps: 1),
        .init(rule: .gaussLegendre, steps: 0),
    ])
    func tooFewStepsThrow(_ c: InvalidCase) {
        #expect(throws: AttributionError.self) { try c.rule.quadrature(steps: c.steps) }
    }

    @Test func rawValues() {
        #expect(
            IntegrationRule.allCases.map(\.rawValue) == [
                "gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid",
            ])
    }
}

private func pow(_ x: Double, _ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * x } }
