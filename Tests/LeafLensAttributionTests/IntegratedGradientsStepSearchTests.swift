import LeafLensAttribution
import LeafLensMath
import LeafLensModel
import LeafLensTestSupport
import Testing

/// `IntegratedGradients.attribute(…, stepSearch:)` (`--steps auto`): the chosen count's delta is within
/// tolerance, recomputed here from Captum's F(x) and F(b) (Fixtures/captum); the count is at most the
/// first passing ladder rung and one less fails; the attributions are those of a plain run at that count.
@Suite struct IntegratedGradientsStepSearchTests {
    struct Run: Sendable, CustomTestStringConvertible {
        let network: String
        let rule: IntegrationRule
        let tolerance: Double
        var testDescription: String { "\(network) \(rule.rawValue) tolerance \(tolerance)" }
    }

    /// The small network's two images (gaps 27.95 and 3.80) and the full-width one (gap 14.58).
    static let parityRuns = [
        Run(network: "small", rule: .gaussLegendre, tolerance: 0.01),
        Run(network: "small", rule: .riemannTrapezoid, tolerance: 0.05),
        Run(network: "full", rule: .gaussLegendre, tolerance: 0.01),
    ]

    @Test(arguments: parityRuns)
    func parityInputsReachTheTolerance(_ run: Run) throws {
        let c = try CaptumFixtures.case(run.network)
        let model = try CaptumFixtures.classifier(c)
        let captum = try c.attribution("ig_gl50")
        let (fx, fb) = (try #require(captum.f_x), try #require(captum.f_baseline))
        let search = IntegratedGradients.StepSearch(relativeTolerance: run.tolerance)
        let found = try IntegratedGradients.attribute(
            model: model, input: c.input, targets: c.targets, stepSearch: search, rule: run.rule)
        #expect(found.converged, "\(run): \(found.trials)")

        // The delta, recomputed from the attributions and Captum's outputs, is within the tolerance.
        let sums = rowSums(found.result.attributions)
        for i in c.targets.indices {
            let gap = fx[i] - fb[i]
            let delta = sums[i] - gap
            // Captum's F values are float32 sums like ours: allow their rounding (1e-5 of the gap) on top.
            #expect(
                abs(delta) <= run.tolerance * abs(gap) + 1e-5 * abs(gap),
                "\(run) example \(i): delta \(delta) with tolerance \(run.tolerance * abs(gap)) at \(found.steps) steps"
            )
            expectClose([found.tolerances[i]], [run.tolerance * abs(gap)], atol: 0, rtol: 1e-5)
        }

        // At most the first passing ladder rung; the count below it was tried and failed.
        let ladder = search.ladder(rule: run.rule)
        let firstPassing = try #require(found.trials.first { $0.passed && ladder.contains($0.steps) })
        #expect(found.steps <= firstPassing.steps)
        #expect(found.trials.first { $0.steps == found.steps }?.passed == true)
        if found.steps > ladder[0] {
            #expect(found.trials.contains { $0.steps == found.steps - 1 && !$0.passed }, "\(found.trials)")
        }
        // The ladder was climbed in order up to the first pass.
        let climbed = found.trials.prefix { ladder.contains($0.steps) }.map(\.steps)
        #expect(Array(ladder.prefix(climbed.count)) == climbed)

        // The same numbers as a plain run at the chosen count (one code path).
        let plain = try IntegratedGradients.attribute(
            model: model, input: c.input, targets: c.targets, steps: found.steps, rule: run.rule)
        #expect(plain == found.result)
    }

    /// A linear model is integrated exactly by one Gauss–Legendre node: the search stops at the
    /// ladder's first rung.
    @Test func exactRuleStopsAtTheFirstRung() throws {
        let x = try tensor([2, 3], IntegratedGradientsTests.multiLayerX)
        let found = try IntegratedGradients.attribute(
            model: LinearModel<Float>(weights: [0.5, -1, 2]), input: x, targets: [0, 0], stepSearch: .init())
        #expect(found.converged)
        #expect(found.steps == 1)
        #expect(found.trials.map(\.steps) == [1])
    }

    /// No count up to the maximum passes: the best one tried is returned with `converged == false`.
    @Test func unreachedToleranceReturnsTheBestTried() throws {
        let c = try CaptumFixtures.case("small")
        let model = try CaptumFixtures.classifier(c)
        let search = IntegratedGradients.StepSearch(relativeTolerance: 1e-9, maximumSteps: 6)
        let found = try IntegratedGradients.attribute(
            model: model, input: c.input, targets: c.targets, stepSearch: search, rule: .riemannTrapezoid)
        #expect(!found.converged)
        #expect(found.trials.map(\.steps) == [2, 4, 6])
        #expect(found.trials.allSatisfy { !$0.passed })
        let worst = { (t: IntegratedGradients.StepTrial) in
            zip(t.deltas, found.tolerances).map { abs($0) / $1 }.max() ?? 0
        }
        let best = try #require(found.trials.min { worst($0) < worst($1) })
        #expect(found.steps == best.steps)
        #expect(found.result.convergenceDelta.map(Double.init) == best.deltas)
    }

    @Test func ladderDoublesFromTheRulesMinimum() {
        #expect(
            IntegratedGradients.StepSearch().ladder(rule: .gaussLegendre) == [
                1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
            ])
        #expect(
            IntegratedGradients.StepSearch().ladder(rule: .riemannLeft) == [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        #expect(
            IntegratedGradients.StepSearch(maximumSteps: 100).ladder(rule: .gaussLegendre) == [
                1, 2, 4, 8, 16, 32, 64, 100,
            ])
        #expect(IntegratedGradients.StepSearch(maximumSteps: 1).ladder(rule: .gaussLegendre) == [1])
    }

    @Test(arguments: [0, -0.01, Double.nan, Double.infinity])
    func refusesABadTolerance(_ tolerance: Double) throws {
        let x = try tensor([1, 3], [1, 2, 3])
        #expect(throws: AttributionError.self) {
            try IntegratedGradients.attribute(
                model: LinearModel<Float>(weights: [0.5, -1, 2]), input: x, targets: [0],
                stepSearch: .init(relativeTolerance: tolerance))
        }
    }

    @Test func refusesAMaximumBelowTheRulesMinimum() throws {
        let x = try tensor([1, 3], [1, 2, 3])
        #expect(throws: AttributionError.invalidOption("the maximum steps must be at least 2 for riemann-left, got 1"))
        {
            try IntegratedGradients.attribute(
                model: LinearModel<Float>(weights: [0.5, -1, 2]), input: x, targets: [0],
                stepSearch: .init(maximumSteps: 1),
                rule: .riemannLeft)
        }
    }
}
