import Foundation
import LeafLensImaging
import LeafLensPipeline
import LeafLensTestSupport
import Testing

@Suite struct ConfusionMatrixTests {
    /// Known counts → known precision/recall/F1 (zero_division = 0) and CSV with quoted labels.
    @Test func metricsAndCSV() {
        var m = ConfusionMatrix(labels: ["a", "b,c", "d"])
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 0), (1, 1)] { m.add(truth: t, prediction: p) }
        #expect(m.total == 6 && m.correct == 4)
        let metrics = m.perClass
        expectClose(metrics.map(\.precision), [2.0 / 3, 2.0 / 3, 0], atol: 1e-12, rtol: 0)
        expectClose(metrics.map(\.recall), [2.0 / 3, 2.0 / 3, 0], atol: 1e-12, rtol: 0)
        expectClose(metrics.map(\.f1), [2.0 / 3, 2.0 / 3, 0], atol: 1e-12, rtol: 0)
        #expect(m.csv == "true\\predicted,a,\"b,c\",d\na,2,1,0\n\"b,c\",1,2,0\nd,0,0,0\n")
    }

    /// The picture: 16-px cells on a 1-px grid; a full row share is the darkest blue, an empty cell the
    /// lightest; the diagonal has a green frame.
    @Test func pictureShadesByRowShare() throws {
        var m = ConfusionMatrix(labels: ["a", "b"])
        m.add(truth: 0, prediction: 0)
        m.add(truth: 1, prediction: 0)
        let image = try ConfusionImage.render(m)
        #expect(image.width == 33 && image.height == 33)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(image.pixels[(y * 33 + x) * 3..<(y * 33 + x) * 3 + 3]) }
        #expect(pixel(0, 0) == [160, 160, 160])  // grid
        #expect(pixel(1, 1) == [40, 160, 60])  // diagonal frame
        let full = Colormap.blues.color(normalized: 1), empty = Colormap.blues.color(normalized: 0)
        #expect(pixel(16 + 8, 8) == [empty.r, empty.g, empty.b].map { UInt8(($0 * 255).rounded()) })  // row a, column b
        #expect(pixel(8, 16 + 8) == [full.r, full.g, full.b].map { UInt8(($0 * 255).rounded()) })  // row b, column a
    }
}
