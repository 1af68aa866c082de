import ContentStore
import DynamicProto
import ModuleRuntime
import Foundation
import SwiftProtobuf
import WasmRPCProto
import WasmRPCCore

extension Wasmrpc_V1_Metadata {
    /// The wire form of a stored module; the descriptor set is included only when asked for.
    public init(record: ModuleRecord, interface: ModuleInterface, includeDescriptor: Bool) throws {
        self.init(
            id: record.id, name: record.name, size: record.size, addedMilliseconds: record.addedMilliseconds,
            signatures: interface.signatures)
        if includeDescriptor {
            descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: interface.descriptorSet)
        }
    }

    /// The wire form of a listed module (its descriptor if the listing read it).
    public init(summary: ModuleSummary) throws {
        self.init(
            id: summary.id, name: summary.name, size: summary.size, addedMilliseconds: summary.addedMilliseconds,
            signatures: summary.signatures ?? [])
        if let set = summary.descriptor {
            descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: set)
        }
    }

    private init(id: ModuleID, name: String, size: Int, addedMilliseconds: Int64, signatures: [FunctionSignature]) {
        self.init()
        self.id = id.hex
        self.name = name
        self.size = UInt64(size)
        added = Google_Protobuf_Timestamp(seconds: addedMilliseconds / 1000, nanos: Int32(addedMilliseconds % 1000) * 1_000_000)
        functions = signatures.map(Wasmrpc_V1_Function.init(signature:))
    }
}

extension Wasmrpc_V1_Function {
    public init(signature: FunctionSignature) {
        self.init()
        let parsed = MethodPath(signature.path)
        service = parsed?.service ?? ""
        name = parsed?.method ?? ""
        path = signature.path
        inputType = signature.input
        outputType = signature.output
        clientStreaming = signature.clientStreaming
        serverStreaming = signature.serverStreaming
    }
}

extension Wasmrpc_V1_LogReceipt {
    public init(_ receipt: LogReceipt) {
        self.init()
        leafIndex = UInt64(receipt.leafIndex)
        leaf = Data(receipt.leaf)
        treeSize = UInt64(receipt.treeSize)
        inclusionProof = receipt.inclusionProof.map { Data($0) }
        checkpoint = receipt.checkpoint
    }
}

extension Wasmrpc_V1_TransactionReceipt {
    public init(_ transaction: CommittedTransaction) {
        self.init()
        id = transaction.record.id
        sequence = UInt64(transaction.record.sequence)
        if let receipt = transaction.receipt { self.receipt = Wasmrpc_V1_LogReceipt(receipt) }
    }
}

extension Wasmrpc_V1_Transaction {
    public init(_ record: TransactionRecord) {
        self.init()
        id = record.id
        moduleID = record.module.hex
        sequence = UInt64(record.sequence)
        method = record.method
        input = Data(record.input)
        output = Data(record.output)
        readSet = Data(record.readSet)
        writeSet = Data(record.writeSet)
        timeUnixNanos = record.timeNanoseconds
        nonce = Data(record.nonce)
        leafIndex = UInt64(record.leafIndex)
    }
}
