import ContentStore
import DynamicProto
import ModuleRuntime
import Foundation
import SwiftProtobuf
import WasmRPCProto

extension Wasmrpc_V1_Metadata {
    /// The wire form of a stored module; the descriptor set is included only when asked for.
    init(record: ModuleRecord, interface: ModuleInterface, includeDescriptor: Bool) throws {
        self.init()
        id = record.id.hex
        name = record.name
        size = UInt64(record.size)
        added = Google_Protobuf_Timestamp(
            seconds: record.addedMilliseconds / 1000, nanos: Int32(record.addedMilliseconds % 1000) * 1_000_000)
        functions = interface.functions.map { Wasmrpc_V1_Function(method: $0, pool: interface.pool) }
        if includeDescriptor {
            descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: interface.descriptorSet)
        }
    }
}

extension Wasmrpc_V1_Function {
    init(method: MethodDescriptor, pool: DescriptorPool) {
        self.init()
        name = method.name
        service = String(method.path.dropFirst().prefix { $0 != "/" })
        path = method.path
        inputType = pool[method.input].fullName
        outputType = pool[method.output].fullName
        clientStreaming = method.clientStreaming
        serverStreaming = method.serverStreaming
    }
}

extension Wasmrpc_V1_LogReceipt {
    init(_ receipt: LogReceipt) {
        self.init()
        leafIndex = UInt64(receipt.leafIndex)
        leaf = Data(receipt.leaf)
        treeSize = UInt64(receipt.treeSize)
        inclusionProof = receipt.inclusionProof.map { Data($0) }
        checkpoint = receipt.checkpoint
    }
}
