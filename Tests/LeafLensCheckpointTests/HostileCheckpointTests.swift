import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensCheckpoint

/// Hostile and damaged checkpoints (Fixtures/checkpoints/hostile): each refused with its typed error,
/// nothing executed, no trap, bounded memory (limits checked before anything is allocated for a claim).
@Suite struct HostileCheckpointTests {
    /// Small limits so the honest zip bomb (64 MiB of zeros) is refused by size, not read.
    static let limits = CheckpointLimits(maxEntryBytes: 1 << 20, maxTotalBytes: 4 << 20, maxPickleBytes: 1 << 20)

    @Test func everyHostileCaseIsListed() {
        #expect(CheckpointFixtures.hostile.count >= 18)
    }

    @Test(arguments: CheckpointFixtures.hostile)
    func refusedWithItsKind(_ c: CheckpointFixtures.Hostile) throws {
        let url = CheckpointFixtures.url("hostile/\(c.file)")
        let error = #expect(throws: CheckpointError.self) {
            _ = try CheckpointImporter.load(contentsOf: url, options: .init(limits: Self.limits))
        }
        #expect(error?.kind.rawValue == c.kind, "\(c.name): \(error?.description ?? "no error")")
        #expect(error?.file == url.path)
        if let marker = CheckpointFixtures.manifest?.hostile_marker {
            #expect(!FileManager.default.fileExists(atPath: marker), "a hostile file ran code")
        }
    }

    @Test func osSystemNamesTheGlobal() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try TorchCheckpoint.read(CheckpointFixtures.url("hostile/os_system.pth"))
        }
        #expect(error?.problem.contains("GLOBAL os.system") == true)
        let call = #expect(throws: CheckpointError.self) {
            _ = try TorchCheckpoint.read(CheckpointFixtures.url("hostile/reduce_call.pth"))
        }
        #expect(call?.problem.contains("torch.hub.load") == true)
    }

    @Test func legacyFormatGivesTheResaveCommand() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try TorchCheckpoint.read(CheckpointFixtures.url("hostile/legacy.pth"))
        }
        #expect(error?.problem.contains("torch.save(torch.load(") == true)
    }

    /// The honest zip bomb under default limits: read (64 MiB, within limits) and then refused as no
    /// state_dict; the lying one is refused while inflating, whatever the limits.
    @Test func lyingZipBombIsCaughtWhileInflating() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try TorchCheckpoint.read(CheckpointFixtures.url("hostile/zip_bomb_lying.pth"))
        }
        #expect(error?.kind == .sizeLimit)
        #expect(error?.problem.contains("inflates beyond") == true)
    }

    /// Every prefix of a real checkpoint is refused cleanly (truncation at any byte).
    /// FuzzCheckpoint's first finding (Fuzz/Corpus/FuzzCheckpoint/zip64_locator_elsewhere.pth): a ZIP64
    /// locator pointing at a record that is not right before it. The preflight checked the directory
    /// that record describes, ZIPFoundation walked the plain EOCD's (with a garbage entry) and trapped
    /// ("Range requires lowerBound <= upperBound" in its MemoryFile). Now refused by the preflight.
    @Test func zip64LocatorPointingElsewhereIsRefused() throws {
        let url = CheckpointFixtures.url("hostile/zip64_locator_elsewhere.pth")
        let error = #expect(throws: CheckpointError.self) { _ = try CheckpointImporter.load(contentsOf: url) }
        #expect(error?.kind == .malformedArchive, "\(error?.description ?? "no error")")
        #expect(error?.problem.contains("ZIP64") == true)
    }

    /// Found by the fourth FuzzCheckpoint run (197,231 executions in; `Fuzz/Corpus/FuzzCheckpoint/` keeps
    /// it): a ZIP64 record right before its locator whose "version needed" is 13, not 45. ZIPFoundation
    /// ignores such a record and walks the plain EOCD's directory (its offset, 3,256, past the 1,853-byte
    /// file), trapping in its MemoryFile; the preflight had used the record. Now refused.
    @Test func zip64RecordZIPFoundationIgnoresIsRefused() throws {
        let url = CheckpointFixtures.url("hostile/zip64_record_old_version.pth")
        let error = #expect(throws: CheckpointError.self) { _ = try CheckpointImporter.load(contentsOf: url) }
        #expect(error?.kind == .malformedArchive, "\(error?.description ?? "no error")")
        #expect(error?.problem.contains("version 13") == true, "\(error?.problem ?? "")")
    }

    /// An end-of-directory signature inside the archive comment: ZIPFoundation takes the signature
    /// nearest the end, so the preflight must check that one (here it is refused: its comment length
    /// does not reach the end of the file), not the real record further back.
    @Test func endOfDirectorySignatureInTheCommentIsRefused() throws {
        var data = try Data(contentsOf: CheckpointFixtures.url("plain.pth"))
        let comment = Data([0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0x7F, count: 18) + Array("tail".utf8))
        data[data.count - 2] = UInt8(comment.count & 0xFF)
        data[data.count - 1] = UInt8(comment.count >> 8)
        data.append(comment)
        let error = #expect(throws: CheckpointError.self) {
            _ = try CheckpointImporter.load(data, source: "comment.pth")
        }
        #expect(error?.kind == .malformedArchive, "\(error?.description ?? "no error")")
        // The same archive with an ordinary comment loads.
        var plain = try Data(contentsOf: CheckpointFixtures.url("plain.pth"))
        let text = Data("saved by a notebook".utf8)
        plain[plain.count - 2] = UInt8(text.count)
        plain.append(text)
        _ = try CheckpointImporter.load(plain, source: "commented.pth")
    }

    @Test func everyTruncationIsRefused() throws {
        let data = try Data(contentsOf: CheckpointFixtures.url("plain.pth"))
        for length in Swift.stride(from: 0, to: data.count, by: max(1, data.count / 97)) {
            #expect(throws: CheckpointError.self) {
                _ = try CheckpointImporter.load(data.prefix(length), source: "cut")
            }
        }
    }

    /// Flipping bytes anywhere gives an error or a load, never a trap (a tiny deterministic fuzz).
    @Test func corruptedBytesNeverTrap() throws {
        let data = try Data(contentsOf: CheckpointFixtures.url("plain.pth"))
        var state: UInt64 = 12345
        for _ in 0..<300 {
            var copy = [UInt8](data)
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                copy[Int(state >> 33) % copy.count] = UInt8(truncatingIfNeeded: state >> 13)
            }
            fuzzCheckpoint(Data(copy))
        }
    }
}
