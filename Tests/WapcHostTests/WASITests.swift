import Foundation
import Testing
@testable import WapcHost

/// The WASI preview 1 subset, driven by a C guest built against wasi-libc
/// (Tests/Fixtures/wasi/wasi-guest.c).
@Suite(.timeLimit(.minutes(10))) struct WASITests {
    let recorder = OutputRecorder()

    func pool() throws -> InstancePool {
        var configuration = WapcConfiguration.quiet
        configuration.output = recorder.output
        let module = try Fixtures.load(Fixtures.bytes("Tests/Fixtures/wasi/wasi-guest.wasm"), configuration: configuration)
        return InstancePool(module: module, configuration: configuration, maxInstances: 1)
    }

    @Test func printfGoesToTheLogNotTheResponse() throws {
        #expect(try pool().invoke(operation: "hello", payload: Array("world".utf8)) == Array("ok".utf8))
        #expect(recorder.text(.stdout) == "hello from C, world\n")
        #expect(recorder.text(.stderr) == "and a line on stderr\n")
    }

    @Test func timeIsTheRealClock() throws {
        let answer = String(decoding: try pool().invoke(operation: "time", payload: []), as: UTF8.self)
        let seconds = try #require(Double(answer))
        #expect(abs(seconds - Date().timeIntervalSince1970) < 60)
    }

    @Test func thereIsNoEnvironment() throws {
        #expect(try pool().invoke(operation: "env", payload: []) == Array("no environment".utf8))
    }

    @Test func exitEndsTheCallWithAnErrorAndTheNextCallWorks() throws {
        let pool = try pool()
        let error = wapcError { _ = try pool.invoke(operation: "exit", payload: []) }
        #expect(error == WapcError(.exited, "the guest called proc_exit(3)"))
        #expect(try pool.invoke(operation: "env", payload: []) == Array("no environment".utf8))
    }
}
