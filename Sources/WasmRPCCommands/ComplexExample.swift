/// The complex example's messages (Guests/complex/complex.proto), encoded by hand until the
/// generic DynamicProto codec exists.
struct ComplexNumber: Equatable, CustomStringConvertible {
    var real: Float
    var imag: Float

    static func * (a: ComplexNumber, b: ComplexNumber) -> ComplexNumber {
        ComplexNumber(real: a.real * b.real - a.imag * b.imag, imag: a.real * b.imag + a.imag * b.real)
    }

    var description: String { "\(real) \(imag.sign == .minus ? "-" : "+") \(abs(imag))i" }

    /// `Complex{float real = 1; float imag = 2}`, proto3: zero fields are omitted.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        for (field, value) in [(UInt8(1), real), (2, imag)] where value.bitPattern != 0 {
            bytes.append(field << 3 | 5)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// `ComplexRequest{Complex a = 1; Complex b = 2}`.
    static func request(_ a: ComplexNumber, _ b: ComplexNumber) -> [UInt8] {
        var bytes: [UInt8] = []
        for (field, value) in [(UInt8(1), a), (2, b)] {
            bytes += [field << 3 | 2, UInt8(value.encoded.count)] + value.encoded
        }
        return bytes
    }

    /// Reads `ComplexResponse{Complex result = 1}` as the complex guest writes it.
    init?(response bytes: [UInt8]) {
        guard bytes.count >= 2, bytes[0] == 0x0A, Int(bytes[1]) == bytes.count - 2 else { return nil }
        self.init(real: 0, imag: 0)
        var index = 2
        while index < bytes.count {
            guard bytes[index] & 7 == 5, index + 5 <= bytes.count else { return nil }
            let bits = bytes[index + 1..<index + 5].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            switch bytes[index] >> 3 {
            case 1: real = Float(bitPattern: bits)
            case 2: imag = Float(bitPattern: bits)
            default: return nil
            }
            index += 5
        }
    }

    init(real: Float, imag: Float) {
        self.real = real
        self.imag = imag
    }
}

/// SplitMix64: a small seedable generator, so `--seed N` reproduces a demo run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
