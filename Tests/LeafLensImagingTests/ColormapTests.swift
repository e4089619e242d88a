import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct ColormapTests {
    /// Captum's RdWhGn: v = 0 maps to entry 128 = (0.99608, 0.99805, 0.99608), not pure white.
    @Test func rdWhGnMiddleEntry() {
        let map = Colormap.rdWhGn
        #expect(map.index(normalized: 0.5) == 128)
        let c = map.color(normalized: 0.5)
        expectClose([c.r, c.g, c.b], [0.99608, 0.99805, 0.99608], atol: 5e-6, rtol: 0)
        #expect(map.index(normalized: 1) == 255 && map.index(normalized: 0) == 0 && map.index(normalized: -0.2) == 0)
        let green = map.color(normalized: 1)
        #expect(green.r == 0 && abs(green.g - 128.0 / 255) < 1e-15 && green.b == 0)
    }

    struct LUTCase: Sendable, CustomTestStringConvertible {
        let name: String, tolerance: Double
        var testDescription: String { name }
    }

    /// Every table against matplotlib's: segmented maps exactly (to rounding), viridis/inferno (anchored on
    /// every 8th published entry) within 0.007.
    @Test(arguments: [
        LUTCase(name: "RdWhGn", tolerance: 1e-12), LUTCase(name: "Greens", tolerance: 1e-12),
        LUTCase(name: "Reds", tolerance: 1e-12), LUTCase(name: "Blues", tolerance: 1e-12),
        LUTCase(name: "jet", tolerance: 1e-12), LUTCase(name: "gray", tolerance: 1e-12),
        LUTCase(name: "viridis", tolerance: 0.007), LUTCase(name: "inferno", tolerance: 0.007),
    ])
    func tableMatchesMatplotlib(_ c: LUTCase) throws {
        let manifest = try ImagingFixtures.manifestResult.get().visualization
        let luts = try NPY.read(ImagingFixtures.url("visualization/" + manifest.colormap_luts), as: Double.self)
        let index = try #require(manifest.colormaps.firstIndex(of: c.name))
        let map = try #require(Colormap.named(c.name))
        expectClose(
            try Tensor<Double>(shape: [256, 3], storage: map.table), luts.item(index), atol: c.tolerance, rtol: 0,
            c.name)
    }

    @Test func signsUseCaptumDefaults() {
        #expect(AttributionSign.all.defaultColormap == .rdWhGn)
        #expect(AttributionSign.positive.defaultColormap == .greens)
        #expect(AttributionSign.negative.defaultColormap == .reds)
        #expect(AttributionSign.absoluteValue.defaultColormap == .blues)
    }
}
