/// Protobuf wire types.
enum WireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// Reads protobuf wire data from a buffer; every read is bounds-checked and throws on short input.
struct WireReader {
    let buffer: UnsafeRawBufferPointer
    var index: Int
    let end: Int

    var isAtEnd: Bool { index >= end }

    mutating func varint() throws(DynamicProtoError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw DynamicProtoError(.truncated, "the input ends inside a varint") }
            let byte = buffer[index]
            index += 1
            if shift == 63, byte > 1 { throw DynamicProtoError(.malformed, "a varint is longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws(DynamicProtoError) -> UInt32 {
        guard end - index >= 4 else { throw DynamicProtoError(.truncated, "the input ends inside a fixed32 value") }
        defer { index += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self))
    }

    mutating func fixed64() throws(DynamicProtoError) -> UInt64 {
        guard end - index >= 8 else { throw DynamicProtoError(.truncated, "the input ends inside a fixed64 value") }
        defer { index += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    /// The range of a length-delimited field's content, skipped past.
    mutating func lengthDelimited() throws(DynamicProtoError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - index) else {
            throw DynamicProtoError(.truncated, "a length-delimited field of \(length) bytes runs past the end of its message")
        }
        let range = index..<(index + Int(length))
        index = range.upperBound
        return range
    }

    mutating func bytes(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
    }

    mutating func tag() throws(DynamicProtoError) -> (number: Int32, wireType: WireType) {
        let key = try varint()
        guard key >> 3 > 0, key >> 3 <= 536_870_911 else { throw DynamicProtoError(.malformed, "a tag has the invalid field number \(key >> 3)") }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw DynamicProtoError(.malformed, "field \(key >> 3) has the invalid wire type \(key & 7)")
        }
        return (Int32(key >> 3), wireType)
    }

    /// Skips one field's value (its tag already read), including a whole group.
    mutating func skip(_ wireType: WireType, number: Int32, depth: Int) throws(DynamicProtoError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup:
            guard depth > 0 else { throw DynamicProtoError(.tooDeep, "groups nest deeper than the decoding limit") }
            while true {
                guard !isAtEnd else { throw DynamicProtoError(.truncated, "group \(number) has no end") }
                let (inner, innerType) = try tag()
                if innerType == .endGroup {
                    guard inner == number else { throw DynamicProtoError(.malformed, "group \(number) ends with end-group \(inner)") }
                    return
                }
                try skip(innerType, number: inner, depth: depth - 1)
            }
        case .endGroup: throw DynamicProtoError(.malformed, "an end-group tag \(number) without its start")
        }
    }
}

/// Appends protobuf wire data to a byte array.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ number: Int32, _ wireType: WireType) {
        varint(UInt64(UInt32(number)) << 3 | UInt64(wireType.rawValue))
    }

    mutating func fixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func lengthDelimited(_ content: [UInt8]) {
        varint(UInt64(content.count))
        bytes.append(contentsOf: content)
    }

    /// Writes what `body` writes, prefixed with its length, without a temporary buffer: the
    /// length varint is inserted in front afterwards (one short move for small contents).
    mutating func lengthDelimited(_ body: (inout WireWriter) -> Void) {
        let start = bytes.count
        body(&self)
        let length = bytes.count - start
        if length < 0x80 {
            bytes.insert(UInt8(length), at: start)
        } else {
            var prefix = WireWriter()
            prefix.varint(UInt64(length))
            bytes.insert(contentsOf: prefix.bytes, at: start)
        }
    }
}

extension Int32 {
    var zigZag: UInt64 { UInt64(UInt32(bitPattern: (self << 1) ^ (self >> 31))) }
}

extension Int64 {
    var zigZag: UInt64 { UInt64(bitPattern: (self << 1) ^ (self >> 63)) }
}

extension UInt64 {
    var unZigZag32: Int32 {
        let value = UInt32(truncatingIfNeeded: self)
        return Int32(bitPattern: value >> 1) ^ -Int32(bitPattern: value & 1)
    }

    var unZigZag64: Int64 { Int64(bitPattern: self >> 1) ^ -Int64(bitPattern: self & 1) }
}
