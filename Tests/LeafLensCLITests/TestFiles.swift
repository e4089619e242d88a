import Foundation

/// Files the CLI tests feed to `leaflens`, built byte by byte so each test states exactly what it sends.
enum TestFiles {
    // MARK: PNG

    /// An 8-bit RGB PNG with a deterministic pattern; IDAT holds zlib "stored" (uncompressed) blocks,
    /// which every decoder must accept.
    static func png(width: Int, height: Int) -> Data {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (1 + width * 3))
        for y in 0..<height {
            raw.append(0)  // filter type None
            for x in 0..<width {
                raw.append(UInt8((x * 255) / max(width - 1, 1)))
                raw.append(UInt8((y * 255) / max(height - 1, 1)))
                raw.append(UInt8(((x * 7 + y * 13) % 64) * 4))
            }
        }
        return pngSignature + chunk("IHDR", ihdr(width: width, height: height)) + chunk("IDAT", zlibStored(raw))
            + chunk("IEND", [])
    }

    /// A PNG whose header claims `width`×`height` (correct CRC) followed by a tiny IDAT: a
    /// decompression bomb must be refused from the header, before any allocation.
    static func pngHeaderOnly(width: Int, height: Int) -> Data {
        pngSignature + chunk("IHDR", ihdr(width: width, height: height)) + chunk("IDAT", zlibStored([0, 0, 0, 0]))
            + chunk("IEND", [])
    }

    static let pngSignature = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

    static func ihdr(width: Int, height: Int) -> [UInt8] {
        bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0]  // 8-bit, RGB, no interlace
    }

    static func chunk(_ type: String, _ payload: [UInt8]) -> Data {
        let typed = Array(type.utf8) + payload
        return Data(bigEndian(UInt32(payload.count)) + typed + bigEndian(crc32(typed)))
    }

    /// zlib stream of stored deflate blocks (≤ 65535 bytes each) with its Adler-32.
    static func zlibStored(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, bytes.count - offset)
            let final: UInt8 = offset + length == bytes.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += bytes[offset..<offset + length]
            offset += length
        } while offset < bytes.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// Width and height from a PNG's IHDR.
    static func pngSize(_ data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, Data(bytes.prefix(8)) == pngSignature, Array(bytes[12..<16]) == Array("IHDR".utf8)
        else { return nil }
        func word(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (word(16), word(20))
    }

    // MARK: safetensors

    /// A well-formed safetensors file whose tensors have the wrong shapes for a ResNet18:
    /// `conv1.weight` [4, 3, 7, 7] (base width 4) but `fc.weight` [2, 31] instead of [2, 32].
    static func safetensorsWithWrongShapes() -> Data {
        let entries: [(String, [Int])] = [("conv1.weight", [4, 3, 7, 7]), ("fc.weight", [2, 31])]
        var header = "{"
        var offset = 0
        for (index, (name, shape)) in entries.enumerated() {
            let bytes = shape.reduce(1, *) * 4
            header += index == 0 ? "" : ","
            header += "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
            header += "\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: offset))
        return data
    }

    // MARK: npy

    /// A little-endian float32 `.npy` (format 1.0).
    static func npy(shape: [Int], values: [Float]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        data.append(contentsOf: [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        for value in values {
            var bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Shape and float32 values of an `.npy` written by LeafLens (format 1.0, '<f4', C order).
    static func readNPY(_ data: Data) -> (descr: String, shape: [Int], values: [Float])? {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, bytes[6] == 1 else { return nil }
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + headerLength else { return nil }
        let header = String(decoding: bytes[10..<10 + headerLength], as: UTF8.self)
        guard let descrStart = header.range(of: "'descr': '"),
            let descrEnd = header[descrStart.upperBound...].firstIndex(of: "'"),
            let shapeStart = header.range(of: "'shape': ("),
            let shapeEnd = header[shapeStart.upperBound...].firstIndex(of: ")")
        else { return nil }
        let shape = header[shapeStart.upperBound..<shapeEnd].split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = Array(bytes[(10 + headerLength)...])
        var values: [Float] = []
        values.reserveCapacity(body.count / 4)
        var i = 0
        while i + 4 <= body.count {
            let bits =
                UInt32(body[i]) | UInt32(body[i + 1]) << 8 | UInt32(body[i + 2]) << 16 | UInt32(body[i + 3]) << 24
            values.append(Float(bitPattern: bits))
            i += 4
        }
        return (String(header[descrStart.upperBound..<descrEnd]), shape, values)
    }
}
