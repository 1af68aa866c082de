/// Encodes a wasm custom section (section id 0): its size, the name's length and bytes, then the
/// content, sizes as unsigned LEB128. Appended to a module's bytes, it becomes one of the module's
/// `customSections` (an embedded descriptor, a nonce that gives a module another id).
public func wasmCustomSection(name: String, content: [UInt8]) -> [UInt8] {
    let body = leb128(name.utf8.count) + Array(name.utf8) + content
    return [0] + leb128(body.count) + body
}

/// `value` as unsigned LEB128, as the wasm binary format writes sizes and indices.
func leb128(_ value: Int) -> [UInt8] {
    var value = value
    var bytes: [UInt8] = []
    repeat {
        let low = UInt8(value & 0x7F)
        value >>= 7
        bytes.append(value == 0 ? low : low | 0x80)
    } while value != 0
    return bytes
}
