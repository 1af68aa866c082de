import Client
import Foundation
import GRPCCore
import GeneratedTestProtos
import Server
import SwiftProtobuf
import TestSupport
import Testing
import WasmRPCCore
import WasmRPCProto

/// The `wasmrpc-idempotency-key` header on every gRPC door (Invoke, native routes; both
/// transports): a retry with the key answers the first call, marked by `wasmrpc-idempotent-replay`;
/// a malformed key, a key reused for another request, and a key on a bidirectional stream are
/// refused.
@Suite(.timeLimit(.minutes(10))) struct IdempotencyHeaderTests {
    static func add(_ name: String, by: Int64 = 1) throws -> [UInt8] {
        try Counter_AddRequest.with { $0.name = name; $0.by = by }.serializedBytes()
    }

    func withCounter(transport: TestTransport, _ body: (WasmRPCClient, ModuleID) async throws -> Void) async throws {
        try await withServer(configure: StateServiceTests.patientGuests, transport: transport) { client in
            let id = try #require(
                ModuleID(hex: try await client.add(wasm: StateServiceTests.counterWasm, descriptorSet: StateServiceTests.counterDescriptor).metadata.id))
            try await body(client, id)
        }
    }

    @Test(arguments: TestTransport.allCases) func aNativeRetryWithTheKeyAnswersTheFirstCall(transport: TestTransport) async throws {
        try await withCounter(transport: transport) { client, id in
            let key = IdempotencyKey("native-1")
            let first = try await client.call("counter.Counter/Add", message: try Self.add("a", by: 4), module: id, idempotencyKey: key)
            let again = try await client.call("counter.Counter/Add", message: try Self.add("a", by: 4), module: id, idempotencyKey: key)
            #expect(try Counter_Value(serializedBytes: again.message).value == 4 && again.message == first.message)
            #expect(first.metadata[stringValues: Wire.replayedHeader].first(where: { _ in true }) == nil)
            #expect(again.metadata[stringValues: Wire.replayedHeader].first(where: { _ in true }) == "true")
            let transaction = first.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true })
            #expect(transaction != nil && again.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true }) == transaction)
            let other = await statusCode {
                try await client.call("counter.Counter/Add", message: try Self.add("a", by: 5), module: id, idempotencyKey: key)
            }
            #expect(other == .failedPrecondition)
            let value = try await client.call("counter.Counter/Get", message: try Counter_Name.with { $0.name = "a" }.serializedBytes(), module: id)
            #expect(try Counter_Value(serializedBytes: value.message).value == 4)
        }
    }

    @Test(arguments: TestTransport.allCases) func anInvokeRetryWithTheKeyAnswersTheFirstCall(transport: TestTransport) async throws {
        try await withCounter(transport: transport) { client, id in
            let key = IdempotencyKey("invoke-1")
            let parameters = Google_Protobuf_Any.with { $0.value = Data(try! Self.add("b", by: 2)) }
            let first = try await client.invokeAnswer(id, function: "Add", parameters: parameters, idempotencyKey: key)
            let again = try await client.invokeAnswer(id, function: "Add", parameters: parameters, idempotencyKey: key)
            #expect(!first.replayed && again.replayed)
            #expect(again.response == first.response)
            #expect(again.response.transaction.id == first.response.transaction.id && !first.response.transaction.id.isEmpty)
            let unkeyed = try await client.invokeAnswer(id, function: "Add", parameters: parameters)
            #expect(!unkeyed.replayed)
            #expect(try Counter_Value(serializedBytes: unkeyed.response.response.result.value).value == 4)
        }
    }

    @Test(arguments: TestTransport.allCases) func malformedKeysAreRefusedBeforeTheCallRuns(transport: TestTransport) async throws {
        try await withCounter(transport: transport) { client, id in
            for text in ["has space", String(repeating: "k", count: 129), "é"] {
                let metadata: Metadata = [Wire.idempotencyKeyHeader: "\(text)", Wire.moduleIDHeader: "\(id.hex)"]
                let native = await statusCode {
                    try await client.grpc.unary(
                        request: ClientRequest(message: try Self.add("c"), metadata: metadata),
                        descriptor: GRPCCore.MethodDescriptor(fullyQualifiedService: "counter.Counter", method: "Add"), serializer: RawBytesCoder(),
                        deserializer: RawBytesCoder(), options: .defaults) { try $0.message }
                }
                #expect(native == .invalidArgument, "\(text)")
                let invoke = await statusCode {
                    try await client.invoker.invoke(
                        .with {
                            $0.metadata.id = id.hex
                            $0.request.name = "Add"
                            $0.request.parameters.value = Data(try! Self.add("c"))
                        }, metadata: metadata)
                }
                #expect(invoke == .invalidArgument, "\(text)")
            }
            let value = try await client.call("counter.Counter/Get", message: try Counter_Name.with { $0.name = "c" }.serializedBytes(), module: id)
            #expect(try Counter_Value(serializedBytes: value.message).value == 0)
        }
    }

    @Test(arguments: TestTransport.allCases) func aKeyOnAStreamOfCallsIsRefused(transport: TestTransport) async throws {
        try await withCounter(transport: transport) { client, id in
            let code = await statusCode {
                try await client.invoker.invokeStream(
                    metadata: [Wire.idempotencyKeyHeader: "stream-1"],
                    requestProducer: { writer in
                        try await writer.write(
                            .with {
                                $0.metadata.id = id.hex
                                $0.request.name = "Add"
                                $0.request.parameters.value = Data(try! Self.add("d"))
                            })
                    },
                    onResponse: { response in for try await _ in response.messages {} })
            }
            #expect(code == .invalidArgument)
        }
    }
}
