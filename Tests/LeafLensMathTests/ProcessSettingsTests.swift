import Foundation
import LeafLensMath
import Testing

/// The load-time allocator settings (`allocator.c`) as the tests' own process has them.
@Suite struct ProcessSettingsTests {
    /// The kernel's THP mode, e.g. "madvise" (the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled).
    static var transparentHugePageMode: String? {
        guard let text = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
            let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close
        else { return nil }
        return String(text[text.index(after: open)..<close])
    }

    /// Asked for (`LEAFLENS_HUGE_PAGES=1`), with the tuning on and a kernel that honours MADV_HUGEPAGE, a
    /// 2 MiB-aligned part of the heap is marked, and the kernel lists a mapping with the `hg` flag; not
    /// asked for (the default), nothing is marked. (`InfoCLITests` runs the CLI both ways.)
    @Test func heapIsMarkedForHugePagesOnlyWhenAsked() throws {
        let bytes = ProcessSettings.hugePageHeapBytes
        let mode = Self.transparentHugePageMode
        let asked = ["1", "on"].contains(ProcessInfo.processInfo.environment["LEAFLENS_HUGE_PAGES"] ?? "")
        guard asked, ProcessSettings.allocatorTuned, mode == "madvise" || mode == "always" else {
            #expect(bytes == 0 || asked)
            return
        }
        #expect(bytes >= 256 << 20, "the reserve is 512 MiB, rounded in to 2 MiB boundaries")
        #expect(bytes % (2 << 20) == 0)
        // /proc files report size 0: read to the end rather than by the reported size.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        try handle.close()
        let flagged = smaps.split(separator: "\n").contains { line in
            line.hasPrefix("VmFlags:") && line.split(separator: " ").contains("hg")
        }
        #expect(flagged, "no mapping carries MADV_HUGEPAGE's hg flag")
        #expect(ProcessSettings.summary[0].contains("MiB of heap for huge pages"))
    }
}
