import CallCore
import GRPCCore
import WasmRPCGRPC
import WasmRPCProto

/// `wasmrpc.v1.Registry`, `Log` and `State`: each method is the core's operation of the same
/// name, its errors as gRPC statuses (access and the log line are `CallInterceptor`'s).
struct RegistryService: Wasmrpc_V1_Registry.SimpleServiceProtocol {
    let core: CallCore

    func add(request: Wasmrpc_V1_AddRequest, context: ServerContext) async throws -> Wasmrpc_V1_AddResponse {
        try await mappingToRPCErrors { try await core.add(request) }
    }

    func get(request: Wasmrpc_V1_GetRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetResponse {
        try await mappingToRPCErrors { try await core.get(request) }
    }

    func list(request: Wasmrpc_V1_ListRequest, context: ServerContext) async throws -> Wasmrpc_V1_ListResponse {
        try await mappingToRPCErrors { try await core.list(request) }
    }
}

struct LogService: Wasmrpc_V1_Log.SimpleServiceProtocol {
    let core: CallCore

    func getCheckpoint(request: Wasmrpc_V1_GetCheckpointRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetCheckpointResponse {
        try await mappingToRPCErrors { try await core.getCheckpoint(request) }
    }

    func getInclusionProof(request: Wasmrpc_V1_GetInclusionProofRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetInclusionProofResponse
    {
        try await mappingToRPCErrors { try await core.getInclusionProof(request) }
    }

    func getConsistencyProof(request: Wasmrpc_V1_GetConsistencyProofRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetConsistencyProofResponse
    {
        try await mappingToRPCErrors { try await core.getConsistencyProof(request) }
    }

    func getEntries(request: Wasmrpc_V1_GetEntriesRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetEntriesResponse {
        try await mappingToRPCErrors { try await core.getEntries(request) }
    }
}

struct StateService: Wasmrpc_V1_State.SimpleServiceProtocol {
    let core: CallCore

    func get(request: Wasmrpc_V1_GetStateRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetStateResponse {
        try await mappingToRPCErrors { try await core.getState(request) }
    }

    func range(request: Wasmrpc_V1_RangeStateRequest, context: ServerContext) async throws -> Wasmrpc_V1_RangeStateResponse {
        try await mappingToRPCErrors { try await core.rangeState(request) }
    }

    func getTransaction(request: Wasmrpc_V1_GetTransactionRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetTransactionResponse
    {
        try await mappingToRPCErrors { try await core.getTransaction(request) }
    }

    func listTransactions(request: Wasmrpc_V1_ListTransactionsRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_ListTransactionsResponse
    {
        try await mappingToRPCErrors { try await core.listTransactions(request) }
    }
}
