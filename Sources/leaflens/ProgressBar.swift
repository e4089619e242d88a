import Foundation
import LeafLensAttribution

/// A one-line progress bar on standard error for long attributions (IG step chunks, occlusion
/// forwards). Drawn only when standard error is a terminal and `--quiet` is off; otherwise
/// `callback` is nil and nothing is written. The line is erased when the work completes, so the
/// terminal is left as it was.
struct ProgressBar: Sendable {
    let label: String
    let start: ContinuousClock.Instant
    static let width = 30

    /// Whether a bar should be drawn: stderr is a terminal and the user did not ask for quiet.
    static func enabled(quiet: Bool) -> Bool { !quiet && isatty(STDERR_FILENO) != 0 }

    /// A progress callback for the attribution methods, or nil when no bar should be drawn.
    static func callback(label: String, enabled: Bool) -> AttributionProgress? {
        guard enabled else { return nil }
        let bar = ProgressBar(label: label, start: .now)
        return { done, total in bar.draw(done: done, total: total) }
    }

    func draw(done: Int, total: Int) {
        guard total > 0 else { return }
        let fraction = min(max(Double(done) / Double(total), 0), 1)
        let filled = Int((fraction * Double(Self.width)).rounded(.down))
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.width - filled)
        let line =
            done >= total
            ? "\r\u{1B}[K"
            : "\r\u{1B}[K\(label) [\(bar)] \(done)/\(total) \(String(format: "%.1f", seconds))s"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
