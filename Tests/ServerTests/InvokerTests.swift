import Client
@testable import Server
import ContentStore
import DynamicProto
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing
import WasmRPCProto
import WasmRPCCore
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct InvokerTests {
    static let echoDescriptor = descriptorSet(
        package: "echo", messages: ["Text": ["text"]],
        services: [("Echo", [("echo", "Text", "Text"), ("missing", "Text", "Text")]), ("Mirror", [("echo", "Text", "Text")])])

    /// The hostile fixture picks its behaviour by the operation name's length (Tests/Fixtures/hostile.wat).
    static let hostileDescriptor = descriptorSet(
        package: "hostile", messages: ["Nothing": []],
        services: [
            (
                "Hostile",
                [
                    ("twice", "Nothing", "Nothing"),  // 5: __guest_response twice → guest fault
                    ("trapped", "Nothing", "Nothing"),  // 7: unreachable
                    ("spinning", "Nothing", "Nothing"),  // 8: infinite loop
                    ("growmemor", "Nothing", "Nothing"),  // 9: grows until refused
                    ("hostcallsfor", "Nothing", "Nothing"),  // 12: host calls forever
                    ("answersNotProto", "Nothing", "Nothing"),  // 15: answers "fine", not a protobuf message
                ]
            )
        ])

    @Test(arguments: TestTransport.allCases) func functionNamesResolveInEveryForm(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            for name in ["mul", "Calculator/mul", "complex.Calculator/mul", "/complex.Calculator/mul"] {
                let result = try await client.invoke(id, function: name, parameters: try complexRequest((2, 0), (0, 3)))
                let (real, imag) = try complexResult(result)
                #expect(real == 0 && imag == 6, "\(name)")
            }
            for name in ["div", "Calculator/div", "Other/mul", "other.Calculator/mul", ""] {
                let code = await statusCode { try await client.invoke(id, function: name, parameters: try complexRequest((1, 1), (1, 1))) }
                #expect(code == (name.isEmpty ? .invalidArgument : .notFound), "\(name)")
            }
        }
    }

    @Test(arguments: TestTransport.allCases) func anAmbiguousShortNameListsTheCandidates(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: echoWasm, descriptorSet: Self.echoDescriptor).metadata.id))
            let text = try Google_Protobuf_Any.with {
                $0.typeURL = "type.googleapis.com/echo.Text"
                $0.value = try Google_Protobuf_StringValue("hi").serializedBytes()
            }
            do {
                _ = try await client.invoke(id, function: "echo", parameters: text)
                Issue.record("an ambiguous name was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("/echo.Echo/echo") && error.message.contains("/echo.Mirror/echo"))
            }
            // Qualified, it runs (both run the guest's "echo" operation).
            let result = try await client.invoke(id, function: "Mirror/echo", parameters: text)
            #expect(try Google_Protobuf_StringValue(serializedBytes: result.value).value == "hi")
            // Declared in the descriptor, but the guest has no such operation.
            #expect(await statusCode { try await client.invoke(id, function: "missing", parameters: text) } == .notFound)
        }
    }

    @Test(arguments: TestTransport.allCases) func parametersMustBeTheInputType(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            var request = try complexRequest((1, 2), (3, 4))
            // An empty type URL is accepted, as is another host part.
            request.typeURL = ""
            _ = try complexResult(try await client.invoke(id, function: "mul", parameters: request))
            request.typeURL = "example.com/types/complex.ComplexRequest"
            _ = try complexResult(try await client.invoke(id, function: "mul", parameters: request))

            request.typeURL = "type.googleapis.com/complex.Complex"
            #expect(await statusCode { try await client.invoke(id, function: "mul", parameters: request) } == .invalidArgument)
            // Bytes that are no ComplexRequest: a field 1 that claims 100 bytes.
            let garbage = Google_Protobuf_Any.with {
                $0.typeURL = "type.googleapis.com/complex.ComplexRequest"
                $0.value = Data([0x0A, 0x64, 0x01])
            }
            #expect(await statusCode { try await client.invoke(id, function: "mul", parameters: garbage) } == .invalidArgument)
        }
    }

    @Test(arguments: TestTransport.allCases) func guestFailuresGetTheDocumentedStatusCodes(transport: TestTransport) async throws {
        // The spin ends by fuel (DEADLINE_EXCEEDED too): a deadline short enough to end it would
        // also end the other calls on a busy machine.
        try await withServer(configure: {
            $0.runtime.wapc.timeout = .seconds(60)
            $0.runtime.wapc.fuel = 5_000_000
            $0.runtime.wapc.memoryLimit = 1 << 20
        }, transport: transport) { client in
            let wasm = try fixture("Tests/Fixtures/hostile.wat")
            let id = try #require(ModuleID(hex: try await client.add(wasm: wasm, descriptorSet: Self.hostileDescriptor).metadata.id))
            let expected: [(String, RPCError.Code)] = [
                ("twice", .failedPrecondition), ("trapped", .failedPrecondition), ("spinning", .deadlineExceeded),
                ("growmemor", .resourceExhausted), ("hostcallsfor", .resourceExhausted), ("answersNotProto", .failedPrecondition),
            ]
            for (function, code) in expected {
                let actual = await statusCode { try await client.invoke(id, function: function, parameters: Google_Protobuf_Any()) }
                #expect(actual == code, "\(function)")
            }
        }
    }

    @Test(arguments: TestTransport.allCases) func theClientsDeadlineBoundsTheGuest(transport: TestTransport) async throws {
        // The server would let the guest spin for five minutes; the client's 200 ms deadline, sent
        // as `grpc-timeout` (in process as on the wire), stops it on the server.
        try await withRunningServer(configure: { $0.runtime.wapc.timeout = .seconds(300); $0.runtime.wapc.fuel = nil }, transport: transport) { client, server in
            let wasm = try fixture("Tests/Fixtures/hostile.wat")
            let id = try #require(ModuleID(hex: try await client.add(wasm: wasm, descriptorSet: Self.hostileDescriptor).metadata.id))
            let code = await statusCode {
                try await client.invoke(id, function: "spinning", parameters: Google_Protobuf_Any(), timeout: .milliseconds(200))
            }
            #expect(code == .deadlineExceeded)
            // The header reached the server: no guest is left spinning for the server's five
            // minutes (a module's first calls run on workers, counted in `pendingWork`). The server
            // counts the call as ended by the deadline (DEADLINE_EXCEEDED), or as CANCELLED when the
            // client's reset came first (on a loaded machine even before the call reached the
            // runtime): which one is a race, so either passes, and nothing else does.
            try await eventually { server.runtime.pendingWork == 0 }
            let counted = String(decoding: await server.metrics.scrape(server.runtime), as: UTF8.self).split(separator: "\n").filter {
                $0.hasPrefix("wasmrpc_invocations_total") && $0.contains("spinning")
            }
            #expect(counted.allSatisfy { $0.contains("deadlineExceeded") || $0.contains("cancelled") }, "\(counted)")
            // The worker is free again: a well-behaved module still answers.
            let complex = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            _ = try complexResult(try await client.invoke(complex, function: "mul", parameters: try complexRequest((1, 0), (1, 0))))
        }
    }

    @Test(arguments: TestTransport.allCases) func concurrentClientsAllGetTheirOwnAnswers(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let complex = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            let echo = try #require(ModuleID(hex: try await client.add(wasm: echoWasm, descriptorSet: Self.echoDescriptor).metadata.id))
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var failures = 0
                        for call in 0..<200 {
                            let (x, y) = (Float(worker), Float(call))
                            if call % 4 == 3 {
                                let text = "\(worker)/\(call)"
                                let result = try await client.invoke(
                                    echo, function: "Echo/echo",
                                    parameters: .with {
                                        $0.typeURL = "type.googleapis.com/echo.Text"
                                        $0.value = try Google_Protobuf_StringValue(text).serializedBytes()
                                    })
                                if try Google_Protobuf_StringValue(serializedBytes: result.value).value != text { failures += 1 }
                            } else {
                                // (x + yi)(y + xi) = (xy - xy) + (x² + y²)i
                                let (real, imag) = try complexResult(
                                    try await client.invoke(complex, function: "mul", parameters: try complexRequest((x, y), (y, x))))
                                if real != x * y - y * x || imag != x * x + y * y { failures += 1 }
                            }
                        }
                        return failures
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(failures == 0)
        }
    }

    @Test(arguments: TestTransport.allCases) func invokeStreamAnswersInOrder(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            let requests = try (1...20).map { n in
                try Wasmrpc_V1_InvokeRequest.with {
                    $0.metadata.id = id.hex
                    $0.request.name = "mul"
                    $0.request.parameters = try complexRequest((Float(n), 0), (2, 0))
                }
            }
            let answers = try await client.invoker.invokeStream(
                requestProducer: { writer in try await writer.write(contentsOf: requests) },
                onResponse: { response in
                    var reals: [Float] = []
                    for try await message in response.messages { reals.append(try complexResult(message.response.result).0) }
                    return reals
                })
            #expect(answers == (1...20).map { Float($0 * 2) })
        }
    }
}
