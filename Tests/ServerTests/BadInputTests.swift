import Client
import ContentStore
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf
import Testing
import WasmRPCProto

/// Sends fixed bytes whatever the message: garbage where a protobuf message should be.
struct RawBytes<Message>: MessageSerializer {
    let bytes: [UInt8]
    func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes { Bytes(bytes) }
}

/// The bad-client-input corpus: each case gets a clear status and nothing is stored.
@Suite struct BadInputTests {
    /// Truncations and corruptions of a valid AddRequest, and plain garbage.
    static func garbage(from valid: [UInt8]) -> [[UInt8]] {
        var cases: [[UInt8]] = [
            [0xFF], [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x0A, 0x05, 0x01], [0x08], [0x0B], [0x0F, 0x00],
            Array(repeating: 0x80, count: 11),
        ]
        for length in [1, 2, 3, valid.count / 2, valid.count - 1] where length > 0 && length < valid.count {
            cases.append(Array(valid.prefix(length)))
        }
        return cases
    }

    @Test func garbageInEveryMethodIsInvalidArgument() async throws {
        try await withServer { client in
            let add: [UInt8] = try Wasmrpc_V1_AddRequest.with {
                $0.wasm = Data(complexWasm)
                $0.descriptor = complexDescriptor
            }.serializedBytes()
            for bytes in Self.garbage(from: add) {
                let addCode = await statusCode {
                    try await client.registry.add(
                        request: ClientRequest(message: Wasmrpc_V1_AddRequest()), serializer: RawBytes(bytes: bytes),
                        deserializer: ProtobufDeserializer<Wasmrpc_V1_AddResponse>())
                }
                #expect(addCode == .invalidArgument, "Add \(bytes.prefix(8))")
                let invokeCode = await statusCode {
                    try await client.invoker.invoke(
                        request: ClientRequest(message: Wasmrpc_V1_InvokeRequest()), serializer: RawBytes(bytes: bytes),
                        deserializer: ProtobufDeserializer<Wasmrpc_V1_InvokeResponse>())
                }
                #expect(invokeCode == .invalidArgument, "Invoke \(bytes.prefix(8))")
                let getCode = await statusCode {
                    try await client.registry.get(
                        request: ClientRequest(message: Wasmrpc_V1_GetRequest()), serializer: RawBytes(bytes: bytes),
                        deserializer: ProtobufDeserializer<Wasmrpc_V1_GetResponse>())
                }
                #expect(getCode == .invalidArgument, "Get \(bytes.prefix(8))")
            }
            let listed = try await client.list()
            #expect(listed.isEmpty)
        }
    }

    @Test func idsNamesAndSizesAtTheEdges() async throws {
        try await withServer(configure: { $0.runtime.maxModuleBytes = 64 << 10 }) { client in
            for id in ["", "abc", String(repeating: "a", count: 63), String(repeating: "a", count: 65), String(repeating: "g", count: 64),
                "../../etc/passwd", String(repeating: "A", count: 64), String(repeating: "a", count: 10_000)]
            {
                #expect(await statusCode { try await client.registry.get(.with { $0.id = id }) } == .invalidArgument, "\(id.prefix(20))")
            }
            // Empty and oversized modules.
            #expect(await statusCode { try await client.add(wasm: [], descriptorSet: complexDescriptor) } == .invalidArgument)
            #expect(
                await statusCode { try await client.add(wasm: complexWasm + [UInt8](repeating: 0, count: 64 << 10), descriptorSet: complexDescriptor) }
                    == .resourceExhausted)
            // A descriptor whose file depends on itself, and names with control characters.
            var selfReferencing = complexDescriptor
            selfReferencing.file[0].dependency = ["complex.proto"]
            #expect(await statusCode { try await client.add(wasm: complexWasm, descriptorSet: selfReferencing) } == .invalidArgument)
            #expect(await statusCode { try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor, name: "a\nb") } == .invalidArgument)
            #expect(try await client.list().isEmpty == true)

            // Function names with path tricks.
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            for name in ["../mul", "complex.Calculator/../mul", "//mul", "/", "mul\u{0}", "mul/", "Calculator//mul", " mul",
                String(repeating: "m", count: 100_000)]
            {
                let code = await statusCode { try await client.invoke(id, function: name, parameters: try complexRequest((1, 1), (1, 1))) }
                #expect(code == .notFound || code == .invalidArgument, "\(name.prefix(30).debugDescription): \(String(describing: code))")
            }
        }
    }
}
