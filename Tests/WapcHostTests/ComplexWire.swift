/// Hand-written protobuf encoding of complex.proto's messages, independent of the guest's, to check
/// the guest's answers.
struct ComplexNumber: Equatable {
    var real: Float
    var imag: Float

    static func * (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber {
        ComplexNumber(real: a.real * b.real - a.imag * b.imag, imag: a.real * b.imag + a.imag * b.real)
    }

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        for (field, value) in [(UInt8(1), real), (2, imag)] where value.bitPattern != 0 {
            bytes.append(field << 3 | 5)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes a `Complex` message body (fields 1 and 2, fixed32).
    init(real: Float, imag: Float) {
        self.real = real
        self.imag = imag
    }

    init?(decoding bytes: ArraySlice<UInt8>) {
        self.init(real: 0, imag: 0)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let key = bytes[index]
            index += 1
            guard key & 7 == 5, index + 4 <= bytes.endIndex else { return nil }
            let bits = bytes[index..<index + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            index += 4
            switch key >> 3 {
            case 1: real = Float(bitPattern: bits)
            case 2: imag = Float(bitPattern: bits)
            default: return nil
            }
        }
    }
}

/// Wraps message bodies as length-delimited fields: `fields(1: a, 2: b)`.
func message(_ fields: [(UInt8, [UInt8])]) -> [UInt8] {
    var bytes: [UInt8] = []
    for (field, body) in fields {
        precondition(body.count < 128, "test messages are small")
        bytes.append(field << 3 | 2)
        bytes.append(UInt8(body.count))
        bytes.append(contentsOf: body)
    }
    return bytes
}

/// Reads a ComplexResponse{Complex result = 1}.
func decodeResponse(_ bytes: [UInt8]) -> ComplexNumber? {
    guard bytes.count >= 2, bytes[0] == 0x0A, Int(bytes[1]) == bytes.count - 2 else { return nil }
    return ComplexNumber(decoding: bytes[2...])
}
