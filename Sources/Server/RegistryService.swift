import ContentStore
import Foundation
import GRPCCore
import ModuleRuntime
import SwiftProtobuf
import WasmRPCProto
import WasmRPCCore
import WasmRPCGRPC

/// `wasmrpc.v1.Registry`: Add, Get and List modules.
struct RegistryService: Wasmrpc_V1_Registry.SimpleServiceProtocol {
    let runtime: ModuleRuntime
    /// Add makes the module's methods routable, and tells health watchers, before it answers.
    let directory: ServiceDirectory
    let health: HealthService
    let metrics: ServerMetrics

    /// List pages: `page_size` 0 means this many; larger sizes are capped at `maxPageSize`.
    static let defaultPageSize = 100
    static let maxPageSize = 1000
    /// A page also ends before its modules' names, functions and descriptors pass this many bytes
    /// (but holds at least one module), so that it stays under the 4 MiB that gRPC clients accept by
    /// default. A module whose descriptor alone is larger comes alone.
    static let maxPageBytes = 3 << 20

    func add(request: Wasmrpc_V1_AddRequest, context: ServerContext) async throws -> Wasmrpc_V1_AddResponse {
        try await mappingErrors {
            let descriptorSet: [UInt8]? =
                request.hasDescriptor && !request.descriptor.file.isEmpty
                ? try request.descriptor.serializedBytes() : nil
            let added = try await runtime.add(wasm: Array(request.wasm), descriptorSet: descriptorSet, name: request.name)
            directory.register(added.record.id, functions: added.record.functions)
            health.servicesChanged()
            metrics.added(created: added.created)
            let receipt = try await runtime.withStore { [record = added.record] store in try await store.receipt(for: record) }
            return try Wasmrpc_V1_AddResponse.with {
                $0.metadata = try Wasmrpc_V1_Metadata(record: added.record, interface: added.interface, includeDescriptor: true)
                $0.created = added.created
                $0.receipt = Wasmrpc_V1_LogReceipt(receipt)
            }
        }
    }

    func get(request: Wasmrpc_V1_GetRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetResponse {
        try await mappingErrors {
            let id = try Self.moduleID(request.id)
            let module = try await runtime.module(id)
            let receipt = try await runtime.withStore { [record = module.record] store in try await store.receipt(for: record) }
            return try Wasmrpc_V1_GetResponse.with {
                $0.receipt = Wasmrpc_V1_LogReceipt(receipt)
                $0.metadata = try Wasmrpc_V1_Metadata(record: module.record, interface: module.interface, includeDescriptor: true)
                if !request.metadataOnly { $0.wasm = Data(module.wasm) }
            }
        }
    }

    func list(request: Wasmrpc_V1_ListRequest, context: ServerContext) async throws -> Wasmrpc_V1_ListResponse {
        try await mappingErrors {
            var after: Int64?
            if !request.pageToken.isEmpty {
                guard let token = Int64(request.pageToken), token > 0 else {
                    throw RPCError(code: .invalidArgument, message: "the page token \(EchoedText.quote(request.pageToken)) did not come from List")
                }
                after = token
            }
            let size = request.pageSize == 0 ? Self.defaultPageSize : min(Int(request.pageSize), Self.maxPageSize)
            let page = try await runtime.list(
                after: after, limit: size, maxBytes: Self.maxPageBytes, includeDescriptors: request.includeDescriptors)
            return try Wasmrpc_V1_ListResponse.with {
                $0.modules = try page.modules.map(Wasmrpc_V1_Metadata.init(summary:))
                $0.nextPageToken = page.next.map(String.init) ?? ""
            }
        }
    }

    static func moduleID(_ text: String) throws(RPCError) -> ModuleID {
        guard let id = ModuleID(hex: text) else {
            throw RPCError(
                code: .invalidArgument,
                message: "\(EchoedText.quote(text)) is not a module id (64 lowercase hex digits of the module's SHA-256)")
        }
        return id
    }
}
