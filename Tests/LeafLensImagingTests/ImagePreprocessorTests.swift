import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

@Suite struct ImagePreprocessorTests {
    static func preprocessor(for entry: ImagingManifest.Preprocess) -> ImagePreprocessor {
        if let crop = entry.crop {
            return ImagePreprocessor(resizeShorterSide: entry.resize, cropHeight: crop[0], cropWidth: crop[1])
        }
        return ImagePreprocessor(resizeShorterSide: entry.resize, cropSize: nil)
    }

    /// torchvision Resize + CenterCrop on PIL images: the uint8 image matches exactly, and the normalized
    /// tensor matches ToTensor + Normalize exactly (tolerance 0; the stated budget was 1/255 / std).
    @Test(arguments: ImagingFixtures.preprocessCases)
    func matchesTorchvision(_ entry: ImagingManifest.Preprocess) throws {
        let image = try ImageDecoder.decode(contentsOf: ImagingFixtures.url(entry.source))
        let output = try Self.preprocessor(for: entry)(image)
        try ImagingFixtures.expectPixels(
            output.displayImage, entry.display, width: entry.width, height: entry.height, entry.name)
        #expect(output.tensor.shape == [3, entry.height, entry.width])
        if let tensorPath = entry.tensor {
            let expected = try NPY.read(ImagingFixtures.url(tensorPath), as: Float.self)
            expectClose(output.tensor, expected, atol: 0, rtol: 0, entry.name)
        }
        #expect(output.batch.shape == [1, 3, entry.height, entry.width])
    }

    /// The same cases with the tolerance the brief allows: |Δ| ≤ (1/255)/std per channel.
    @Test func withinOneLevelPerChannel() throws {
        for entry in ImagingFixtures.preprocessCases {
            guard let path = entry.tensor else { continue }
            let image = try ImageDecoder.decode(contentsOf: ImagingFixtures.url(entry.source))
            let tensor = try Self.preprocessor(for: entry)(image).tensor
            let expected = try NPY.read(ImagingFixtures.url(path), as: Float.self)
            let plane = entry.width * entry.height
            for c in 0..<3 {
                let tolerance = (1.0 / 255) / ImagePreprocessor.imageNetStd[c]
                let a = Array(tensor.storage[(c * plane)..<((c + 1) * plane)])
                let e = Array(expected.storage[(c * plane)..<((c + 1) * plane)])
                expectClose(a, e, atol: tolerance, rtol: 0, "\(entry.name) channel \(c)")
            }
        }
    }

    struct SizeCase: Sendable, CustomTestStringConvertible {
        let width: Int, height: Int, side: Int, expectedWidth: Int, expectedHeight: Int
        var testDescription: String { "\(width)x\(height) → Resize(\(side))" }
    }

    /// torchvision: the shorter side becomes `side`, the longer `int(side * long / short)` (truncated).
    @Test(arguments: [
        SizeCase(width: 300, height: 200, side: 256, expectedWidth: 384, expectedHeight: 256),
        SizeCase(width: 180, height: 250, side: 256, expectedWidth: 256, expectedHeight: 355),  // 355.55…
        SizeCase(width: 257, height: 300, side: 256, expectedWidth: 256, expectedHeight: 298),  // 298.83…
        SizeCase(width: 333, height: 257, side: 256, expectedWidth: 331, expectedHeight: 256),
        SizeCase(width: 100, height: 100, side: 256, expectedWidth: 256, expectedHeight: 256),
        SizeCase(width: 640, height: 3, side: 224, expectedWidth: 47786, expectedHeight: 224),
    ])
    func resizedSizeFollowsTorchvision(_ c: SizeCase) {
        let size = ImagePreprocessor.resizedSize(width: c.width, height: c.height, shorterSide: c.side)
        #expect(size.width == c.expectedWidth && size.height == c.expectedHeight)
    }

    /// CenterCrop offsets use Python's round half to even: (257 − 224)/2 = 16.5 → 16, (259 − 224)/2 = 17.5 → 18.
    @Test func centerCropRoundsHalfToEven() throws {
        let width = 5
        for (height, top) in [(257, 16), (259, 18), (224, 0), (226, 1)] {
            // Each row holds its own index, so the first cropped row tells the offset.
            let pixels = (0..<height).flatMap { y in [UInt8](repeating: UInt8(truncatingIfNeeded: y), count: width * 3)
            }
            let cropped = try RGBImage(width: width, height: height, pixels: pixels).centerCropped(
                height: 224, width: width)
            #expect(cropped.pixels[0] == UInt8(truncatingIfNeeded: top), "height \(height)")
        }
    }

    /// Denormalizing a preprocessed tensor gives back the display image exactly.
    @Test func denormalizeInvertsNormalize() throws {
        let image = try ImageDecoder.decode(contentsOf: ImagingFixtures.url("images/png_rgba8_180x250.png"))
        let output = try ImagePreprocessor.standard(image)
        #expect(try ImagePreprocessor.standard.denormalize(output.tensor) == output.displayImage)
    }

    @Test func rejectsBadOptions() throws {
        let image = try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 1, count: 12))
        #expect(throws: ImageError.self) { try ImagePreprocessor(resizeShorterSide: 0)(image) }
        #expect(throws: ImageError.self) { try ImagePreprocessor(cropSize: -1)(image) }
        #expect(throws: ImageError.self) { try ImagePreprocessor(std: [1, 0, 1])(image) }
        #expect(throws: ImageError.self) { try image.resizedBilinear(width: 0, height: 3) }
    }
}

extension ImagePreprocessorTests {
    /// Absurd sizes throw instead of trapping or allocating.
    @Test func refusesAbsurdSizes() throws {
        let image = try RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 9, count: 18))
        #expect(throws: ImageError.self) { try ImagePreprocessor(resizeShorterSide: Int.max / 2, cropSize: nil)(image) }
        #expect(throws: ImageError.self) { try image.centerCropped(height: Int.max, width: 3) }
        #expect(throws: ImageError.self) { try image.resizedBilinear(width: 1 << 20, height: 1 << 20) }
    }
}
