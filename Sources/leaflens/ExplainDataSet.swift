import ArgumentParser
import Foundation
import LeafLensMath
import LeafLensPipeline

#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGTERM handler of a data-set run (Slurm at its time limit or on scancel, Kubernetes on
/// eviction): the run stops before the next image. Only ever written by the handler.
nonisolated(unsafe) private var terminationRequested: sig_atomic_t = 0

extension Explain {
    /// `explain --data DIR | --list FILE [--shard K/N|auto]`: one shard of a data set.
    func runDataSet(_ job: ExplanationJob, target: Int?) throws {
        let shard = try dataSet.resolvedShard(ProcessInfo.processInfo.environment)
        let output = URL(fileURLWithPath: out)
        let items: [DataSetItem]
        var folderClasses: [String] = []
        do {
            if let data = dataSet.data {
                (items, folderClasses) = try DataSetListing.folder(URL(fileURLWithPath: data))
            } else {
                items = try DataSetListing.list(URL(fileURLWithPath: dataSet.list ?? ""))
            }
        } catch { throw RuntimeError(error.description) }
        let labels = Set(job.explainer.labels)
        let unknown = folderClasses.filter { !labels.contains($0) }
        if !unknown.isEmpty, !quiet {
            warn(
                "leaflens: warning: \(unknown.count) of \(folderClasses.count) class folders are not classes of the model "
                    + "(\(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", …" : "")); accuracy counts only the others"
            )
        }
        let explanation = DataSetExplanation(
            job: job, methods: method.methods, output: output, target: target, batchSize: dataSet.batchSize)
        let run = explanation.shardRun(items: items, shard: shard)

        let mode = quiet ? .none : (dataSet.progress ?? (ProgressBar.terminal ? .bar : .lines))
        let bar = ProgressBar(quiet: mode != .bar)
        let label = "shard \(shard)"
        let every = dataSet.progressEvery
        var lastLine = 0
        let progress: (DataSetProgress) -> Void = { p in
            switch mode {
            case .bar: bar.update(label, done: p.done, total: p.total, detail: Self.rateText(p))
            case .lines:
                guard p.done == p.total || p.done - lastLine >= every else { return }
                lastLine = p.done
                warn(
                    "leaflens: \(label): \(p.done)/\(p.total) images (\(p.explained) explained, \(p.skipped) already done, "
                        + "\(p.failed) failed), \(Self.rateText(p))")
            case .none: break
            }
        }
        // SIGTERM stops the run between images (the current image's files and record complete) instead of
        // the process-wide clean-up-and-exit; SIGINT keeps the latter.
        TemporaryFiles.releaseSignal(SIGTERM)
        signal(SIGTERM) { _ in terminationRequested = 1 }
        // A parent may have left SIGTERM blocked (the mask survives exec; some launchers and test runners
        // do this): unblock it, or the handler would never run.
        var terminate = sigset_t()
        sigemptyset(&terminate)
        sigaddset(&terminate, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &terminate, nil)
        let summary: DataSetRunSummary
        do {
            summary = try explanation.run(
                run, progress: progress, warning: { if !quiet { warn("leaflens: warning: \($0)") } },
                shouldStop: { terminationRequested != 0 })
        } catch {
            bar.finish()
            throw RuntimeError(error.description)
        }
        bar.finish()
        signal(SIGTERM, SIG_DFL)
        let records = summary.recordsFile.path
        if !quiet {
            var parts = [
                "\(summary.explained) explained", "\(summary.skipped) already done", "\(summary.failed) failed",
            ]
            if summary.ignored > 0 { parts.append("\(summary.ignored) not images (ignored)") }
            print("\(label): \(summary.assigned) files: \(parts.joined(separator: ", ")); records in \(records)")
        }
        if summary.stopped {
            warn("leaflens: \(label): stopped by SIGTERM; a rerun of the shard finishes the remaining images")
            throw ExitCode(143)
        }
        if summary.failed > 0 {
            throw RuntimeError(
                "\(label): \(summary.failed) image\(summary.failed == 1 ? "" : "s") failed; their errors are in \(records) "
                    + "(a rerun retries them; `leaflens report \(out)` lists them)")
        }
    }

    /// "1.93 images/s, 2m05s left".
    static func rateText(_ p: DataSetProgress) -> String {
        guard let rate = p.imagesPerSecond, let left = p.secondsLeft else { return "" }
        return String(format: "%.2f images/s, %@ left", rate, duration(left))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
