import WapcGuest

struct Complex {
    var real: Float = 0
    var imag: Float = 0

    static func * (a: Complex, b: Complex) -> Complex {
        Complex(real: a.real * b.real - a.imag * b.imag, imag: a.real * b.imag + a.imag * b.real)
    }

    init(real: Float = 0, imag: Float = 0) {
        self.real = real
        self.imag = imag
    }

    init(_ reader: WireReader) throws(GuestError) {
        var reader = reader
        while !reader.isAtEnd {
            let key = try reader.varint()
            switch (key >> 3, key & 7) {
            case (1, 5): real = Float(bitPattern: try reader.fixed32())
            case (2, 5): imag = Float(bitPattern: try reader.fixed32())
            default: try reader.skip(wireType: key & 7)
            }
        }
    }

    var encoded: [UInt8] {
        var writer = WireWriter()
        writer.float(field: 1, real)
        writer.float(field: 2, imag)
        return writer.bytes
    }
}

/// `complex.Calculator/mul`: ComplexRequest{a, b} → ComplexResponse{result = a × b}.
func mul(_ payload: [UInt8]) throws(GuestError) -> [UInt8] {
    var reader = WireReader(payload)
    var a = Complex(), b = Complex()
    while !reader.isAtEnd {
        let key = try reader.varint()
        switch (key >> 3, key & 7) {
        case (1, 2): a = try Complex(reader.submessage())
        case (2, 2): b = try Complex(reader.submessage())
        default: try reader.skip(wireType: key & 7)
        }
    }
    let (encodedA, encodedB, encodedResult) = (a.encoded, b.encoded, (a * b).encoded)
    var response = WireWriter()
    response.message(field: 1, encodedResult)

    // Like the original guest, tell the host what was computed (a ComplexLog message). Logging is
    // best effort: a host without that capability must not make the multiplication fail.
    var log = WireWriter()
    log.message(field: 1, encodedA)
    log.message(field: 2, encodedB)
    log.message(field: 3, encodedResult)
    do throws(GuestError) {
        _ = try hostCall(binding: "b", namespace: "complex::any", operation: "mul", payload: log.bytes)
    } catch {
        consoleLog("host did not log the multiplication: " + error.message)
    }
    return response.bytes
}

@_expose(wasm, "wapc_init")
@_cdecl("wapc_init")
func wapcInit() {
    register("mul", mul)
}
