import ContentStore
import Foundation
import ModuleRuntime
import WasmRPCCore
import WasmRPCProto

/// Modules' committed world state and the transactions that made it (docs/CHAINCODE.md), in
/// `wasmrpc.v1` messages.
extension CallCore {
    public static let defaultStatePage = 100
    public static let maxStatePage = 1_000

    public func getState(_ request: Wasmrpc_V1_GetStateRequest) async throws(CallError) -> Wasmrpc_V1_GetStateResponse {
        try await mappingErrors {
            let id = try ModuleID.parse(request.moduleID)
            let value = try await runtime.withStore { store in
                try await Self.requireModule(id, in: store)
                return try await store.stateValue(id, key: Array(request.key))
            }
            return .with {
                if let value {
                    $0.found = true
                    $0.value = Data(value)
                }
            }
        }
    }

    public func rangeState(_ request: Wasmrpc_V1_RangeStateRequest) async throws(CallError) -> Wasmrpc_V1_RangeStateResponse {
        try await mappingErrors {
            let id = try ModuleID.parse(request.moduleID)
            let limit = Self.pageSize(request.pageSize)
            let entries = try await runtime.withStore { store in
                try await Self.requireModule(id, in: store)
                return try await store.stateRange(id, start: Array(request.startKey), end: Array(request.endKey), limit: limit + 1)
            }
            return .with {
                $0.entries = entries.prefix(limit).map { entry in .with { $0.key = Data(entry.key); $0.value = Data(entry.value) } }
                $0.more = entries.count > limit
            }
        }
    }

    public func getTransaction(_ request: Wasmrpc_V1_GetTransactionRequest) async throws(CallError) -> Wasmrpc_V1_GetTransactionResponse {
        try await mappingErrors {
            guard Hex.isLowercase(request.id, count: 64) else {
                throw CallError(.invalidArgument, "a transaction id is 64 lowercase hex digits, not \(EchoedText.quote(request.id))")
            }
            let (record, receipt) = try await runtime.withStore { store in
                guard let record = try await store.transaction(id: request.id) else {
                    throw ContentStoreError(.notFound, "no transaction \(request.id)")
                }
                return (record, try await store.receipt(for: record))
            }
            return .with {
                $0.transaction = Wasmrpc_V1_Transaction(record)
                $0.receipt = Wasmrpc_V1_LogReceipt(receipt)
            }
        }
    }

    public func listTransactions(_ request: Wasmrpc_V1_ListTransactionsRequest) async throws(CallError) -> Wasmrpc_V1_ListTransactionsResponse {
        try await mappingErrors {
            let id = try ModuleID.parse(request.moduleID)
            guard request.afterSequence <= UInt64(Int64.max) else {
                throw CallError(.invalidArgument, "after_sequence \(request.afterSequence) is out of range")
            }
            let limit = Self.pageSize(request.pageSize)
            let (page, last) = try await runtime.withStore { store in
                try await Self.requireModule(id, in: store)
                let page = try await store.transactions(
                    of: id, after: Int64(request.afterSequence), limit: limit, maxBytes: Self.maxPageBytes)
                return (page, try await store.lastTransactionSequence(of: id))
            }
            return .with {
                $0.transactions = page.map(Wasmrpc_V1_Transaction.init)
                $0.more = (page.last?.sequence ?? Int64(request.afterSequence)) < last
            }
        }
    }

    private static func pageSize(_ requested: UInt32) -> Int {
        requested == 0 ? defaultStatePage : min(Int(requested), maxStatePage)
    }

    private static func requireModule(_ id: ModuleID, in store: ContentStore) async throws {
        guard try await store.record(id) != nil else { throw ContentStoreError(.notFound, "no module \(id)") }
    }
}
