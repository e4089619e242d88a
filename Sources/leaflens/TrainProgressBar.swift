import Foundation
import LeafLensTraining

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
final class TrainingProgressBar {
    static var enabled: Bool { isatty(2) != 0 }
    private var active = false
    private var lastDraw = Date.distantPast

    func update(_ p: TrainingProgress) {
        guard Self.enabled else { return }
        guard p.done == p.total || -lastDraw.timeIntervalSinceNow > 0.1 else { return }
        lastDraw = Date()
        let width = 24
        let filled = p.total == 0 ? 0 : width * p.done / p.total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line: String
        switch p.phase {
        case .features: line = "features [\(bar)] \(p.done)/\(p.total)"
        case .validation: line = "epoch \(p.epoch)/\(p.epochs) validating [\(bar)] \(p.done)/\(p.total)"
        case .training:
            line = String(format: "epoch %d/%d [%@] %d/%d loss %.4f acc %.1f%% %.1f img/s", p.epoch, p.epochs, bar, p.done, p.total, p.loss, p.accuracy * 100, p.imagesPerSecond)
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        active = true
    }

    func finish() {
        guard active else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        active = false
    }
}
