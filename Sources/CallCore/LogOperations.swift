import ContentStore
import Foundation
import ModuleRuntime
import WasmRPCCore
import WasmRPCProto

/// Checkpoints, proofs and entries of the transparency log, in `wasmrpc.v1` messages.
extension CallCore {
    public static let defaultLogEntries = 100
    public static let maxLogEntries = 1000

    public func getCheckpoint(_ request: Wasmrpc_V1_GetCheckpointRequest) async throws(CallError) -> Wasmrpc_V1_GetCheckpointResponse {
        try await mappingErrors {
            let note = try await runtime.withStore { try await $0.checkpoint().note }
            return .with {
                $0.checkpoint = note
                $0.verifierKey = runtime.store.log.signer.verifier.encoded
            }
        }
    }

    public func getInclusionProof(_ request: Wasmrpc_V1_GetInclusionProofRequest) async throws(CallError) -> Wasmrpc_V1_GetInclusionProofResponse {
        try await mappingErrors {
            let leaf: Wasmrpc_V1_GetInclusionProofRequest.OneOf_Leaf? = request.leaf
            let requestedSize = try Self.int64(request.treeSize, "tree_size")
            return try await runtime.withStore { store in
                let index: Int64
                switch leaf {
                case .leafIndex(let value)?: index = try Self.int64(value, "leaf_index")
                case .moduleID(let text)?:
                    let id = try ModuleID.parse(text)
                    guard let record = try await store.record(id) else { throw ContentStoreError(.notFound, "no module \(id)") }
                    index = record.leafIndex
                case nil: throw CallError(.invalidArgument, "name a leaf_index or a module_id")
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

    public func getConsistencyProof(_ request: Wasmrpc_V1_GetConsistencyProofRequest) async throws(CallError) -> Wasmrpc_V1_GetConsistencyProofResponse {
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

    public func getEntries(_ request: Wasmrpc_V1_GetEntriesRequest) async throws(CallError) -> Wasmrpc_V1_GetEntriesResponse {
        try await mappingErrors {
            let start = try Self.int64(request.start, "start")
            let count = request.count == 0 ? Self.defaultLogEntries : min(Int(request.count), Self.maxLogEntries)
            let leaves = try await runtime.withStore { try await $0.logEntries(start: start, count: count) }
            return .with { $0.leaves = leaves.map { Data($0) } }
        }
    }

    static func int64(_ value: UInt64, _ field: String) throws(CallError) -> Int64 {
        guard let result = Int64(exactly: value) else { throw CallError(.invalidArgument, "\(field) is out of range") }
        return result
    }
}
