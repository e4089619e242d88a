import Foundation
import LeafLensImaging
import LeafLensMath
import LeafLensTestSupport
import Testing

/// The parts of the report added for comparing pictures, and the page in a real browser.
@Suite("HTMLReport story")
struct HTMLReportStoryTests {
    @Test func everyPartIsOnThePage() throws {
        let html = try ReportSample.report().render()
        // A CSS-only toggle: two radio inputs before <main>, labels inside it, rules on :checked.
        #expect(html.contains("<input type=\"radio\" name=\"view\" id=\"view-overlay\" class=\"view-toggle\" checked>"))
        #expect(html.contains("<label for=\"view-heat\""))
        #expect(html.contains("#view-heat:checked ~ main .show-overlay { display: none; }"))
        #expect(html.components(separatedBy: "class=\"show-heat\"").count == 3)
        // Colour bars with their ticks and captions, full names, metrics, curves, the shared row.
        #expect(html.components(separatedBy: "class=\"colorbar\"").count == 4)
        #expect(html.contains("outliers 2%, per map"))
        #expect(html.contains("outliers 2%, per image"))
        #expect(html.contains("Integrated Gradients <span class=\"id\">integrated-gradients</span>"))
        #expect(html.contains("<tr><th>deletion AUC</th><td>0.231</td></tr>"))
        #expect(html.components(separatedBy: "<svg ").count == 5)
        #expect(html.contains("deletion, AUC 0.231"))
        #expect(html.contains("<h2>Side by side on one scale</h2>"))
        #expect(html.contains("different units (logit·input, CAM)"))
        #expect(html.contains("<tr><th>time: forward + backward</th><td>1.200 s</td></tr>"))
        #expect(html.contains("shown 4× enlarged"))
        for forbidden in ["<script", "http:", "https:", "url(", "@import", "<link"] {
            #expect(!html.lowercased().contains(forbidden), "found \(forbidden)")
        }
    }

    @Test func curvesIgnoreNonFiniteScoresAndClampToTheAxes() {
        let svg = HTMLReport.curveSVG(.init(name: "deletion", fractions: [0, 0.5, 1, 2], scores: [1, .nan, 0, -1]))
        #expect(!svg.contains("nan"))
        #expect(svg.contains("<polyline points=\""))
    }

    // MARK: In Chromium

    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Loads `page` in headless Chromium; returns its exit status, the DOM, and every log line that
    /// reports a console message, a script error, a blocked or failed load, or a network lookup.
    static func loadInChromium(
        _ page: URL, folder: URL
    ) throws -> (status: Int32, dom: String, console: [String], log: String) {
        let browser = try #require(Self.chromium)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = [
            "120", browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--enable-logging=stderr", "--v=0",
            // Any attempt to reach the network fails loudly (and shows up in the log).
            "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.absoluteString,
        ]
        // The log goes to a file (it can be long); the DOM comes through a pipe read to the end.
        let logURL = folder.appendingPathComponent("chromium.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: logURL)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = logHandle
        try process.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try logHandle.close()
        let log = try String(contentsOf: logURL, encoding: .utf8)
        let console = log.split(separator: "\n").map(String.init).filter {
            $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("ERR_NAME_NOT_RESOLVED")
                || $0.contains("Refused to") || $0.contains("Failed to load")
        }
        return (process.terminationStatus, dom, console, log)
    }

    /// The page loads in headless Chromium with no console messages (errors, CSP or resource
    /// failures) and no network requests, and its DOM has every section. With
    /// LEAFLENS_KEEP_REPORT=<path> the sample page is also written there (for scripts/screenshot-report).
    @Test(
        .enabled(
            if: chromium != nil,
            "chromium is not installed (scripts/install-dependencies installs it; apt-get install -y chromium)"))
    func rendersInChromiumWithoutConsoleErrors() throws {
        let folder = try FixturePaths.temporaryDirectory("leaflens-report-browser")
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("report.html")
        let report = try ReportSample.report()
        try report.write(to: page)
        if let keep = ProcessInfo.processInfo.environment["LEAFLENS_KEEP_REPORT"] {
            try report.write(to: URL(fileURLWithPath: keep))
        }
        let result = try Self.loadInChromium(page, folder: folder)
        #expect(result.status == 0, "chromium exited with \(result.status): \(result.log.suffix(2000))")
        #expect(result.console.isEmpty, "console messages: \(result.console.joined(separator: "\n"))")
        #expect(result.dom.contains("<section class=\"method\" id=\"method-2\">"), "DOM: \(result.dom.prefix(500))")
        #expect(result.dom.contains("Side by side on one scale"))
        #expect(result.dom.components(separatedBy: "<svg").count == 5)
    }

    /// The detector above can fail: a page that logs a console error and fetches a remote image is
    /// caught.
    @Test(.enabled(if: chromium != nil, "chromium is not installed (apt-get install -y chromium)"))
    func consoleDetectorSeesErrors() throws {
        let folder = try FixturePaths.temporaryDirectory("leaflens-report-browser-control")
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("bad.html")
        try Data("<!DOCTYPE html><html><body><script>console.error('leaflens-control');</script></body></html>".utf8)
            .write(to: page)
        let result = try Self.loadInChromium(page, folder: folder)
        #expect(result.console.contains { $0.contains("leaflens-control") }, "log: \(result.log.suffix(2000))")
    }
}
