import ContentStore
import Foundation
import ModuleRuntime
import SwiftProtobuf
import WasmRPCCore
import WasmRPCProto

/// Add, Get and List, in `wasmrpc.v1` messages: the gRPC `Registry` service answers with them as
/// they are, the HTTP API turns them into its JSON.
extension CallCore {
    /// List pages: `page_size` 0 means this many; larger sizes are capped at `maxPageSize`.
    public static let defaultPageSize = 100
    public static let maxPageSize = 1000
    /// A page also ends before its modules' names, functions and descriptors pass this many bytes
    /// (but holds at least one module), so that it stays under the 4 MiB that gRPC clients accept by
    /// default. A module whose descriptor alone is larger comes alone.
    public static let maxPageBytes = 3 << 20

    /// Stores a module; its methods are routable, and the directory's observers told, before this
    /// returns.
    public func add(_ request: Wasmrpc_V1_AddRequest) async throws(CallError) -> Wasmrpc_V1_AddResponse {
        try await mappingErrors {
            let descriptorSet: [UInt8]? =
                request.hasDescriptor && !request.descriptor.file.isEmpty
                ? try request.descriptor.serializedBytes() : nil
            let added = try await runtime.add(wasm: Array(request.wasm), descriptorSet: descriptorSet, name: request.name)
            if directory.register(added.record.id, functions: added.record.functions) { directory.changed() }
            metrics.added(created: added.created)
            let receipt = try await runtime.withStore { [record = added.record] store in try await store.receipt(for: record) }
            return try Wasmrpc_V1_AddResponse.with {
                $0.metadata = try Wasmrpc_V1_Metadata(record: added.record, interface: added.interface, includeDescriptor: true)
                $0.created = added.created
                $0.receipt = Wasmrpc_V1_LogReceipt(receipt)
            }
        }
    }

    public func get(_ request: Wasmrpc_V1_GetRequest) async throws(CallError) -> Wasmrpc_V1_GetResponse {
        let id = try ModuleID.parse(request.id)
        return try await mappingErrors {
            let module = try await runtime.module(id)
            let receipt = try await runtime.withStore { [record = module.record] store in try await store.receipt(for: record) }
            return try Wasmrpc_V1_GetResponse.with {
                $0.receipt = Wasmrpc_V1_LogReceipt(receipt)
                $0.metadata = try Wasmrpc_V1_Metadata(record: module.record, interface: module.interface, includeDescriptor: true)
                if !request.metadataOnly { $0.wasm = Data(module.wasm) }
            }
        }
    }

    public func list(_ request: Wasmrpc_V1_ListRequest) async throws(CallError) -> Wasmrpc_V1_ListResponse {
        var after: Int64?
        if !request.pageToken.isEmpty {
            guard let token = Int64(request.pageToken), token > 0 else {
                throw CallError(.invalidArgument, "the page token \(EchoedText.quote(request.pageToken)) did not come from List")
            }
            after = token
        }
        let size = request.pageSize == 0 ? Self.defaultPageSize : min(Int(request.pageSize), Self.maxPageSize)
        return try await mappingErrors {
            let page = try await runtime.list(
                after: after, limit: size, maxBytes: Self.maxPageBytes, includeDescriptors: request.includeDescriptors)
            return try Wasmrpc_V1_ListResponse.with {
                $0.modules = try page.modules.map(Wasmrpc_V1_Metadata.init(summary:))
                $0.nextPageToken = page.next.map(String.init) ?? ""
            }
        }
    }
}
