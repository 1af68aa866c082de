import ContentStore
import Foundation
import GRPCCore
import ModuleRuntime
import WasmRPCProto
import WasmRPCGRPC

/// `wasmrpc.v1.Log`: checkpoints, proofs and entries of the transparency log.
struct LogService: Wasmrpc_V1_Log.SimpleServiceProtocol {
    let runtime: ModuleRuntime

    static let defaultEntries = 100
    static let maxEntries = 1000

    func getCheckpoint(request: Wasmrpc_V1_GetCheckpointRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetCheckpointResponse
    {
        try await mappingErrors {
            let note = try await runtime.withStore { try await $0.checkpoint().note }
            return .with {
                $0.checkpoint = note
                $0.verifierKey = runtime.store.log.signer.verifier.encoded
            }
        }
    }

    func getInclusionProof(request: Wasmrpc_V1_GetInclusionProofRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetInclusionProofResponse
    {
        try await mappingErrors {
            let leaf: Wasmrpc_V1_GetInclusionProofRequest.OneOf_Leaf? = request.leaf
            let requestedSize = try Self.int64(request.treeSize, "tree_size")
            return try await runtime.withStore { store in
                let index: Int64
                switch leaf {
                case .leafIndex(let value)?: index = try Self.int64(value, "leaf_index")
                case .moduleID(let text)?:
                    let id = try RegistryService.moduleID(text)
                    guard let record = try await store.record(id) else { throw ContentStoreError(.notFound, "no module \(id)") }
                    index = record.leafIndex
                case nil: throw RPCError(code: .invalidArgument, message: "name a leaf_index or a module_id")
                }
                let size = requestedSize == 0 ? try await store.checkpoint().size : requestedSize
                let proof = try await store.inclusionProof(index: index, size: size)
                guard let leaf = try await store.logEntries(start: index, count: 1).first else {
                    throw ContentStoreError(.dataLoss, "the log has no leaf \(index)")
                }
                return .with {
                    $0.leafIndex = UInt64(index)
                    $0.treeSize = UInt64(size)
                    $0.leaf = Data(leaf)
                    $0.hashes = proof.map { Data($0) }
                }
            }
        }
    }

    func getConsistencyProof(request: Wasmrpc_V1_GetConsistencyProofRequest, context: ServerContext) async throws
        -> Wasmrpc_V1_GetConsistencyProofResponse
    {
        try await mappingErrors {
            let first = try Self.int64(request.first, "first")
            let requestedSecond = try Self.int64(request.second, "second")
            return try await runtime.withStore { store in
                let second = requestedSecond == 0 ? try await store.checkpoint().size : requestedSecond
                let proof = try await store.consistencyProof(first: first, second: second)
                let roots = try await store.roots(first, second)
                return .with {
                    $0.first = UInt64(first)
                    $0.second = UInt64(second)
                    $0.hashes = proof.map { Data($0) }
                    $0.firstRoot = Data(roots.0)
                    $0.secondRoot = Data(roots.1)
                }
            }
        }
    }

    func getEntries(request: Wasmrpc_V1_GetEntriesRequest, context: ServerContext) async throws -> Wasmrpc_V1_GetEntriesResponse {
        try await mappingErrors {
            let start = try Self.int64(request.start, "start")
            let count = request.count == 0 ? Self.defaultEntries : min(Int(request.count), Self.maxEntries)
            let leaves = try await runtime.withStore { try await $0.logEntries(start: start, count: count) }
            return .with { $0.leaves = leaves.map { Data($0) } }
        }
    }

    static func int64(_ value: UInt64, _ field: String) throws(RPCError) -> Int64 {
        guard let result = Int64(exactly: value) else { throw RPCError(code: .invalidArgument, message: "\(field) is out of range") }
        return result
    }
}
