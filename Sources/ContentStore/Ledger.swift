import Crypto
import Foundation
import SwiftProtobuf
import TransparencyLog
import WasmRPCCore
import WasmRPCProto

/// A call's effect on its module's state, waiting to be committed (docs/CHAINCODE.md).
public struct PendingTransaction: Sendable {
    public var module: ModuleID
    /// `/package.Service/Method`.
    public var method: String
    public var input: [UInt8]
    public var output: [UInt8]
    /// What it read of committed state.
    public var reads: Wasmrpc_V1_ReadSet
    /// Its last write of each key, in key order.
    public var writes: [StateWrite]
    public var timeNanoseconds: Int64
    public var nonce: [UInt8]
    /// The client's idempotency key: the transaction commits only if no transaction of the module
    /// holds the key yet.
    public var idempotencyKey: IdempotencyKey?
    /// The server that ran it (`ModuleClaim.owner`): while another server's claim on the module
    /// is in force, it is a conflict.
    public var origin: String?

    public init(
        module: ModuleID, method: String, input: [UInt8], output: [UInt8], reads: Wasmrpc_V1_ReadSet, writes: [StateWrite],
        timeNanoseconds: Int64, nonce: [UInt8], idempotencyKey: IdempotencyKey? = nil, origin: String? = nil
    ) {
        self.module = module
        self.method = method
        self.input = input
        self.output = output
        self.reads = reads
        self.writes = writes
        self.timeNanoseconds = timeNanoseconds
        self.nonce = nonce
        self.idempotencyKey = idempotencyKey
        self.origin = origin
    }

    /// The serialized write set (`wasmrpc.v1.WriteSet`).
    public var writeSet: [UInt8] { Self.writeSet(writes) }

    /// The serialized read set: the bytes a record keeps and its leaf's `reads` digest covers.
    public static func readSet(_ reads: Wasmrpc_V1_ReadSet) -> [UInt8] { serialized(reads) }

    public static func writeSet(_ writes: [StateWrite]) -> [UInt8] {
        var set = Wasmrpc_V1_WriteSet()
        set.writes = writes.map { write in
            var entry = Wasmrpc_V1_KeyWrite()
            entry.key = Data(write.key)
            if let value = write.value { entry.value = Data(value) } else { entry.deleted = true }
            return entry
        }
        return serialized(set)
    }
}

/// What became of a pending transaction.
public enum TransactionOutcome: Sendable {
    /// Committed, in the tree of `treeSize` leaves that `checkpoint` (a signed note) signs.
    case committed(TransactionRecord, treeSize: Int64, checkpoint: String)
    /// Something it read changed before it could commit: the call must run again.
    case conflict(String)
    /// It cannot be committed as it is (say, the module's state would exceed its limit).
    case refused(ContentStoreError)
    /// Its idempotency key names this transaction already (committed by an earlier call with the
    /// key): it was not committed.
    case duplicate(TransactionRecord)
}

extension ContentStore {
    /// Commits `batch` in order, in one storage transaction with one new checkpoint: each
    /// transaction whose reads still hold — against the committed state with the batch's earlier
    /// transactions applied — is applied, numbered, recorded and appended to the log; the others
    /// are conflicts. (Optimistic concurrency: whatever process or replica ran a call, it commits
    /// only if what it read is still so, and the engine's transactions are serializable, so the
    /// log's order is a serial order of the calls.) A module whose state would grow past
    /// `maxStateBytes` refuses the transaction. A transaction with an idempotency key that a
    /// transaction of its module recorded within `idempotencyRetention` (or one earlier in the
    /// batch) is a duplicate of that one, whatever it read; the key of each committed one is
    /// recorded with it, and keys older than the retention are forgotten now and then. While a
    /// module is claimed (`ModuleClaim`), its transactions that another server ran are conflicts.
    public func commit(
        _ batch: [PendingTransaction], maxStateBytes: Int64, idempotencyRetention: Duration = IdempotencyRecord.defaultRetention
    ) async throws(ContentStoreError)
        -> [TransactionOutcome]
    {
        guard !batch.isEmpty else { return [] }
        // The cached values of what it wrote go before anyone learns of the commit; after a failure,
        // all of the batch's modules' (it may have committed all the same).
        let committed: (outcomes: [TransactionOutcome], written: [ModuleID: [[UInt8]]])
        do {
            let now = Self.nowMilliseconds()
            let prune = idempotencyPruning.due(at: now)
            let shared = engine.isShared
            committed = try await onEngine { () async throws(ContentStoreError) in
                try await engine.transaction { [log] transaction throws(ContentStoreError) in
                    var commit = BatchCommit(
                        transaction, now: now, keysSince: now - idempotencyRetention.milliseconds, maxStateBytes: maxStateBytes,
                        claims: shared ? try await transaction.claims(of: Set(batch.map(\.module))) : [:])
                    for pending in batch { try await commit.consider(pending) }
                    if prune {
                        let limit = IdempotencyPruning.batch
                        idempotencyPruning.forgot(try await transaction.forgetIdempotencyKeys(before: commit.keysSince, limit: limit), of: limit)
                    }
                    return try await commit.finish(log)
                }
            }
        } catch {
            stateCache?.forget(Set(batch.map(\.module)))
            throw error
        }
        stateCache?.committed(committed.written)
        return committed.outcomes
    }

    /// What became of `batch` after `commit` failed with `failure`, which may have come after the
    /// engine committed it (the database's answer to COMMIT was lost, say): looked up in a write
    /// transaction of its own, which begins only once the failed one has ended either way. A
    /// transaction found by its nonce committed (answered against the newest checkpoint); one not
    /// found did not, and is a conflict, so that its call runs again. Throws `outcomeUnknown`
    /// when the store cannot be asked either.
    public func resolve(_ batch: [PendingTransaction], after failure: ContentStoreError) async throws(ContentStoreError)
        -> [TransactionOutcome]
    {
        do {
            return try await onEngine { () async throws(ContentStoreError) in
                try await engine.transaction { transaction throws(ContentStoreError) in
                    guard let (size, note) = try await transaction.latestCheckpoint() else {
                        throw ContentStoreError(.dataLoss, "the log has no checkpoint")
                    }
                    var outcomes: [TransactionOutcome] = []
                    for pending in batch {
                        if let record = try await transaction.transaction(of: pending.module, nonce: pending.nonce) {
                            outcomes.append(.committed(record, treeSize: size, checkpoint: note))
                        } else {
                            outcomes.append(.conflict("the commit failed (\(failure.message)), and this transaction is not in the ledger"))
                        }
                    }
                    return outcomes
                }
            }
        } catch {
            throw ContentStoreError(
                .outcomeUnknown,
                "the store failed during the commit (\(failure.message)) and then could not tell whether it happened (\(error.message)); "
                    + "the same call with the same idempotency key finds out")
        }
    }

    /// The SHA-256 of a value as a read set records it; empty for no value.
    public static func valueDigest(_ value: [UInt8]?) -> [UInt8] {
        value.map { Array(SHA256.hash(data: $0)) } ?? []
    }

    // MARK: - Reading state and transactions

    /// The value of `key` in module `module`'s committed state.
    public func stateValue(_ module: ModuleID, key: [UInt8]) async throws(ContentStoreError) -> [UInt8]? {
        try await onEngine { () async throws(ContentStoreError) in try await engine.reads.stateValues(module, keys: [key])[0] }
    }

    /// The first `limit` entries of `start..<end` (empty `end`: no bound) of module `module`'s
    /// committed state.
    public func stateRange(_ module: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.stateRange(module, start: start, end: end, limit: limit)
        }
    }

    /// The transaction with this id, or nil.
    public func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? {
        try await onEngine { () async throws(ContentStoreError) in try await engine.reads.transaction(id: id) }
    }

    /// A page of module `module`'s transactions after `sequence` (`StorageReads.transactions`).
    public func transactions(of module: ModuleID, after sequence: Int64, limit: Int = 100, maxBytes: Int = 4 << 20)
        async throws(ContentStoreError) -> [TransactionRecord]
    {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.transactions(of: module, after: sequence, limit: max(1, min(limit, 1000)), maxBytes: maxBytes)
        }
    }

    /// The sequence number of module `module`'s last transaction (0: none).
    public func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        try await onEngine { () async throws(ContentStoreError) in try await engine.reads.lastTransactionSequence(of: module) }
    }

    /// Whether module `module` has state or transactions.
    public func hasState(_ module: ModuleID) async throws(ContentStoreError) -> Bool {
        try await onEngine { () async throws(ContentStoreError) in
            let reads = engine.reads
            if try await reads.lastTransactionSequence(of: module) > 0 { return true }
            return try await reads.stateUsage(module).keys > 0
        }
    }

    /// The receipt of a transaction's leaf against the newest checkpoint.
    public func receipt(for record: TransactionRecord) async throws(ContentStoreError) -> LogReceipt {
        try await receipt(leafIndex: record.leafIndex, of: "transaction \(record.id)")
    }

    /// The receipt of a transaction just committed, against the checkpoint its commit signed (one
    /// read: the inclusion proof).
    public func receipt(for record: TransactionRecord, treeSize: Int64, checkpoint: String) async throws(ContentStoreError) -> LogReceipt {
        LogReceipt(
            leafIndex: record.leafIndex, leaf: record.logEntry.bytes, treeSize: treeSize,
            inclusionProof: try await inclusionProof(index: record.leafIndex, size: treeSize), checkpoint: checkpoint)
    }
}

extension Wasmrpc_V1_KeyRead {
    /// A read of `key` that found `value` (nil: no value).
    public init(key: [UInt8], value: [UInt8]?) {
        self.init()
        self.key = Data(key)
        valueSha256 = Data(ContentStore.valueDigest(value))
    }

    /// Whether reading the key again, finding `value`, sees what this read saw.
    public func matches(_ value: [UInt8]?) -> Bool {
        ContentStore.valueDigest(value) == Array(valueSha256)
    }
}

extension Wasmrpc_V1_RangeRead {
    /// A read of the first `limit` entries of `start..<end` that found `entries`.
    public init(start: [UInt8], end: [UInt8], limit: Int, entries: [StateEntry]) {
        self.init()
        startKey = Data(start)
        endKey = Data(end)
        self.limit = UInt32(limit)
        self.entries = entries.map { Wasmrpc_V1_KeyRead(key: $0.key, value: $0.value) }
    }

    /// Whether reading the range again, finding `entries`, sees what this read saw.
    public func matches(_ entries: [StateEntry]) -> Bool {
        entries.count == self.entries.count && zip(entries, self.entries).allSatisfy { $0.key == Array($1.key) && $1.matches($0.value) }
    }
}

/// `message`'s deterministic protobuf encoding (fields in number order, defaults left out).
func serialized(_ message: some SwiftProtobuf.Message) -> [UInt8] {
    // Encoding a message made in memory cannot fail.
    (try? message.serializedBytes()) ?? []
}
