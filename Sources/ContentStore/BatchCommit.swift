import TransparencyLog
import WasmRPCCore

/// One batch of transactions being committed inside one storage transaction
/// (`ContentStore.commit`): each pending transaction is considered in order against the
/// committed state with the batch's earlier transactions applied (`consider`), then the accepted
/// ones are written, recorded, appended to the log and signed (`finish`).
struct BatchCommit {
    let transaction: any StorageTransaction
    /// The commit's time, in milliseconds since 1970.
    let now: Int64
    /// Idempotency keys recorded before this do not count.
    let keysSince: Int64
    let maxStateBytes: Int64
    /// The owners of the claims in force on the batch's modules.
    let claims: [ModuleID: String]

    private var overlays: [ModuleID: StateOverlay] = [:]
    private var usages: [ModuleID: StateUsage] = [:]
    private var sequences: [ModuleID: Int64] = [:]
    private var accepted: [TransactionRecord] = []
    /// What became of each transaction considered.
    private var outcomes: [Decided] = []
    /// The idempotency keys of the accepted ones.
    private var keys: [IdempotencyRecord] = []
    private var keyed: [ModuleKey: TransactionRecord] = [:]
    private var firstLeaf: Int64?

    private enum Decided {
        case decided(TransactionOutcome)
        /// Accepted: `accepted[index]`, committed once `finish` signs.
        case accepted(index: Int)
    }

    private struct ModuleKey: Hashable {
        let module: ModuleID
        let key: IdempotencyKey
    }

    init(_ transaction: any StorageTransaction, now: Int64, keysSince: Int64, maxStateBytes: Int64, claims: [ModuleID: String]) {
        self.transaction = transaction
        self.now = now
        self.keysSince = keysSince
        self.maxStateBytes = maxStateBytes
        self.claims = claims
    }

    /// Decides `pending`'s outcome: a duplicate of the transaction its idempotency key names, a
    /// conflict (another server's claim on the module, or what it read changed), refused (over the
    /// state limit), or accepted.
    mutating func consider(_ pending: PendingTransaction) async throws(ContentStoreError) {
        let module = pending.module
        if firstLeaf == nil { firstLeaf = try await transaction.logSize() }
        if let key = pending.idempotencyKey {
            let earlier: TransactionRecord?
            if let inBatch = keyed[ModuleKey(module: module, key: key)] {
                earlier = inBatch
            } else {
                earlier = try await transaction.transaction(of: module, idempotencyKey: key, since: keysSince)
            }
            if let earlier { return outcomes.append(.decided(.duplicate(earlier))) }
        }
        if let owner = claims[module], owner != pending.origin {
            return outcomes.append(.decided(.conflict("another server, whose calls of the module conflicted repeatedly, has it to itself for a moment")))
        }
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
            return outcomes.append(.decided(.conflict(conflict)))
        }
        let usage: StateUsage
        if let known = usages[module] { usage = known } else { usage = try await transaction.stateUsage(module) }
        let after = usage.applying(pending.writes, before: pending.writes.map { current[$0.key] ?? nil })
        if after.bytes > maxStateBytes, after.bytes > usage.bytes {
            let error = ContentStoreError(
                .limitExceeded, "the transaction would grow module \(module)'s state to \(after.bytes) bytes, over the limit of \(maxStateBytes)")
            return outcomes.append(.decided(.refused(error)))
        }
        let previous: Int64
        if let known = sequences[module] { previous = known } else { previous = try await transaction.lastTransactionSequence(of: module) }
        let record = TransactionRecord(
            module: module, sequence: previous + 1, method: pending.method, input: pending.input, output: pending.output,
            readSet: PendingTransaction.readSet(pending.reads), writeSet: pending.writeSet, timeNanoseconds: pending.timeNanoseconds,
            nonce: pending.nonce, leafIndex: (firstLeaf ?? 0) + Int64(accepted.count))
        overlays[module] = overlay.merging(pending.writes.overlay) { _, later in later }
        usages[module] = after
        sequences[module] = record.sequence
        outcomes.append(.accepted(index: accepted.count))
        accepted.append(record)
        if let key = pending.idempotencyKey {
            keyed[ModuleKey(module: module, key: key)] = record
            keys.append(IdempotencyRecord(module: module, key: key, transaction: record.id, timeMilliseconds: now))
        }
    }

    /// Writes what was accepted and signs the new checkpoint; returns every outcome in order and
    /// the keys written per module.
    func finish(_ log: LogIdentity) async throws(ContentStoreError) -> (outcomes: [TransactionOutcome], written: [ModuleID: [[UInt8]]]) {
        guard let firstLeaf, !accepted.isEmpty else {
            return (outcomes.compactMap { if case .decided(let outcome) = $0 { outcome } else { nil } }, [:])
        }
        for (module, overlay) in overlays {
            try await transaction.writeState(module, overlay.writes, usage: usages[module] ?? StateUsage())
        }
        try await transaction.append(accepted.map(\.logEntry.bytes))
        try await transaction.insert(accepted)
        if !keys.isEmpty { try await transaction.insert(keys) }
        let size = firstLeaf + Int64(accepted.count)
        let note = try await transaction.signCheckpoint(size: size, log)
        return (
            outcomes.map { decided in
                switch decided {
                case .decided(let outcome): outcome
                case .accepted(let index): .committed(accepted[index], treeSize: size, checkpoint: note)
                }
            },
            overlays.mapValues { Array($0.keys) }
        )
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
}
