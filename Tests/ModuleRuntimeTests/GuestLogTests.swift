import Testing
import WAT
import WapcHost
import WasmRPCCore
@testable import ModuleRuntime
import TestSupport

/// What a module's guests log is marked with the module's id, whichever way it is written.
@Suite(.timeLimit(.minutes(10))) struct GuestLogTests {
    /// `run` logs `hello` through a host call to `wasmrpc:log` (binding `test`) and `__console_log`.
    static let chatty = """
        (module
          (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__console_log" (func $console (param i32 i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "testwasmrpc:loghello")
          (func (export "__guest_call") (param i32 i32) (result i32)
            (drop (call $host_call (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 11) (i32.const 0) (i32.const 0) (i32.const 15) (i32.const 5)))
            (call $console (i32.const 15) (i32.const 5))
            (call $respond (i32.const 0) (i32.const 0))
            (i32.const 1)))
        """

    @Test func guestLogLinesNameTheModule() async throws {
        let log = CapturedLog()
        try await withFreshRuntime({ $0.wapc.output = .logger(log.logger) }, capabilities: ["wasmrpc:log": LoggingCapability(logger: log.logger)]) {
            runtime in
            let id = try await addNothingModule(runtime, wat: Self.chatty)
            _ = try await runtime.invoke(module: id, function: "run", typeURL: "", parameters: [])
            let entries = log.entries.withLock { $0 }
            // Add's trial instance ran no call; the call logged twice.
            #expect(entries.map(\.message) == ["guest host call", "hello"])
            #expect(entries.allSatisfy { $0.metadata["module"] == "\(id.hex)" }, "\(entries)")
        }
    }
}
