import CallCore
import Client
import ContentStore
import Foundation
import GRPCCore
import GRPCProtobuf
import GeneratedTestProtos
import Server
import SwiftProtobuf
import Testing
import WAT
import WapcHost
import WasmRPCProto
import WasmRPCCore
import TestSupport

/// Uploaded services at their own paths (`/complex.Calculator/mul`), called the way a stock gRPC
/// client calls them: the plain request message, no `Any`, no wasmrpc types.
@Suite(.timeLimit(.minutes(10))) struct NativeRouteTests {
    /// A guest that answers every operation with its payload.
    static let mirrorWat = """
        (module
          (import "wapc" "__guest_request" (func $request (param i32 i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "__guest_call") (param $operation i32) (param $payload i32) (result i32)
            (call $request (i32.const 0) (i32.const 1024))
            (call $respond (i32.const 1024) (local.get $payload))
            (i32.const 1)))
        """
    static let mirrorWasm = try! wat2wasm(mirrorWat)

    static let a: (Float, Float) = (1, 2)
    static let b: (Float, Float) = (3, 4)

    static func request() throws -> [UInt8] {
        try Complex_ComplexRequest.with {
            $0.a = .with { $0.real = a.0; $0.imag = a.1 }
            $0.b = .with { $0.real = b.0; $0.imag = b.1 }
        }.serializedBytes()
    }

    /// The answer as (real, imag): the product (-5, 10) from the complex module, `a` (1, 2) from the mirror.
    static func result(_ response: NativeResponse) throws -> (Float, Float) {
        let message = try Complex_ComplexResponse(serializedBytes: response.message)
        return (message.result.real, message.result.imag)
    }

    /// Over the real HTTP/2 transport, as every other client sees the routes.
    @Test func aMethodIsRoutableAtItsPathRightAfterAdd() async throws {
        try await withServer(transport: .network) { client in
            #expect(await statusCode { try await client.call("complex.Calculator/mul", message: try Self.request()) } == .unimplemented)
            let id = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).id
            let response = try await client.call("/complex.Calculator/mul", message: try Self.request())
            #expect(try Self.result(response) == (-5, 10))
            #expect(response.module == id)
            #expect(response.metadata[stringValues: "x-request-id"].first(where: { _ in true })?.isEmpty == false)
        }
    }

    @Test func routesSurviveARestart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = try await withServer(directory: directory) { client in
            try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).id
        }
        try await withServer(directory: directory) { client in
            let response = try await client.call("complex.Calculator/mul", message: try Self.request())
            #expect(try Self.result(response) == (-5, 10))
            #expect(response.module == id)
        }
    }

    @Test(arguments: TestTransport.allCases) func theNewestModuleServesAPathAndTheHeaderPinsAnother(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            let complex = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).id
            let mirror = try await client.add(wasm: Self.mirrorWasm, descriptorSet: complexDescriptor).id
            let newest = try await client.call("complex.Calculator/mul", message: try Self.request())
            #expect(newest.module == mirror)
            #expect(try Self.result(newest) == Self.a)
            let pinned = try await client.call("complex.Calculator/mul", message: try Self.request(), module: complex)
            #expect(pinned.module == complex)
            #expect(try Self.result(pinned) == (-5, 10))
            // Adding the older module's bytes again does not make it newer.
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            #expect(try await client.call("complex.Calculator/mul", message: try Self.request()).module == mirror)
        }
    }

    @Test(arguments: TestTransport.allCases) func badPinsAreRefusedClearly(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            let other = descriptorSet(package: "other", messages: ["M": ["s"]], services: [("Other", [("run", "M", "M")])])
            let unrelated = try await client.add(wasm: Self.mirrorWasm, descriptorSet: other).id
            let request = try Self.request()
            // A module that does not define the method.
            #expect(await statusCode { try await client.call("complex.Calculator/mul", message: request, module: unrelated) } == .notFound)
            // A module that is not stored.
            let unknown = ModuleID(of: [1, 2, 3])
            #expect(await statusCode { try await client.call("complex.Calculator/mul", message: request, module: unknown) } == .notFound)
            // Not a module id.
            let badHeader = await statusCode {
                try await client.grpc.unary(
                    request: ClientRequest(message: request, metadata: ["wasmrpc-module-id": "xyz"]),
                    descriptor: GRPCCore.MethodDescriptor(fullyQualifiedService: "complex.Calculator", method: "mul"),
                    serializer: RawBytes(bytes: request), deserializer: ProtobufDeserializer<Complex_ComplexResponse>(),
                    options: .defaults) { try $0.message }
            }
            #expect(badHeader == .invalidArgument)
        }
    }

    /// Streaming shapes: server-streaming answers a stream of one, bidirectional one answer per
    /// request in order, client-streaming is UNIMPLEMENTED (natively and through Invoke).
    @Test(arguments: TestTransport.allCases) func streamingMethodsByShape(transport: TestTransport) async throws {
        var shapes = descriptorSet(
            package: "shapes", messages: ["Text": ["text"]],
            services: [("Shapes", [("unary", "Text", "Text"), ("server", "Text", "Text"), ("client", "Text", "Text"), ("both", "Text", "Text")])])
        shapes.file[0].service[0].method[1].serverStreaming = true
        shapes.file[0].service[0].method[2].clientStreaming = true
        shapes.file[0].service[0].method[3].serverStreaming = true
        shapes.file[0].service[0].method[3].clientStreaming = true
        // A Text message with text = s.
        func text(_ s: String) -> [UInt8] { [0x0A, UInt8(s.utf8.count)] + Array(s.utf8) }
        func method(_ name: String) -> GRPCCore.MethodDescriptor { .init(fullyQualifiedService: "shapes.Shapes", method: name) }
        try await withServer(transport: transport) { client in
            let id = try await client.add(wasm: Self.mirrorWasm, descriptorSet: shapes).id
            #expect(try await client.call("shapes.Shapes/unary", message: text("u")).message == text("u"))

            let server = try await client.grpc.serverStreaming(
                request: ClientRequest(message: text("s")), descriptor: method("server"), serializer: RawBytesCoder(), deserializer: RawBytesCoder(),
                options: .defaults
            ) { response in
                var messages: [[UInt8]] = []
                for try await message in response.messages { messages.append(message) }
                return messages
            }
            #expect(server == [text("s")])

            let inputs = (0..<50).map { text("message \($0)") }
            let both = try await client.grpc.bidirectionalStreaming(
                request: StreamingClientRequest { writer in try await writer.write(contentsOf: inputs) }, descriptor: method("both"),
                serializer: RawBytesCoder(), deserializer: RawBytesCoder(), options: .defaults
            ) { response in
                var messages: [[UInt8]] = []
                for try await message in response.messages { messages.append(message) }
                return messages
            }
            #expect(both == inputs)

            let clientStreaming = await statusCode {
                try await client.grpc.clientStreaming(
                    request: StreamingClientRequest { writer in try await writer.write(contentsOf: inputs) }, descriptor: method("client"),
                    serializer: RawBytesCoder(), deserializer: RawBytesCoder(), options: .defaults
                ) { try $0.message }
            }
            #expect(clientStreaming == .unimplemented)
            let any = Google_Protobuf_Any.with { $0.value = Data(text("x")) }
            #expect(await statusCode { try await client.invoke(id, function: "client", parameters: any) } == .unimplemented)
            #expect(try await client.invoke(id, function: "both", parameters: any).value == Data(text("x")))
        }
    }

    @Test(arguments: TestTransport.allCases) func unknownPathsAreUnimplemented(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            for path in ["complex.Calculator/pow", "complex.Nothing/mul", "nobody.Service/call"] {
                let code = await statusCode { try await client.call(path, message: try Self.request()) }
                #expect(code == .unimplemented, "\(path)")
            }
        }
    }

    @Test(arguments: TestTransport.allCases) func modulesCannotClaimTheServersOwnPackages(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            // A module claiming wasmrpc.v1.Registry/List, or a method of the health service (which
            // anyone may call without a token), is refused; the real List still answers.
            for (package, service, method) in [("wasmrpc.v1", "Registry", "List"), ("grpc.health.v1", "Health", "Peek")] {
                let fake = descriptorSet(
                    package: package, messages: ["Request": ["s"], "Response": ["s"]], services: [(service, [(method, "Request", "Response")])])
                let code = await statusCode { try await client.add(wasm: Self.mirrorWasm, descriptorSet: fake) }
                #expect(code == .invalidArgument, "\(package).\(service)")
            }
            let listed = try await client.list()
            #expect(listed.isEmpty)
        }
    }

    @Test(arguments: TestTransport.allCases) func statusesAreThoseOfInvoke(transport: TestTransport) async throws {
        try await withServer(transport: transport) { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            // Bytes that are not a ComplexRequest.
            let garbage: [UInt8] = [0x0A, 0xFF, 0xFF]
            #expect(await statusCode { try await client.call("complex.Calculator/mul", message: garbage) } == .invalidArgument)
            // An empty message is a valid (all-default) request.
            let empty = try await client.call("complex.Calculator/mul", message: [])
            #expect(try Self.result(empty) == (0, 0))
        }
    }

    @Test(arguments: TestTransport.allCases) func theTokenGuardsNativeCallsLikeInvoke(transport: TestTransport) async throws {
        let token = "native-route-token"
        try await withServer(configure: { $0.access = AccessPolicy(token: token, protectReads: true) }, token: token, transport: transport) { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            _ = try await client.call("complex.Calculator/mul", message: try Self.request())
        }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withServer(directory: directory, token: token, transport: transport) { client in
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
        }
        try await withServer(directory: directory, configure: { $0.access = AccessPolicy(token: token, protectReads: true) }, transport: transport) { client in
            #expect(await statusCode { try await client.call("complex.Calculator/mul", message: try Self.request()) } == .unauthenticated)
        }
    }

    /// A native call in flight when shutdown begins finishes; `run()` returns once it is done.
    /// (Health's NOT_SERVING during shutdown is in HealthTests.)
    @Test(arguments: TestTransport.allCases) func shutdownDrainsACallInFlight(transport: TestTransport) async throws {
        let hold = Hold()
        defer { hold.release(100) }
        let configure = { (configuration: inout WasmRPCServer.Configuration) in
            configuration.hostCalls.register(hold, binding: "test", namespace: "hold")
            configuration.runtime.wapc.timeout = .seconds(60)
        }
        try await withRunningServer(configure: configure, transport: transport) { client, server in
            _ = try await client.add(wasm: try wat2wasm(TestGuests.holdWat), descriptorSet: TestGuests.nothing)
            let call = Task { try await client.call("loop.Loop/run", message: []) }
            // Wait (bounded) until the call holds its instance.
            try await eventually { server.runtime.loadedModuleCount == 1 && server.runtime.pendingWork == 1 }
            server.shutdown()
            hold.release()
            let answer = try await call.value
            #expect(answer.message.isEmpty)
        }
    }
}
