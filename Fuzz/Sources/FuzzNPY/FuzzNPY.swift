import CFuzzerDriver
import Foundation
import LeafLensMath

/// `.npy` parsing (magic, version, the Python-literal header, shape, dtype, C/Fortran order) into
/// Float and Double tensors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    _ = try? NPY.decode(data, source: "<fuzz>", as: Float.self)
    _ = try? NPY.decode(data, source: "<fuzz>", as: Double.self)
    return 0
}

@main
enum FuzzNPYMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzNPY(bytes, count) })
    }
}
