import CFuzzerDriver
import Foundation
import LeafLensCheckpoint

/// PyTorch checkpoints: the zip preflight and container, the restricted unpickler, storages, strides and
/// the state_dict mapping (`fuzzCheckpoint` uses small limits so each input stays cheap).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzCheckpoint(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

@main
enum FuzzCheckpointMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in fuzzCheckpointInput(bytes, count) })
    }
}
