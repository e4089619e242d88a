import CFuzzerDriver
import Foundation
import LeafLensImaging

/// The PNG/JPEG decode shim (CLeafLensCodecs: libpng's and libjpeg's setjmp/longjmp error paths, the
/// pixel limit, colour conversions) through `ImageDecoder`, with a 4-megapixel limit so a header that
/// announces a huge image is refused before allocation, as in the CLI.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageDecode(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? ImageDecoder.headerSize(of: data, source: "<fuzz>")
    _ = try? ImageDecoder.decode(data, source: "<fuzz>", maxPixels: 4_000_000)
    return 0
}

@main
enum FuzzImageDecodeMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzImageDecode(bytes, count) })
    }
}
