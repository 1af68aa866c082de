import Testing
import WAT
@testable import WapcHost

/// What `WapcModule.load` rejects, and why.
@Suite(.timeLimit(.minutes(10))) struct ModuleLoadingTests {
    static let guestCall = #"(func (export "__guest_call") (param i32 i32) (result i32) (i32.const 0))"#

    static func load(_ wat: String, configuration: WapcConfiguration = .quiet) -> WapcError? {
        wapcError { _ = try Fixtures.load(try wat2wasm(wat), configuration: configuration) }
    }

    @Test func aModuleThatImportsNothingLoads() throws {
        let module = try Fixtures.load(try wat2wasm("(module (memory (export \"memory\") 1) \(Self.guestCall))"))
        #expect(module.imports.isEmpty)
        // It returns 0 without setting an error.
        let error = wapcError { _ = try module.instantiate(configuration: .quiet).invoke(operation: "x", payload: []) }
        #expect(error == .guestError("the guest failed without an error message"))
    }

    @Test func garbageIsNotAModule() {
        let error = wapcError { _ = try Fixtures.load(Array("not wasm at all".utf8)) }
        #expect(error?.code == .invalidModule)
        #expect(wapcError { _ = try Fixtures.load([]) }?.code == .invalidModule)
        // The reason reads as text, not as the engine's debug description of it.
        let message = error?.message ?? ""
        #expect(message.hasPrefix("not a valid WebAssembly module: magic header not detected"), "\(message)")
        #expect(message.hasSuffix("(at byte 0x4)"), "\(message)")
        #expect(!message.contains("Message(") && !message.contains("\"\""), "\(message)")
    }

    @Test func aBodyThatDoesNotValidateIsNamedInText() {
        // A function whose body leaves an i64 where its type promises an i32.
        let error = Self.load("(module (memory (export \"memory\") 1) (func (export \"__guest_call\") (param i32 i32) (result i32) i64.const 0))")
        #expect(error?.code == .invalidModule)
        #expect(!(error?.message.contains("Message(") ?? true), "\(String(describing: error))")
    }

    @Test func missingGuestCallOrMemoryIsNamed() {
        let noCall = Self.load("(module (memory (export \"memory\") 1))")
        #expect(noCall?.code == .missingExport)
        #expect(noCall?.message.contains("__guest_call") == true)
        let noMemory = Self.load("(module \(Self.guestCall))")
        #expect(noMemory?.code == .missingExport)
        #expect(noMemory?.message.contains("memory") == true)
        let wrongType = Self.load("(module (memory (export \"memory\") 1) (func (export \"__guest_call\")))")
        #expect(wrongType?.code == .missingExport)
    }

    @Test func unknownImportsAreNamed() {
        let unknown = Self.load(#"(module (import "env" "abort" (func)) (memory (export "memory") 1) \#(Self.guestCall))"#)
        #expect(unknown?.code == .unknownImport)
        #expect(unknown?.message.contains("env.abort") == true)
        let wrongSignature = Self.load(
            #"(module (import "wapc" "__console_log" (func (param i64))) (memory (export "memory") 1) \#(Self.guestCall))"#)
        #expect(wrongSignature?.code == .unknownImport)
        #expect(wrongSignature?.message.contains("wapc.__console_log") == true)
        let memoryImport = Self.load(#"(module (import "env" "memory" (memory 1)) \#(Self.guestCall))"#)
        #expect(memoryImport?.code == .unknownImport)
    }

    @Test func aSubsetOfTheWapcImportsIsEnough() throws {
        let module = try Fixtures.load(try wat2wasm(#"""
            (module (import "wapc" "__guest_error" (func (param i32 i32))) (memory (export "memory") 1) \#(Self.guestCall))
            """#))
        #expect(module.imports == ["wapc.__guest_error"])
    }

    @Test func initializersRunAndTheirFailuresRejectTheModule() {
        let trapping = Self.load(#"(module (memory (export "memory") 1) \#(Self.guestCall) (func (export "wapc_init") unreachable))"#)
        #expect(trapping?.code == .trapped)
        #expect(trapping?.message.hasPrefix("wapc_init failed") == true)

        var configuration = WapcConfiguration.quiet
        configuration.timeout = .milliseconds(100)
        configuration.fuel = nil
        let looping = Self.load(
            #"(module (memory (export "memory") 1) \#(Self.guestCall) (func (export "_start") (loop $l (br $l))))"#,
            configuration: configuration)
        #expect(looping?.code == .deadlineExceeded)

        let startSection = Self.load(
            #"(module (memory (export "memory") 1) \#(Self.guestCall) (func $s (loop $l (br $l))) (start $s))"#,
            configuration: configuration)
        #expect(startSection?.code == .deadlineExceeded)
    }

    @Test func initialMemoryOverTheCapIsAMemoryLimit() {
        let error = Self.load(#"(module (memory (export "memory") 2000) \#(Self.guestCall))"#)
        #expect(error?.code == .memoryLimit)
    }

    @Test func invalidFunctionBodiesAreRejectedAtLoad() throws {
        // Type error in a function that is never called: lazy translation would only notice on
        // first use; loading translates everything.
        let bytes = try wat2wasm(
            #"(module (memory (export "memory") 1) \#(Self.guestCall) (func $bad (result i32) (i64.const 1)))"#,
            options: .init(nameSection: false))
        #expect(wapcError { _ = try Fixtures.load(bytes) }?.code == .invalidModule)
    }

    @Test func customSectionsAreExposed() throws {
        let module = try Fixtures.load(Fixtures.bytes("Guests/echo/echo.wasm"))
        #expect(module.exportedFunctions.contains("wapc_init"))
        #expect(module.customSections["wasmrpc.descriptor"] == nil)
    }
}
