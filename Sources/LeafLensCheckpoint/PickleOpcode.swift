/// The pickle opcodes `RestrictedUnpickler` understands (protocols 2–5), by byte value.
///
/// Protocol 0/1 text opcodes (INT, STRING, GET, PUT, …), INST/OBJ (which call classes), EXT1/2/4 (the
/// extension registry) and PERSID (text persistent ids) are deliberately absent: torch's `weights_only`
/// loader does not accept them either, and `torch.save` never writes them.
enum PickleOpcode: UInt8 {
    case mark = 0x28  // (
    case stop = 0x2E  // .
    case pop = 0x30  // 0
    case popMark = 0x31  // 1
    case dup = 0x32  // 2
    case binFloat = 0x47  // G
    case binInt = 0x4A  // J
    case binInt1 = 0x4B  // K
    case binInt2 = 0x4D  // M
    case none = 0x4E  // N
    case binPersID = 0x51  // Q
    case reduce = 0x52  // R
    case binString = 0x54  // T
    case shortBinString = 0x55  // U
    case binUnicode = 0x58  // X
    case emptyList = 0x5D  // ]
    case append = 0x61  // a
    case build = 0x62  // b
    case global = 0x63  // c
    case dict = 0x64  // d
    case appends = 0x65  // e
    case binGet = 0x68  // h
    case longBinGet = 0x6A  // j
    case list = 0x6C  // l
    case binPut = 0x71  // q
    case longBinPut = 0x72  // r
    case setItem = 0x73  // s
    case tuple = 0x74  // t
    case setItems = 0x75  // u
    case emptyDict = 0x7D  // }
    case emptyTuple = 0x29  // )
    // Protocol 2
    case proto = 0x80
    case newObj = 0x81
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case newTrue = 0x88
    case newFalse = 0x89
    case long1 = 0x8A
    case long4 = 0x8B
    // Protocol 3
    case binBytes = 0x42  // B
    case shortBinBytes = 0x43  // C
    // Protocol 4
    case shortBinUnicode = 0x8C
    case binUnicode8 = 0x8D
    case binBytes8 = 0x8E
    case emptySet = 0x8F
    case addItems = 0x90
    case frozenSet = 0x91
    case newObjEx = 0x92
    case stackGlobal = 0x93
    case memoize = 0x94
    case frame = 0x95
    // Protocol 5
    case byteArray8 = 0x96
    case nextBuffer = 0x97
    case readOnlyBuffer = 0x98

    /// Names of opcodes that are refused, for the error message.
    static func refusedName(_ byte: UInt8) -> String {
        switch byte {
        case 0x69: "INST"
        case 0x6F: "OBJ"
        case 0x82: "EXT1"
        case 0x83: "EXT2"
        case 0x84: "EXT4"
        case 0x50: "PERSID"
        case 0x49: "INT"
        case 0x4C: "LONG"
        case 0x53: "STRING"
        case 0x56: "UNICODE"
        case 0x46: "FLOAT"
        case 0x67: "GET"
        case 0x70: "PUT"
        default: "0x" + String(byte, radix: 16, uppercase: true)
        }
    }
}
