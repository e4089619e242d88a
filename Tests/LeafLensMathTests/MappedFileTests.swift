import Foundation
import LeafLensTestSupport
import Testing

@testable import LeafLensMath

#if canImport(Glibc)
import Glibc
#endif

/// A weights file that changes while it is mapped is refused with an error, never a crash.
@Suite struct MappedFileTests {
    /// A small safetensors file with one F32 tensor of `count` values, 0, 1, 2, ….
    private func writeFile(count: Int, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("w.safetensors")
        let values = (0..<count).map(Float.init)
        try SafeTensorsFile.write(["w": try Tensor(shape: [count], storage: values)], to: url)
        return url
    }

    /// Sets the modification time far in the past, so a later write is seen whatever the clock's granularity.
    private func backdate(_ url: URL) throws {
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, url.path, &times, 0) == 0)
    }

    @Test func mappedReadEqualsInMemoryDecode() throws {
        let directory = try FixturePaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(count: 5000, in: directory)
        let mapped = try SafeTensorsFile.read(url).tensor("w", as: Float.self)
        let decoded = try SafeTensorsFile.decode(try Data(contentsOf: url)).tensor("w", as: Float.self)
        #expect(mapped.storage == decoded.storage)
        #expect(mapped.storage[4999] == 4999)
        // Converted on the way out of the mapping too.
        let doubles = try SafeTensorsFile.read(url).tensor("w", as: Double.self)
        #expect(doubles.storage == decoded.storage.map(Double.init))
    }

    @Test func fileTruncatedAfterMappingIsRefused() throws {
        let directory = try FixturePaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(count: 100_000, in: directory)
        let file = try SafeTensorsFile.read(url)
        #expect(truncate(url.path, 4096) == 0)
        let error = #expect(throws: FileFormatError.self) { try file.tensor("w", as: Float.self) }
        #expect(error?.file == url.path)
        #expect(error?.problem.contains("resized from") == true)
        #expect(error?.problem.contains("while being read") == true)
    }

    @Test func fileRewrittenInPlaceAfterMappingIsRefused() throws {
        let directory = try FixturePaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = try writeFile(count: 1000, in: directory)
        try backdate(url)
        let file = try SafeTensorsFile.read(url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 16))
        try handle.close()
        let error = #expect(throws: FileFormatError.self) { try file.tensor("w", as: Float.self) }
        #expect(error?.problem.contains("was modified while being read") == true)
    }

    /// The guard itself: touching a mapped page past the new end of a truncated file raises SIGBUS,
    /// which the guarded copy turns into a failure; the pages still inside the file copy normally.
    @Test func guardedCopySurvivesBusErrorFromTruncatedMapping() throws {
        let directory = try FixturePaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("pages.bin")
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        try Data(repeating: 7, count: 4 * page).write(to: url)
        let fd = open(url.path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        guard let address = mmap(nil, 4 * page, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            Issue.record("mmap failed")
            return
        }
        defer { munmap(address, 4 * page) }
        #expect(truncate(url.path, off_t(page)) == 0)
        var buffer = [UInt8](repeating: 0, count: page)
        let inside = buffer.withUnsafeMutableBytes { MappedFile.guardedCopy($0.baseAddress!, address, page) }
        #expect(inside)
        #expect(buffer.allSatisfy { $0 == 7 })
        let beyond = buffer.withUnsafeMutableBytes {
            MappedFile.guardedCopy($0.baseAddress!, UnsafeRawPointer(address) + 2 * page, page)
        }
        #expect(!beyond)
        // The handler stays usable: a second fault is caught too.
        let again = buffer.withUnsafeMutableBytes {
            MappedFile.guardedCopy($0.baseAddress!, UnsafeRawPointer(address) + 3 * page, page)
        }
        #expect(!again)
    }

    @Test func specialFilesAreRefusedBeforeMapping() throws {
        #expect(throws: FileFormatError.self) { try MappedFile(URL(fileURLWithPath: "/dev/zero")) }
        let directory = try FixturePaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: FileFormatError.self) { try MappedFile(directory) }
        #expect(error?.problem.contains("directory") == true)
        let missing = #expect(throws: FileFormatError.self) {
            try MappedFile(directory.appendingPathComponent("absent.safetensors"))
        }
        #expect(missing?.problem.contains("does not exist") == true)
    }
}
