// Just enough of the protobuf wire format for guests (Embedded Swift cannot use swift-protobuf):
// varints, length-delimited fields (bytes, strings, submessages) and fixed32 floats; a reader
// skips unknown fields.

public struct WireReader {
    private let buffer: [UInt8]
    private var index: Int
    private let end: Int

    public init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.buffer = bytes
        self.index = start
        self.end = end ?? bytes.count
    }

    public var isAtEnd: Bool { index >= end }

    /// The next field's number and wire type.
    public mutating func key() throws(GuestError) -> (field: UInt64, wireType: UInt64) {
        let key = try varint()
        return (key >> 3, key & 7)
    }

    public mutating func varint() throws(GuestError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard index < end else { throw GuestError("truncated varint") }
            let byte = buffer[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw GuestError("varint too long")
    }

    public mutating func fixed32() throws(GuestError) -> UInt32 {
        guard end - index >= 4 else { throw GuestError("truncated fixed32") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(buffer[index + offset]) << (8 * UInt32(offset)) }
        index += 4
        return value
    }

    /// The bytes of the next length-delimited field.
    public mutating func bytes() throws(GuestError) -> [UInt8] {
        let field = try submessage()
        return Array(field.buffer[field.index..<field.end])
    }

    /// The next length-delimited field as UTF-8 text.
    public mutating func string() throws(GuestError) -> String {
        String(decoding: try bytes(), as: UTF8.self)
    }

    /// Returns a reader over the next length-delimited field and skips past it.
    public mutating func submessage() throws(GuestError) -> WireReader {
        let length = try varint()
        guard length <= UInt64(end - index) else { throw GuestError("length past the end") }
        let reader = WireReader(buffer, from: index, to: index + Int(length))
        index += Int(length)
        return reader
    }

    public mutating func skip(wireType: UInt64) throws(GuestError) {
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

public struct WireWriter {
    public var bytes: [UInt8] = []

    /// Reserving up front matters: growing an array byte by byte reallocates several times.
    public init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// proto3 implicit presence: a zero float (+0.0) is not written.
    public mutating func float(field: UInt64, _ value: Float) {
        let bits = value.bitPattern
        guard bits != 0 else { return }
        varint(field << 3 | 5)
        bytes.append(UInt8(truncatingIfNeeded: bits))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
    }

    /// A submessage (written even when empty: its presence is the point).
    public mutating func message(field: UInt64, _ body: [UInt8]) {
        varint(field << 3 | 2)
        varint(UInt64(body.count))
        bytes.append(contentsOf: body)
    }

    /// A bytes field; proto3 implicit presence: empty bytes are not written.
    public mutating func bytes(field: UInt64, _ value: [UInt8]) {
        guard !value.isEmpty else { return }
        message(field: field, value)
    }

    /// A string field; an empty string is not written.
    public mutating func string(field: UInt64, _ value: String) {
        bytes(field: field, Array(value.utf8))
    }

    /// A varint field (uint32, uint64, int64, bool); zero is not written.
    public mutating func varint(field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        varint(field << 3)
        varint(value)
    }
}
