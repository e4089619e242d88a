import CFuzzerDriver
import Foundation
import LeafLensMath

/// Safetensors parsing (header JSON, entries, offsets) and element decoding of every tensor it accepts.
/// Any trap, sanitizer report, timeout or out-of-memory is a finding; thrown `FileFormatError`s are not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    guard let file = try? SafeTensorsFile.decode(data, source: "<fuzz>") else { return 0 }
    for name in file.tensorNames { _ = try? file.tensor(name, as: Float.self) }
    _ = try? file.labels()
    return 0
}

@main
enum FuzzSafeTensorsMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzSafeTensors(bytes, count) })
    }
}
