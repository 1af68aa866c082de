import Foundation
import Testing
@testable import WapcHost

/// Guests shaped like the output of the waPC SDKs for Rust, TinyGo and AssemblyScript
/// (Tests/Fixtures/sdk/README.md says why they are WAT, and after which sources).
@Suite(.timeLimit(.minutes(10))) struct SDKCompatibilityTests {
    func load(_ name: String, router: HostCallRouter, output: GuestOutput = .discard) throws -> WapcInstance {
        var configuration = WapcConfiguration.quiet
        configuration.output = output
        return try Fixtures.load(Fixtures.wat("sdk/\(name)"), configuration: configuration, router: router)
            .instantiate(configuration: configuration, router: router)
    }

    @Test func rustGuest() throws {
        let capability = RecordingCapability(reply: .success(Array("pong".utf8)))
        var router = HostCallRouter()
        router.register(capability, binding: "myBinding", namespace: "sample", operation: "ping")
        let instance = try load("rust-wapc-guest.wat", router: router)

        #expect(try instance.invoke(operation: "echo", payload: Array("hi".utf8)) == Array("hi".utf8))
        // An empty payload: the guest passes Vec's dangling pointer (1) for its zero-length buffer.
        #expect(try instance.invoke(operation: "echo", payload: []) == [])
        #expect(try instance.invoke(operation: "ping", payload: Array("x".utf8)) == Array("pong".utf8))
        #expect(capability.received.map(\.payload) == [Array("x".utf8)])
        let error = wapcError { _ = try instance.invoke(operation: "nope", payload: []) }
        #expect(error == WapcError(.unknownOperation, "No handler registered for function nope"))
    }

    @Test func tinyGoGuestStartsThroughWASIAndEndsStartWithProcExitZero() throws {
        let recorder = OutputRecorder()
        let capability = RecordingCapability(reply: .success([]))
        var router = HostCallRouter()
        router.register(capability, binding: "myBinding", namespace: "sample")
        let instance = try load("tinygo-wapc-guest.wat", router: router, output: recorder.output)
        #expect(recorder.text(.stdout) == "tinygo runtime ready\n")

        #expect(try instance.invoke(operation: "hello", payload: []) == Array("Hello".utf8))
        #expect(capability.received.map(\.operation) == ["hello"])
        #expect(capability.received.map(\.payload) == [Array("Simon".utf8)])

        let time = try instance.invoke(operation: "time", payload: [])
        let nanoseconds = time.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(abs(Double(nanoseconds) / 1e9 - Date().timeIntervalSince1970) < 60)

        let random = try instance.invoke(operation: "random", payload: [])
        #expect(random.count == 16)
        #expect(try instance.invoke(operation: "random", payload: []) != random)

        _ = try instance.invoke(operation: "print", payload: Array("to stdout\n".utf8))
        #expect(recorder.text(.stdout) == "tinygo runtime ready\nto stdout\n")

        let error = wapcError { _ = try instance.invoke(operation: "nope", payload: []) }
        #expect(error == WapcError(.unknownOperation, "Could not find function \"nope\""))
    }

    @Test func assemblyScriptGuestWithLegacyHostCallAndAbort() throws {
        let capability = RecordingCapability(reply: .success([]))
        var router = HostCallRouter()
        router.register(capability, namespace: "sample", operation: "hello")
        let instance = try load("as-wapc-guest.wat", router: router)

        #expect(try instance.invoke(operation: "hello", payload: []) == Array("Hello".utf8))
        let call = try #require(capability.received.first)
        #expect(call.binding == "")
        #expect(call.namespace == "sample")
        #expect(call.payload == Array("Simon".utf8))

        let error = wapcError { _ = try instance.invoke(operation: "abort", payload: []) }
        #expect(error == .trapped("the guest aborted: bad input at hello.ts:12:7"))
    }

    @Test func assemblyScriptUnknownOperation() throws {
        let instance = try load("as-wapc-guest.wat", router: HostCallRouter())
        let error = wapcError { _ = try instance.invoke(operation: "nope", payload: []) }
        #expect(error?.code == .unknownOperation)
    }
}
