import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one progress bar of every long job (explain, evaluate, train, synth): a line on standard error
/// — `label [#####-----] done/total detail 1.2s` — drawn only when standard error is a terminal and
/// the command is not quiet, at most ten times a second, and erased when the work completes (or by
/// `finish()`), so the terminal is left as it was. Safe to update from several threads.
final class ProgressBar: @unchecked Sendable {
    static let width = 30
    /// Whether standard error is a terminal.
    static var terminal: Bool { isatty(STDERR_FILENO) != 0 }

    let enabled: Bool
    private let lock = NSLock()
    private var start = ContinuousClock.now
    private var lastLabel = ""
    private var lastDraw: ContinuousClock.Instant?
    private var active = false

    /// A bar that draws when standard error is a terminal and `quiet` is off.
    init(quiet: Bool = false) { enabled = !quiet && Self.terminal }

    /// Draws `done` of `total` under `label` (the clock restarts when the label changes); `detail` is
    /// shown after the counts.
    func update(_ label: String, done: Int, total: Int, detail: String = "") {
        guard enabled, total > 0 else { return }
        lock.withLock {
            let now = ContinuousClock.now
            if label != lastLabel {
                lastLabel = label
                start = now
            }
            if done >= total {
                erase()
                return
            }
            if let lastDraw, now - lastDraw < .milliseconds(100) { return }
            lastDraw = now
            let fraction = min(max(Double(done) / Double(total), 0), 1)
            let filled = Int((fraction * Double(Self.width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.width - filled)
            let elapsed = now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let extra = detail.isEmpty ? "" : " \(detail)"
            let line = "\r\u{1B}[K\(label) [\(bar)] \(done)/\(total)\(extra) \(String(format: "%.1f", seconds))s"
            FileHandle.standardError.write(Data(line.utf8))
            active = true
        }
    }

    /// A callback for library work that reports `(done, total)`, or nil when nothing is drawn.
    func callback(_ label: String) -> (@Sendable (Int, Int) -> Void)? {
        guard enabled else { return nil }
        return { [self] done, total in update(label, done: done, total: total) }
    }

    /// Erases the line if one is shown.
    func finish() {
        guard enabled else { return }
        lock.withLock { erase() }
    }

    private func erase() {
        guard active else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        active = false
        lastDraw = nil
    }
}
