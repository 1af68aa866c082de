import Foundation
import SwiftProtobuf
import Testing
import WasmRPCProto
import WasmRPCGRPC

/// The generated wire API (proto/wasmrpc/v1) matches what DESIGN.md and the clients expect.
@Suite(.timeLimit(.minutes(10))) struct WireAPITests {
    @Test func methodPathsAreTheSeeds() {
        #expect(Wasmrpc_V1_Registry.Method.Add.descriptor.fullyQualifiedMethod == "wasmrpc.v1.Registry/Add")
        #expect(Wasmrpc_V1_Registry.Method.Get.descriptor.fullyQualifiedMethod == "wasmrpc.v1.Registry/Get")
        #expect(Wasmrpc_V1_Registry.Method.List.descriptor.fullyQualifiedMethod == "wasmrpc.v1.Registry/List")
        #expect(Wasmrpc_V1_Invoker.Method.Invoke.descriptor.fullyQualifiedMethod == "wasmrpc.v1.Invoker/Invoke")
        #expect(Wasmrpc_V1_Invoker.Method.InvokeStream.descriptor.fullyQualifiedMethod == "wasmrpc.v1.Invoker/InvokeStream")
    }

    @Test func invokeRequestCarriesAnAnyAndRoundTrips() throws {
        var request = Wasmrpc_V1_InvokeRequest()
        request.metadata.id = String(repeating: "ab", count: 32)
        request.request.name = "complex.Calculator/mul"
        request.request.parameters.typeURL = "type.googleapis.com/complex.ComplexRequest"
        request.request.parameters.value = Data([0x0A, 0x00])
        let bytes: [UInt8] = try request.serializedBytes()
        let decoded = try Wasmrpc_V1_InvokeRequest(serializedBytes: bytes)
        #expect(decoded == request)
        // Field numbers are part of the contract with existing clients.
        #expect(bytes.starts(with: [0x0A]))  // metadata = 1
    }
}
