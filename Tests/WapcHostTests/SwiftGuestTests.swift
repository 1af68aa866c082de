import Testing
@testable import WapcHost

/// The example guests built with the Swift WapcGuest SDK (Guests/, built by Guests/build.sh).
@Suite(.timeLimit(.minutes(10))) struct SwiftGuestTests {
    static let samples: [(ComplexNumber, ComplexNumber)] = [
        (ComplexNumber(real: 1, imag: 2), ComplexNumber(real: 3, imag: 4)),
        (ComplexNumber(real: -1.5, imag: 0.25), ComplexNumber(real: 2, imag: -8)),
        (ComplexNumber(real: 0, imag: 0), ComplexNumber(real: 7, imag: 7)),
        (ComplexNumber(real: 1e10, imag: -3e-5), ComplexNumber(real: 0.1, imag: 1e-10)),
        (ComplexNumber(real: .infinity, imag: 1), ComplexNumber(real: 2, imag: 0)),
    ]

    @Test func echoGuestEchoesAndReportsErrors() throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/echo/echo.wasm")).instantiate(configuration: .quiet)
        #expect(try instance.invoke(operation: "echo", payload: Array("hello".utf8)) == Array("hello".utf8))
        #expect(try instance.invoke(operation: "echo", payload: []) == [])
        #expect(wapcError { _ = try instance.invoke(operation: "fail", payload: Array("x".utf8)) } == .guestError("failed on request: x"))
        #expect(wapcError { _ = try instance.invoke(operation: "missing", payload: []) }?.code == .unknownOperation)
    }

    @Test func guestHeapIsReusedAcrossCalls() throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/echo/echo.wasm")).instantiate(configuration: .quiet)
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = try instance.invoke(operation: "echo", payload: payload)
        let afterFirst = instance.memoryBytes
        for _ in 0..<20 {
            #expect(try instance.invoke(operation: "echo", payload: payload) == payload)
        }
        // Freed blocks are reused: twenty more calls of the same size need no more memory.
        #expect(instance.memoryBytes == afterFirst)
        #expect(afterFirst < 8 << 20)
    }

    @Test func guestRunningOutOfHeapIsAMemoryLimit() throws {
        var configuration = WapcConfiguration.quiet
        configuration.memoryLimit = 4 << 20
        let pool = InstancePool(module: try Fixtures.load(Fixtures.bytes("Guests/echo/echo.wasm")), configuration: configuration)
        let error = wapcError { _ = try pool.invoke(operation: "echo", payload: [UInt8](repeating: 1, count: 8 << 20)) }
        #expect(error?.code == .memoryLimit)
        #expect(try pool.invoke(operation: "echo", payload: [1, 2, 3]) == [1, 2, 3])
    }

    @Test func echoGuestForwardsHostCallsAndReadsHostErrors() throws {
        let capability = RecordingCapability(reply: .success(Array("answer".utf8)))
        var router = HostCallRouter()
        router.register(capability, binding: "bind", namespace: "space", operation: "op")
        let instance = try Fixtures.load(Fixtures.bytes("Guests/echo/echo.wasm"), router: router)
            .instantiate(configuration: .quiet, router: router)
        #expect(try instance.invoke(operation: "forward", payload: Array("bind\nspace\nop\nbody".utf8)) == Array("answer".utf8))
        #expect(capability.received.map(\.payload) == [Array("body".utf8)])
        let error = wapcError { _ = try instance.invoke(operation: "forward", payload: Array("bind\nspace\nother\nbody".utf8)) }
        #expect(error?.code == .guestError)
        #expect(error?.message.hasPrefix("no host capability") == true)
    }

    @Test(arguments: samples)
    func complexMulMatchesSwiftArithmetic(a: ComplexNumber, b: ComplexNumber) throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm")).instantiate(configuration: .quiet)
        let response = try instance.invoke(operation: "mul", payload: message([(1, a.encoded), (2, b.encoded)]))
        let result = try #require(decodeResponse(response))
        let expected = a * b
        #expect(result.real.bitPattern == expected.real.bitPattern)
        #expect(result.imag.bitPattern == expected.imag.bitPattern)
    }

    @Test func complexMulLogsItsInputsAndResultThroughTheHost() throws {
        let capability = RecordingCapability(reply: .success([]))
        var router = HostCallRouter()
        router.register(capability, namespace: "complex::any")
        let instance = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm"), router: router)
            .instantiate(configuration: .quiet, router: router)
        let (a, b) = (ComplexNumber(real: 1, imag: 2), ComplexNumber(real: 3, imag: 4))
        _ = try instance.invoke(operation: "mul", payload: message([(1, a.encoded), (2, b.encoded)]))
        let call = try #require(capability.received.first)
        #expect(call.binding == "b")
        #expect(call.operation == "mul")
        // ComplexLog{a = 1, b = 2, result = 3}
        #expect(call.payload == message([(1, a.encoded), (2, b.encoded), (3, (a * b).encoded)]))
    }

    @Test func complexMulStillAnswersWhenTheHostCannotLog() throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm"), router: HostCallRouter())
            .instantiate(configuration: .quiet, router: HostCallRouter())
        let response = try instance.invoke(operation: "mul", payload: message([(1, ComplexNumber(real: 2, imag: 0).encoded)]))
        // b is absent, so it is 0 + 0i and so is the product.
        #expect(decodeResponse(response) == ComplexNumber(real: 0, imag: 0))
    }

    @Test func complexRejectsMalformedProtobuf() throws {
        let instance = try Fixtures.load(Fixtures.bytes("Guests/complex/complex.wasm")).instantiate(configuration: .quiet)
        // A length that runs past the end of the message.
        let error = wapcError { _ = try instance.invoke(operation: "mul", payload: [0x0A, 0x7F, 0x0D]) }
        #expect(error == .guestError("length past the end"))
    }
}
