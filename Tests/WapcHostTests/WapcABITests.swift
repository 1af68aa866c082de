import Testing
@testable import WapcHost

/// The waPC host ABI, driven by Tests/Fixtures/wapc-abi.wat, which uses every `wapc` import.
@Suite(.timeLimit(.minutes(10))) struct WapcABITests {
    @Test func echoReturnsThePayloadUnchanged() throws {
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: .quiet)
        let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for payload in [[], Array("hello waPC".utf8), [0, 255, 0], large] as [[UInt8]] {
            #expect(try instance.invoke(operation: "echo", payload: payload) == payload)
        }
    }

    @Test func hostCallReachesTheRoutedCapabilityAndReturnsItsResponse() throws {
        let capability = RecordingCapability(reply: .success(Array("pong".utf8)))
        var router = HostCallRouter()
        router.register(capability, binding: "test-binding", namespace: "test", operation: "reply")
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat"), router: router)
            .instantiate(configuration: .quiet, router: router)

        #expect(try instance.invoke(operation: "hostcall", payload: Array("ping".utf8)) == Array("pong".utf8))
        let call = try #require(capability.received.first)
        #expect(call.binding == "test-binding")
        #expect(call.namespace == "test")
        #expect(call.operation == "reply")
        #expect(call.payload == Array("ping".utf8))
    }

    @Test func hostErrorIsReadableByTheGuest() throws {
        var router = HostCallRouter()
        router.register(RecordingCapability(reply: .failure(HostCallFailure("no such key"))), namespace: "test")
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat"), router: router)
            .instantiate(configuration: .quiet, router: router)
        // The guest forwards the host error text as its own error.
        let error = wapcError { _ = try instance.invoke(operation: "hostcall", payload: [1]) }
        #expect(error == .guestError("no such key"))
    }

    @Test func unroutedHostCallIsAHostErrorNamingTheRoute() throws {
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: .quiet, router: HostCallRouter())
        let error = try #require(wapcError { _ = try instance.invoke(operation: "hostcall", payload: [1]) })
        #expect(error.code == .guestError)
        #expect(error.message.contains("\"test-binding\""))
        #expect(error.message.contains("\"reply\""))
        // The instance is still usable: a guest error is an answer, not a fault.
        #expect(try instance.invoke(operation: "echo", payload: [7]) == [7])
    }

    @Test func guestErrorAndUnknownOperation() throws {
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: .quiet)
        #expect(wapcError { _ = try instance.invoke(operation: "fail", payload: []) } == .guestError("boom"))
        #expect(wapcError { _ = try instance.invoke(operation: "nope", payload: []) }?.code == .unknownOperation)
    }

    @Test func consoleLogGoesToTheOutputNotTheResponse() throws {
        let recorder = OutputRecorder()
        var configuration = WapcConfiguration.quiet
        configuration.output = recorder.output
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: configuration)
        #expect(try instance.invoke(operation: "log", payload: Array("a line".utf8)) == [])
        #expect(recorder.text(.console) == "a line")
    }

    @Test func consoleOutputIsCappedPerCall() throws {
        let recorder = OutputRecorder()
        var configuration = WapcConfiguration.quiet
        configuration.output = recorder.output
        configuration.maxOutputBytes = 10
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: configuration)
        _ = try instance.invoke(operation: "log", payload: Array("0123456789abcdef".utf8))
        _ = try instance.invoke(operation: "log", payload: Array("next".utf8))
        #expect(recorder.text(.console) == "0123456789next")
    }

    @Test func requestsOverTheLimitAreRefusedBeforeTheGuestRuns() throws {
        var configuration = WapcConfiguration.quiet
        configuration.maxRequestBytes = 100
        let instance = try Fixtures.load(Fixtures.wat("wapc-abi.wat")).instantiate(configuration: configuration)
        #expect(wapcError { _ = try instance.invoke(operation: "echo", payload: [UInt8](repeating: 0, count: 101)) }?.code == .limitExceeded)
        // Refused up front, so the instance is still fine.
        #expect(try instance.invoke(operation: "echo", payload: [UInt8](repeating: 0, count: 100)).count == 100)
    }

    @Test func loggedPayloadsAreTextOrHexAndShortened() {
        #expect(LoggingCapability.render(Array("a=1\nb=2".utf8)) == "a=1\nb=2")
        #expect(LoggingCapability.render([0x0A, 0xFF, 0x00]) == "0x0aff00")
        let long = LoggingCapability.render([UInt8](repeating: 0x61, count: 2000))
        #expect(long == String(repeating: "a", count: 1024) + "… (2000 bytes)")
    }

    @Test func routerPrefersTheMostSpecificRouteAndFallsBack() throws {
        var router = HostCallRouter()
        router.register(RecordingCapability(reply: .success([1])), namespace: "ns")
        router.register(RecordingCapability(reply: .success([2])), namespace: "ns", operation: "op")
        router.register(RecordingCapability(reply: .success([3])), binding: "b", namespace: "ns", operation: "op")
        func route(_ binding: String, _ namespace: String, _ operation: String) throws -> [UInt8] {
            try router.route(HostCall(binding: binding, namespace: namespace, operation: operation, payload: [9]))
        }
        #expect(try route("b", "ns", "op") == [3])
        #expect(try route("other", "ns", "op") == [2])
        #expect(try route("b", "ns", "other") == [1])
        // A matching operation counts over a matching binding; registering a route again replaces it.
        router.register(RecordingCapability(reply: .success([4])), binding: "b", namespace: "ns")
        router.register(RecordingCapability(reply: .success([5])), namespace: "ns")
        #expect(try route("b", "ns", "other") == [4])
        #expect(try route("b", "ns", "op") == [3])
        #expect(try route("c", "ns", "op") == [2])
        #expect(try route("c", "ns", "other") == [5])
        #expect(throws: HostCallFailure.self) { try route("b", "elsewhere", "op") }
        router.fallback = EchoCapability()
        #expect(try route("b", "elsewhere", "op") == [9])
    }
}
