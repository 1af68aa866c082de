import Client
import ContentStore
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf
import Testing
import WasmRPCProto
import WasmRPCCore
import TestSupport

/// Sends fixed bytes whatever the message: garbage where a protobuf message should be.
struct RawBytes<Message>: MessageSerializer {
    let bytes: [UInt8]
    func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes { Bytes(bytes) }
}

/// The bad-client-input corpus: each case gets a clear status and nothing is stored.
@Suite(.timeLimit(.minutes(10))) struct BadInputTests {
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

    /// The status of Add, Invoke and Get sent `bytes` as their whole request.
    static func rawAdd(_ client: WasmRPCClient, _ bytes: [UInt8]) async -> RPCError.Code? {
        await statusCode {
            try await client.registry.add(
                request: ClientRequest(message: Wasmrpc_V1_AddRequest()), serializer: RawBytes(bytes: bytes),
                deserializer: ProtobufDeserializer<Wasmrpc_V1_AddResponse>())
        }
    }

    static func rawInvoke(_ client: WasmRPCClient, _ bytes: [UInt8]) async -> RPCError.Code? {
        await statusCode {
            try await client.invoker.invoke(
                request: ClientRequest(message: Wasmrpc_V1_InvokeRequest()), serializer: RawBytes(bytes: bytes),
                deserializer: ProtobufDeserializer<Wasmrpc_V1_InvokeResponse>())
        }
    }

    static func rawGet(_ client: WasmRPCClient, _ bytes: [UInt8]) async -> RPCError.Code? {
        await statusCode {
            try await client.registry.get(
                request: ClientRequest(message: Wasmrpc_V1_GetRequest()), serializer: RawBytes(bytes: bytes),
                deserializer: ProtobufDeserializer<Wasmrpc_V1_GetResponse>())
        }
    }

    @Test func garbageInEveryMethodIsInvalidArgument() async throws {
        try await withServer { client in
            let add: [UInt8] = try Wasmrpc_V1_AddRequest.with {
                $0.wasm = Data(complexWasm)
                $0.descriptor = complexDescriptor
            }.serializedBytes()
            for bytes in Self.garbage(from: add) {
                #expect(await Self.rawAdd(client, bytes) == .invalidArgument, "Add \(bytes.prefix(8))")
                #expect(await Self.rawInvoke(client, bytes) == .invalidArgument, "Invoke \(bytes.prefix(8))")
                #expect(await Self.rawGet(client, bytes) == .invalidArgument, "Get \(bytes.prefix(8))")
            }
            let listed = try await client.list()
            #expect(listed.isEmpty)
        }
    }

    /// A length-delimited field: tag, length, bytes.
    static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count < 128)
        return [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    @Test func garbageInsideNestedFieldsIsInvalidArgument() async throws {
        try await withServer { client in
            let id = try #require(ModuleID(hex: try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor).metadata.id))
            // complex.ComplexRequest { Complex a = 1; Complex b = 2 }, Complex { float real = 1; float imag = 2 }:
            // the outer message is well formed, the damage is one level down.
            let nested: [[UInt8]] = [
                Self.field(1, [0xFF, 0xFF, 0xFF]),  // an unterminated varint tag inside `a`
                [0x0A, 0x08, 0x0D, 0x00],  // `a` claims 8 bytes, 2 follow
                Self.field(1, [0x0D, 0x00, 0x00]),  // `a.real` cut short (fixed32 needs 4 bytes)
                Self.field(1, [0x0B]),  // `a` holds a start-group tag with no end
                Self.field(2, [0x0F, 0x00]),  // wire type 7 inside `b`
                Self.field(1, [0x00, 0x00]),  // field number 0 inside `a`
            ]
            for bytes in nested {
                let code = await statusCode {
                    try await client.invoke(id, function: "mul", parameters: .with { $0.value = Data(bytes) })
                }
                #expect(code == .invalidArgument, "\(bytes)")
            }
            // The same inside the wire API's own nested messages: the FileDescriptorSet of an Add, the
            // Any of an Invoke. The server's decoder refuses the whole request.
            let addRequests: [[UInt8]] = [
                Self.field(1, [0x00, 0x61, 0x73, 0x6D]) + Self.field(2, Self.field(1, [0x0A, 0x7F])),  // a file claiming 127 bytes
                Self.field(2, Self.field(1, Self.field(4, [0xFF, 0xFF]))),  // garbage in a message_type
            ]
            for bytes in addRequests {
                #expect(await Self.rawAdd(client, bytes) == .invalidArgument, "Add \(bytes)")
            }
            let metadata = Self.field(1, Self.field(1, Array(id.hex.utf8)))
            let invokeRequests: [[UInt8]] = [
                metadata + Self.field(2, Self.field(1, Array("mul".utf8)) + Self.field(2, [0x0A, 0x7F])),  // Any.type_url cut short
                // A well-formed Any whose value is not a ComplexRequest (the runtime's decoder refuses it).
                metadata + Self.field(2, Self.field(1, Array("mul".utf8)) + Self.field(2, Self.field(2, [0x0A, 0x05, 0x01]))),
                metadata + Self.field(2, [0x12, 0x03, 0xFF, 0xFF, 0xFF]),  // garbage as the FunctionRequest's Any
            ]
            for bytes in invokeRequests {
                #expect(await Self.rawInvoke(client, bytes) == .invalidArgument, "Invoke \(bytes)")
            }
            let listed = try await client.list()
            #expect(listed.count == 1)
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
