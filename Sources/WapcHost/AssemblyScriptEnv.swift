import WasmKit

/// The imports AssemblyScript's runtime adds to a module (module `env`) unless the guest is built
/// with `--use abort=…`: `abort` ends the call with the guest's message, and `seed` feeds
/// `Math.random`.
enum AssemblyScriptEnv {
    static let functions: [HostFunction] = [
        // abort(message: string | null, fileName: string | null, line: u32, column: u32)
        HostFunction("env", "abort", [.i32, .i32, .i32, .i32], []) { state, caller, arguments, _ throws(WapcError) in
            let memory = try state.guestMemory(caller)
            let message = try string(memory, arguments.u32(0)) ?? "abort"
            let file = try string(memory, arguments.u32(1)).map { " at \($0):\(arguments.u32(2)):\(arguments.u32(3))" } ?? ""
            throw .trapped("the guest aborted: \(message)\(file)")
        },
        HostFunction("env", "seed", [], [.f64]) { _, _, _, results throws(WapcError) in
            results[0] = .f64(Double.random(in: 0..<1).bitPattern)
        },
    ]

    /// An AssemblyScript string: UTF-16LE code units at `pointer`, their byte length in the 4 bytes
    /// before it. `nil` for a null pointer. Long messages are cut at 1 KiB.
    private static func string(_ memory: GuestMemory, _ pointer: UInt32) throws(WapcError) -> String? {
        guard pointer != 0 else { return nil }
        guard pointer >= 4 else { throw .guestFault("abort: string pointer \(pointer) has no length header") }
        let length = min(try memory.readUInt32(pointer - 4, "abort string length"), 1024) & ~1
        let bytes = try memory.read(pointer, length, "abort string")
        let units = stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
        return String(decoding: units, as: UTF16.self)
    }
}
