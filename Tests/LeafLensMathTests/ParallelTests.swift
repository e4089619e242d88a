import Dispatch
import LeafLensMath
import Testing

/// LeafLens's fork–join pool (`parallel.c`): every index runs exactly once, in every way a loop can be
/// entered — back to back, nested, and from several threads at once.
@Suite struct ParallelTests {
    /// Counts how often each index ran; each index writes only its own slot.
    final class Tally: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Int>
        let size: Int
        init(_ size: Int) {
            self.size = size
            counts = .allocate(capacity: size)
            counts.initialize(repeating: 0, count: size)
        }
        deinit { counts.deallocate() }
        var exactlyOnce: Bool { (0..<size).allSatisfy { counts[$0] == 1 } }
    }

    @Test(arguments: [2, 3, 17, 1000]) func everyIndexOnce(_ count: Int) {
        let tally = Tally(count)
        Parallel.forEach(count) { i in tally.counts[i] += 1 }
        #expect(tally.exactlyOnce)
    }

    /// Thousands of short regions back to back: the hand-over between regions must never lose or repeat
    /// an index (a worker late for one region must not run tasks of the next).
    @Test func manyShortRegions() {
        for round in 0..<5000 {
            let count = 2 + round % 7
            let tally = Tally(count)
            Parallel.forEach(count) { i in tally.counts[i] += 1 }
            if !tally.exactlyOnce {
                Issue.record("round \(round): counts \((0..<count).map { tally.counts[$0] })")
                return
            }
        }
    }

    /// A loop started inside a task runs inline, and completely.
    @Test func nestedLoopsRunInline() {
        let tally = Tally(8 * 9)
        Parallel.forEach(8) { outer in
            Parallel.forEach(9) { inner in tally.counts[outer * 9 + inner] += 1 }
        }
        #expect(tally.exactlyOnce)
    }

    /// Loops started from several threads at once: one gets the pool, the others run inline.
    @Test func concurrentCallers() {
        let tallies = (0..<4).map { _ in Tally(500) }
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for _ in 0..<20 {
                let local = Tally(500)
                Parallel.forEach(500) { i in local.counts[i] += 1 }
                if local.exactlyOnce { tallies[t].counts[0] += 1 }
            }
        }
        #expect(tallies.allSatisfy { $0.counts[0] == 20 })
    }
}
