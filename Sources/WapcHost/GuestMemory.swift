import WasmKit

/// Bounds-checked access to a guest's linear memory.
///
/// WasmKit's `withUnsafe*BufferPointer` stops the process with a precondition on an out-of-bounds
/// range, so every guest-supplied pointer and length is checked here first, in 64-bit arithmetic
/// (`ptr + len` cannot wrap), and a bad one becomes `WapcError.guestFault`.
struct GuestMemory {
    let memory: Memory

    func check(_ pointer: UInt32, _ count: UInt64, _ what: StaticString) throws(WapcError) {
        let size = UInt64(memory.byteCount)
        guard UInt64(pointer) + count <= size else {
            throw .guestFault("\(what): range \(pointer)..<\(UInt64(pointer) + count) is outside guest memory of \(size) bytes")
        }
    }

    func read(_ pointer: UInt32, _ count: UInt32, _ what: StaticString) throws(WapcError) -> [UInt8] {
        try check(pointer, UInt64(count), what)
        guard count > 0 else { return [] }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: Int(count)) { Array($0) }
    }

    /// The bytes at `pointer` as UTF-8 text (ill-formed sequences repaired).
    func text(_ pointer: UInt32, _ count: UInt32, _ what: StaticString) throws(WapcError) -> String {
        try check(pointer, UInt64(count), what)
        guard count > 0 else { return "" }
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: Int(count)) { String(decoding: $0, as: UTF8.self) }
    }

    func write(_ bytes: some Collection<UInt8>, at pointer: UInt32, _ what: StaticString) throws(WapcError) {
        try check(pointer, UInt64(bytes.count), what)
        guard !bytes.isEmpty else { return }
        memory.withUnsafeMutableBufferPointer(offset: UInt(pointer), count: bytes.count) { buffer in
            buffer.copyBytes(from: bytes)
        }
    }

    func readUInt32(_ pointer: UInt32, _ what: StaticString) throws(WapcError) -> UInt32 {
        try check(pointer, 4, what)
        return memory.withUnsafeBufferPointer(offset: UInt(pointer), count: 4) { $0.loadUnaligned(as: UInt32.self) }
            .littleEndian
    }

    func writeUInt32(_ value: UInt32, at pointer: UInt32, _ what: StaticString) throws(WapcError) {
        try write(withUnsafeBytes(of: value.littleEndian, Array.init), at: pointer, what)
    }

    func writeUInt64(_ value: UInt64, at pointer: UInt32, _ what: StaticString) throws(WapcError) {
        try write(withUnsafeBytes(of: value.littleEndian, Array.init), at: pointer, what)
    }
}
