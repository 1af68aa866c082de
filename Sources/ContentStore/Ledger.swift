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

    public init(
        module: ModuleID, method: String, input: [UInt8], output: [UInt8], reads: Wasmrpc_V1_ReadSet, writes: [StateWrite],
        timeNanoseconds: Int64, nonce: [UInt8]
    ) {
        self.module = module
        self.method = method
        self.input = input
        self.output = output
        self.reads = reads
        self.writes = writes
        self.timeNanoseconds = timeNanoseconds
        self.nonce = nonce
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
}

extension ContentStore {
    /// Commits `batch` in order, in one storage transaction with one new checkpoint: each
    /// transaction whose reads still hold — against the committed state with the batch's earlier
    /// transactions applied — is applied, numbered, recorded and appended to the log; the others
    /// are conflicts. (Optimistic concurrency: whatever process or replica ran a call, it commits
    /// only if what it read is still so, and the engine's transactions are serializable, so the
    /// log's order is a serial order of the calls.) A module whose state would grow past
    /// `maxStateBytes` refuses the transaction.
    public func commit(_ batch: [PendingTransaction], maxStateBytes: Int64) async throws(ContentStoreError) -> [TransactionOutcome] {
        guard !batch.isEmpty else { return [] }
        // The cached values of what it wrote go before anyone learns of the commit; after a failure,
        // all of the batch's modules' (it may have committed all the same).
        let committed: (outcomes: [TransactionOutcome], written: [ModuleID: [[UInt8]]])
        do {
            committed = try await commitInTransaction(batch, maxStateBytes: maxStateBytes)
        } catch {
            stateCache?.forget(Set(batch.map(\.module)))
            throw error
        }
        stateCache?.committed(committed.written)
        return committed.outcomes
    }

    private func commitInTransaction(_ batch: [PendingTransaction], maxStateBytes: Int64) async throws(ContentStoreError)
        -> (outcomes: [TransactionOutcome], written: [ModuleID: [[UInt8]]])
    {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.transaction { [log] transaction throws(ContentStoreError) in
                var overlays: [ModuleID: StateOverlay] = [:]
                var usages: [ModuleID: StateUsage] = [:]
                var sequences: [ModuleID: Int64] = [:]
                var accepted: [TransactionRecord] = []
                // Committed ones are nil until the batch's checkpoint is signed.
                var outcomes: [TransactionOutcome?] = []
                let firstLeaf = try await transaction.logSize()
                for pending in batch {
                    let module = pending.module
                    let overlay = overlays[module] ?? [:]
                    var current: [[UInt8]: [UInt8]?] = [:]
                    var missing: [[UInt8]] = []
                    for key in pending.reads.keys.map({ Array($0.key) }) + pending.writes.map(\.key) {
                        if let written = overlay[key] {
                            current[key] = .some(written)
                        } else if current[key] == nil {
                            current[key] = .some(nil)
                            missing.append(key)
                        }
                    }
                    for (key, value) in zip(missing, try await transaction.stateValues(module, keys: missing)) {
                        current[key] = .some(value)
                    }
                    if let conflict = try await Self.conflict(pending, current: current, overlay: overlay, transaction) {
                        outcomes.append(.conflict(conflict))
                        continue
                    }
                    let usage: StateUsage
                    if let known = usages[module] { usage = known } else { usage = try await transaction.stateUsage(module) }
                    let after = usage.applying(pending.writes, before: pending.writes.map { current[$0.key] ?? nil })
                    if after.bytes > maxStateBytes, after.bytes > usage.bytes {
                        outcomes.append(
                            .refused(
                                ContentStoreError(
                                    .limitExceeded,
                                    "the transaction would grow module \(module)'s state to \(after.bytes) bytes, over the limit of \(maxStateBytes)")))
                        continue
                    }
                    let previous: Int64
                    if let known = sequences[module] { previous = known } else { previous = try await transaction.lastTransactionSequence(of: module) }
                    let sequence = previous + 1
                    let record = TransactionRecord(
                        module: module, sequence: sequence, method: pending.method, input: pending.input, output: pending.output,
                        readSet: PendingTransaction.readSet(pending.reads), writeSet: pending.writeSet, timeNanoseconds: pending.timeNanoseconds,
                        nonce: pending.nonce, leafIndex: firstLeaf + Int64(accepted.count))
                    overlays[module] = overlay.merging(pending.writes.overlay) { _, later in later }
                    usages[module] = after
                    sequences[module] = sequence
                    accepted.append(record)
                    outcomes.append(nil)
                }
                guard !accepted.isEmpty else { return (outcomes.compactMap { $0 }, [:]) }
                for (module, overlay) in overlays {
                    try await transaction.writeState(module, overlay.writes, usage: usages[module] ?? StateUsage())
                }
                try await transaction.append(accepted.map(\.logEntry.bytes))
                try await transaction.insert(accepted)
                let size = firstLeaf + Int64(accepted.count)
                let note = try await transaction.signCheckpoint(size: size, log)
                var committed = accepted.makeIterator()
                return (
                    outcomes.map { $0 ?? .committed(committed.next()!, treeSize: size, checkpoint: note) },
                    overlays.mapValues { Array($0.keys) }
                )
            }
        }
    }

    /// Why `pending`'s reads no longer hold, or nil if they do. `current` has the value now (or
    /// nil) of every key it read; range reads are read again through `overlay`.
    private static func conflict(
        _ pending: PendingTransaction, current: [[UInt8]: [UInt8]?], overlay: StateOverlay, _ transaction: any StorageTransaction
    ) async throws(ContentStoreError) -> String? {
        for read in pending.reads.keys where !read.matches(current[Array(read.key)] ?? nil) {
            return "key 0x\(Hex.lowercase(read.key.prefix(64))) changed after the call read it"
        }
        for range in pending.reads.ranges {
            let (start, end) = (Array(range.startKey), Array(range.endKey))
            let now = try await StateView.range(start: start, end: end, limit: Int(range.limit), overlay: overlay) {
                (limit) async throws(ContentStoreError) in
                try await transaction.stateRange(pending.module, start: start, end: end, limit: limit)
            }
            if !range.matches(now) { return "the range from 0x\(Hex.lowercase(start.prefix(64))) changed after the call read it" }
        }
        return nil
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
