import Foundation
import Testing

/// `leaflens info`: the runtime facts it prints, and the one process setting a user switches by environment.
@Suite struct InfoCLITests {
    static func line(_ key: String, in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(key + ": ") }.map { String($0.dropFirst(key.count + 2)) }
    }

    /// The huge-page heap is off unless LEAFLENS_HUGE_PAGES=1; asked for, it is the 512 MiB reserve plus
    /// malloc's 64 MiB top pad, rounded in to 2 MiB boundaries, wherever the kernel's THP mode lets a
    /// process ask (`madvise` or `always`).
    @Test func hugePageHeapOnlyWhenAsked() throws {
        let off = try CLI.run(["info"], environment: ["LEAFLENS_HUGE_PAGES": "0"])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(Self.line("huge-page-heap", in: off.stdout) == "off (LEAFLENS_HUGE_PAGES=1 turns it on)")
        let on = try CLI.run(["info"], environment: ["LEAFLENS_HUGE_PAGES": "1"])
        #expect(on.status == 0, "\(on.stderr)")
        let value = try #require(Self.line("huge-page-heap", in: on.stdout))
        let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
        if let mode, mode.contains("[madvise]") || mode.contains("[always]") {
            let mebibytes = try #require(Int(value.split(separator: " ").first ?? ""), "\(value)")
            #expect((256...576).contains(mebibytes) && mebibytes % 2 == 0, "\(value)")
        }
    }

    /// The kernel choice and the L2-derived panel grouping are printed for benchmark headers.
    @Test func printsKernelFacts() throws {
        let result = try CLI.run(["info"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(["leaflens-avx512", "leaflens-avx2", "openblas"].contains(Self.line("conv-kernel", in: result.stdout)))
        let groups = try #require(Self.line("conv-panel-groups", in: result.stdout))
        #expect(groups.hasPrefix("above ") && groups.hasSuffix(" KiB of packed weights per call"), "\(groups)")
        let kibibytes = Int(groups.split(separator: " ").dropFirst().first ?? "")
        #expect(kibibytes.map { $0 > 0 } == true, "a threshold of 0 would group every call: \(groups)")
    }
}
