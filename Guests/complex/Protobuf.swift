import WapcGuest

// Just enough of the protobuf wire format for `complex.proto` (Embedded Swift cannot use
// swift-protobuf): varints, length-delimited submessages and fixed32 floats; unknown fields are skipped.

struct WireReader {
    private let bytes: [UInt8]
    private var index: Int
    private let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.index = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { index >= end }

    mutating func varint() throws(GuestError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard index < end else { throw GuestError("truncated varint") }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw GuestError("varint too long")
    }

    mutating func fixed32() throws(GuestError) -> UInt32 {
        guard end - index >= 4 else { throw GuestError("truncated fixed32") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(bytes[index + offset]) << (8 * UInt32(offset)) }
        index += 4
        return value
    }

    /// Returns a reader over the next length-delimited field and skips past it.
    mutating func submessage() throws(GuestError) -> WireReader {
        let length = try varint()
        guard length <= UInt64(end - index) else { throw GuestError("length past the end") }
        let reader = WireReader(bytes, from: index, to: index + Int(length))
        index += Int(length)
        return reader
    }

    mutating func skip(wireType: UInt64) throws(GuestError) {
        switch wireType {
        case 0: _ = try varint()
        case 1:
            guard end - index >= 8 else { throw GuestError("truncated fixed64") }
            index += 8
        case 2: _ = try submessage()
        case 5: _ = try fixed32()
        default: throw GuestError("unsupported wire type")
        }
    }
}

struct WireWriter {
    var bytes: [UInt8] = []

    /// Reserving up front matters: growing an array byte by byte reallocates several times.
    init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// proto3 implicit presence: a zero float (+0.0) is not written.
    mutating func float(field: UInt64, _ value: Float) {
        let bits = value.bitPattern
        guard bits != 0 else { return }
        varint(field << 3 | 5)
        bytes.append(UInt8(truncatingIfNeeded: bits))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
    }

    mutating func message(field: UInt64, _ body: [UInt8]) {
        varint(field << 3 | 2)
        varint(UInt64(body.count))
        bytes.append(contentsOf: body)
    }
}
