import LeafLensMath
import LeafLensTestSupport
import Testing

@testable import LeafLensAttribution

/// SLIC against scikit-image's `slic` on a small synthetic image (Fixtures/methods_cam).
@Suite struct SLICTests {
    func fixture() throws -> (Tensor<Float>, [Int], MethodsCAMManifest.Slic) {
        let manifest = try MethodsCAMManifest.load()
        let image = try MethodsCAMManifest.array(manifest.slic.image_file)  // [H, W, 3]
        let labels = try MethodsCAMManifest.array(manifest.slic.labels_file).storage.map { Int($0) }
        let (h, w) = (image.shape[0], image.shape[1])
        var planar = [Float](repeating: 0, count: h * w * 3)
        for i in 0..<(h * w) { for c in 0..<3 { planar[c * h * w + i] = image.storage[i * 3 + c] } }
        return (try Tensor(shape: [3, h, w], storage: planar), labels, manifest.slic)
    }

    @Test func matchesScikitImage() throws {
        let (rgb, reference, info) = try fixture()
        let ours = try SLIC.segments(
            rgb: rgb, parameters: .init(segments: info.n_segments, compactness: info.compactness))
        #expect(ours.count == info.segments, "segment count: LeafLens \(ours.count), scikit-image \(info.segments)")
        // The same partition up to renaming: both labellings number segments in raster order of first
        // appearance, so compare after renumbering each that way.
        func firstAppearance(_ l: [Int]) -> [Int] {
            var map: [Int: Int] = [:]
            return l.map { v in
                if let m = map[v] { return m }
                map[v] = map.count
                return map[v]!  // safe: just inserted
            }
        }
        let a = firstAppearance(ours.labels.map { Int($0) }), b = firstAppearance(reference)
        let agree = zip(a, b).filter { $0 == $1 }.count
        #expect(agree == a.count, "pixels with the same segment as scikit-image: \(agree) of \(a.count)")
    }

    @Test func segmentsAreConnectedAndDeterministic() throws {
        let (rgb, _, info) = try fixture()
        let p = SLIC.Parameters(segments: info.n_segments, compactness: info.compactness)
        let s = try SLIC.segments(rgb: rgb, parameters: p)
        #expect(try SLIC.segments(rgb: rgb, parameters: p) == s)
        // Each segment is one 4-connected component.
        let (h, w) = (s.height, s.width)
        for (id, members) in s.members.enumerated() {
            var seen = Set([members[0]]), queue = [members[0]]
            while let p = queue.popLast() {
                let (y, x) = (p / w, p % w)
                for (dy, dx) in [(0, 1), (0, -1), (1, 0), (-1, 0)] {
                    let (yy, xx) = (y + dy, x + dx)
                    guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                    let q = yy * w + xx
                    if Int(s.labels[q]) == id, seen.insert(q).inserted { queue.append(q) }
                }
            }
            #expect(seen.count == members.count, "segment \(id) is not connected")
        }
    }

    @Test func regularGridMatchesScikitImagesExamples() {
        // skimage.util.regular_grid((1, 40, 56), 20): steps ≈ √(2240/20) = 10.58 → 11, starts 5.
        let g = SLIC.regularGrid(height: 40, width: 56, points: 20)
        #expect(g?.step == [11, 11])
        #expect(g?.start == [5, 5])
        #expect(SLIC.regularGrid(height: 4, width: 4, points: 16) == nil)
    }
}
