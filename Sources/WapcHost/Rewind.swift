@_spi(Fuzzing) import WasmKit
import WasmParser

/// What lets an instance go back to the state it had right after its initializers ran (its
/// "rewind"): a copy of its linear memory then, and the values of its mutable globals then. A
/// module's own globals are not reachable from outside unless exported, so the host exports
/// every mutable global the module defines under a name of its own (`exportingMutableGlobals`)
/// before instantiating it. An instance whose memory grew since cannot be rewound (memory does not
/// shrink, and the guest can see its size): a new instance takes its place.
///
/// Tables are not part of it: a guest that changes its tables at run time (`table.set`,
/// `table.grow`; ordinary Swift, Rust and C code does not) keeps those changes across a rewind.
enum Rewind {
    /// Exported names of the module's mutable globals start with this.
    static let globalPrefix = "wasmrpc:global:"

    /// `bytes` with every mutable global the module defines exported as
    /// `wasmrpc:global:<index>`, and those names. Bytes that do not parse, or define no mutable
    /// global, come back as they are (loading reports what is wrong with them).
    static func exportingMutableGlobals(_ bytes: [UInt8]) -> (bytes: [UInt8], names: [String]) {
        var importedGlobals = 0
        var mutable: [Int] = []
        var parser = Parser(bytes: bytes)
        do {
            while let payload = try parser.parseNext() {
                switch payload {
                case .importSection(let imports):
                    importedGlobals = imports.filter { if case .global = $0.descriptor { true } else { false } }.count
                case .globalSection(let globals):
                    mutable = globals.indices.filter { globals[$0].type.mutability == .variable }.map { importedGlobals + $0 }
                default: break
                }
            }
        } catch {
            return (bytes, [])
        }
        guard !mutable.isEmpty, let (header, start, end) = section(7, in: bytes) else { return (bytes, []) }
        var payload = Array(bytes[start..<end])
        var countLength = 0
        guard let count = readLEB128(payload, at: 0, length: &countLength) else { return (bytes, []) }
        let names = mutable.map { globalPrefix + String($0) }
        var extended = leb128(count + names.count) + payload[countLength...]
        for (name, index) in zip(names, mutable) {
            extended += leb128(name.utf8.count) + Array(name.utf8) + [0x03] + leb128(index)
        }
        payload = extended
        return (Array(bytes[..<header]) + [7] + leb128(payload.count) + payload + bytes[end...], names)
    }

    /// Where the first section with `id` starts, and its payload's range.
    private static func section(_ id: UInt8, in bytes: [UInt8]) -> (header: Int, start: Int, end: Int)? {
        var offset = 8
        while offset < bytes.count {
            let sectionID = bytes[offset]
            var length = 0
            guard let size = readLEB128(bytes, at: offset + 1, length: &length) else { return nil }
            let start = offset + 1 + length
            guard start + size <= bytes.count else { return nil }
            if sectionID == id { return (offset, start, start + size) }
            offset = start + size
        }
        return nil
    }

    private static func readLEB128(_ bytes: [UInt8], at offset: Int, length: inout Int) -> Int? {
        var result = 0
        var shift = 0
        var index = offset
        while index < bytes.count, shift < 35 {
            let byte = bytes[index]
            result |= Int(byte & 0x7F) << shift
            index += 1
            if byte & 0x80 == 0 {
                length = index - offset
                return result
            }
            shift += 7
        }
        return nil
    }

    /// An instance's state right after initialization.
    struct Snapshot {
        let memory: [UInt8]
        let globals: [(WasmKit.Global, WasmKit.Value)]
    }
}
