import Synchronization
import TransparencyLog
import WasmRPCCore

/// An engine that keeps everything in memory and loses it with the process: for tests, and as
/// the plainest statement of what `StorageEngine` asks of an engine. A transaction works on a
/// copy of the state and replaces the state with it when its body returns.
public final class MemoryStorage: StorageEngine {
    struct State: Sendable {
        var modules: [ModuleID: (seq: Int64, record: ModuleRecord, signatures: [FunctionSignature])] = [:]
        var order: [ModuleID] = []
        var leaves: [[UInt8]] = []
        var subtrees: [MerkleTree.Node: [UInt8]] = [:]
        var checkpoints: [Int64: String] = [:]
        var world: [ModuleID: [[UInt8]: [UInt8]]] = [:]
        var usage: [ModuleID: StateUsage] = [:]
        var transactions: [String: TransactionRecord] = [:]
        /// Each module's transaction ids in sequence order.
        var ledger: [ModuleID: [String]] = [:]
        var idempotencyKeys: [ModuleID: [IdempotencyKey: (transaction: String, time: Int64)]] = [:]
    }

    private let state = Mutex(State())
    /// Kept apart from `state`, which a transaction replaces when it ends: a claim is not part
    /// of any transaction.
    private let claims = MemoryClaims()
    private let writer = TransactionLock()
    private let files = MemoryBlobs()

    public init() {}

    public var blobs: any BlobStorage { files }
    public var reads: any StorageReads { MemoryAccess(state: state.withLock { $0 }) }
    public var stateReader: any StateReader { MemoryStateReader(storage: self) }

    /// The committed state, for `MemoryStateReader`.
    func committed<T>(_ body: (State) -> T) -> T { state.withLock { body($0) } }
    public var isReadOnly: Bool { false }
    public var location: String { "memory" }
    /// Several runtimes in one process (tests of replicas) may share one.
    public var isShared: Bool { true }

    public func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState {
        claims.claim(claim, for: duration)
    }

    public func release(_ claim: ModuleClaim) async throws(ContentStoreError) { claims.release(claim) }
    public var executor: (any TaskExecutor)? { nil }

    public func transaction<T: Sendable>(_ body: @Sendable (any StorageTransaction) async throws(ContentStoreError) -> T)
        async throws(ContentStoreError) -> T
    {
        try await writer.withLock { () async throws(ContentStoreError) -> T in
            let transaction = MemoryTransaction(state: state.withLock { $0 }, claims: claims)
            let result = try await body(transaction)
            let written = transaction.state.withLock { $0 }
            state.withLock { $0 = written }
            return result
        }
    }
}

/// Module claims in a dictionary, timed by this process's clock.
final class MemoryClaims: Sendable {
    private let held = Mutex<[ModuleID: (owner: String, until: Int64)]>([:])

    func claim(_ claim: ModuleClaim, for duration: Duration) -> ClaimState {
        let now = ContentStore.nowMilliseconds()
        return held.withLock { held in
            if let current = held[claim.module], current.owner != claim.owner, current.until > now {
                return ClaimState(owner: current.owner, remaining: .milliseconds(current.until - now))
            }
            held[claim.module] = (claim.owner, now + duration.milliseconds)
            return ClaimState(owner: claim.owner, remaining: duration)
        }
    }

    func release(_ claim: ModuleClaim) {
        held.withLock { held in if held[claim.module]?.owner == claim.owner { held[claim.module] = nil } }
    }

    func owners(of modules: Set<ModuleID>) -> [ModuleID: String] {
        let now = ContentStore.nowMilliseconds()
        return held.withLock { held in held.filter { modules.contains($0.key) && $0.value.until > now }.mapValues(\.owner) }
    }
}

/// Blobs in a dictionary.
final class MemoryBlobs: BlobStorage {
    private let blobs = Mutex<[ModuleID: [UInt8]]>([:])

    func put(_ bytes: [UInt8]) async throws(ContentStoreError) -> ModuleID {
        let id = ModuleID(of: bytes)
        blobs.withLock { $0[id] = bytes }
        return id
    }

    func bytes(of id: ModuleID) async throws(ContentStoreError) -> [UInt8] {
        guard let bytes = blobs.withLock({ $0[id] }) else { throw ContentStoreError(.notFound, "no blob \(id)") }
        return bytes
    }
}

/// Reads of one snapshot of the state.
struct MemoryAccess: StorageReads {
    let state: MemoryStorage.State

    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? { state.module(id) }
    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    {
        state.modules(after: token, limit: limit, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
    }
    func logSize() async throws(ContentStoreError) -> Int64 { Int64(state.leaves.count) }
    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] { state.leaves(start: start, count: count) }
    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]] {
        state.subtrees.filter { nodes.contains($0.key) }
    }
    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)? { state.latestCheckpoint }
    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?] {
        keys.map { state.world[owner]?[$0] }
    }
    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        state.stateRange(owner, start: start, end: end, limit: limit)
    }
    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage { state.usage[owner] ?? StateUsage() }
    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? { state.transactions[id] }
    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    {
        state.transactions(of: module, after: sequence, limit: limit, maxBytes: maxBytes)
    }
    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        Int64(state.ledger[module]?.count ?? 0)
    }
    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        state.transaction(of: module, idempotencyKey: key, since: since)
    }
    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord] {
        state.idempotencyKeys(of: module, after: key, limit: limit)
    }
    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord? {
        state.transaction(of: module, nonce: nonce)
    }
}

/// Committed state, for running guests.
struct MemoryStateReader: StateReader {
    let storage: MemoryStorage

    func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? {
        storage.committed { $0.world[owner]?[key] }
    }

    func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] {
        storage.committed { $0.stateRange(owner, start: start, end: end, limit: limit) }
    }
}

/// A transaction's private copy of the state.
final class MemoryTransaction: StorageTransaction {
    let state: Mutex<MemoryStorage.State>

    let claims: MemoryClaims

    init(state: MemoryStorage.State, claims: MemoryClaims) {
        self.state = Mutex(state)
        self.claims = claims
    }

    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? { state.withLock { $0.module(id) } }
    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    {
        state.withLock { $0.modules(after: token, limit: limit, maxBytes: maxBytes, includeDescriptors: includeDescriptors) }
    }
    func logSize() async throws(ContentStoreError) -> Int64 { state.withLock { Int64($0.leaves.count) } }
    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] {
        state.withLock { $0.leaves(start: start, count: count) }
    }
    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]] {
        state.withLock { $0.subtrees.filter { nodes.contains($0.key) } }
    }
    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)? { state.withLock { $0.latestCheckpoint } }
    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?] {
        state.withLock { state in keys.map { state.world[owner]?[$0] } }
    }
    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        state.withLock { $0.stateRange(owner, start: start, end: end, limit: limit) }
    }
    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage { state.withLock { $0.usage[owner] ?? StateUsage() } }
    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? { state.withLock { $0.transactions[id] } }
    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    {
        state.withLock { $0.transactions(of: module, after: sequence, limit: limit, maxBytes: maxBytes) }
    }
    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        state.withLock { Int64($0.ledger[module]?.count ?? 0) }
    }
    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        state.withLock { $0.transaction(of: module, idempotencyKey: key, since: since) }
    }
    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord] {
        state.withLock { $0.idempotencyKeys(of: module, after: key, limit: limit) }
    }
    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord? {
        state.withLock { $0.transaction(of: module, nonce: nonce) }
    }

    func insert(_ keys: [IdempotencyRecord]) async throws(ContentStoreError) {
        state.withLock { state in
            for key in keys { state.idempotencyKeys[key.module, default: [:]][key.key] = (key.transaction, key.timeMilliseconds) }
        }
    }

    func claims(of modules: Set<ModuleID>) async throws(ContentStoreError) -> [ModuleID: String] { claims.owners(of: modules) }

    func forgetIdempotencyKeys(before time: Int64, limit: Int) async throws(ContentStoreError) -> Int {
        state.withLock { state in
            var forgotten = 0
            for (module, keys) in state.idempotencyKeys {
                for (key, recorded) in keys where recorded.time < time && forgotten < limit {
                    state.idempotencyKeys[module]?[key] = nil
                    forgotten += 1
                }
            }
            return forgotten
        }
    }

    func writeState(_ owner: ModuleID, _ writes: [StateWrite], usage: StateUsage) async throws(ContentStoreError) {
        state.withLock { state in
            for write in writes { state.world[owner, default: [:]][write.key] = write.value }
            state.usage[owner] = usage
        }
    }

    func insert(_ transactions: [TransactionRecord]) async throws(ContentStoreError) {
        try state.withLock { (state) throws(ContentStoreError) in
            for record in transactions {
                let id = record.id
                guard state.transactions[id] == nil, record.sequence == Int64(state.ledger[record.module]?.count ?? 0) + 1 else {
                    throw ContentStoreError(.storage, "transaction \(record.sequence) of module \(record.module) is stored already or out of order")
                }
                state.transactions[id] = record
                state.ledger[record.module, default: []].append(id)
            }
        }
    }

    func insert(_ record: ModuleRecord, signatures: [FunctionSignature]) async throws(ContentStoreError) {
        try state.withLock { (state) throws(ContentStoreError) in
            guard state.modules[record.id] == nil else { throw ContentStoreError(.storage, "module \(record.id) is recorded already") }
            state.modules[record.id] = (Int64(state.order.count + 1), record, signatures)
            state.order.append(record.id)
        }
    }

    func insertLeaves(_ leaves: [[UInt8]], first: Int64) async throws(ContentStoreError) {
        try state.withLock { (state) throws(ContentStoreError) in
            guard first == state.leaves.count else { throw ContentStoreError(.storage, "leaf \(first) is not the next leaf") }
            state.leaves += leaves
        }
    }

    func insertSubtrees(_ hashes: [(MerkleTree.Node, [UInt8])]) async throws(ContentStoreError) {
        try state.withLock { (state) throws(ContentStoreError) in
            for (node, hash) in hashes {
                guard state.subtrees.updateValue(hash, forKey: node) == nil else {
                    throw ContentStoreError(.storage, "subtree (level \(node.level), index \(node.index)) is stored already")
                }
            }
        }
    }

    func insertCheckpoint(_ note: String, size: Int64) async throws(ContentStoreError) {
        try state.withLock { (state) throws(ContentStoreError) in
            guard state.checkpoints.updateValue(note, forKey: size) == nil else {
                throw ContentStoreError(.storage, "a checkpoint for \(size) leaves is stored already")
            }
        }
    }
}

extension MemoryStorage.State {
    func module(_ id: ModuleID) -> ModuleRecord? { modules[id]?.record }

    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) -> (modules: [ModuleSummary], next: Int64?) {
        var page: [ModuleSummary] = []
        var bytes = 0
        let start = Int(max(0, min(token ?? 0, Int64(order.count))))
        for position in start..<order.count {
            let (_, record, signatures) = modules[order[position]]!
            let encoded = FunctionSignature.encode(signatures)
            let weight = ModuleSummary.listingWeight(
                name: record.name.utf8.count, functions: record.functions.joined(separator: "\n").utf8.count,
                signatures: encoded.utf8.count, descriptor: includeDescriptors ? record.descriptor.count : 0)
            guard page.count < limit, page.isEmpty || bytes + weight <= maxBytes else { return (page, Int64(position)) }
            bytes += weight
            page.append(
                ModuleSummary(
                    id: record.id, name: record.name, size: record.size, addedMilliseconds: record.addedMilliseconds,
                    leafIndex: record.leafIndex, functions: record.functions, signatures: signatures,
                    descriptor: includeDescriptors ? record.descriptor : nil))
        }
        return (page, nil)
    }

    func leaves(start: Int64, count: Int) -> [[UInt8]] {
        guard start >= 0, start < leaves.count, count > 0 else { return [] }
        return Array(leaves[Int(start)..<Int(min(Int64(leaves.count), start + Int64(count)))])
    }

    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) -> [StateEntry] {
        let entries = (world[owner] ?? [:]).filter { StateView.contains($0.key, start: start, end: end) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        return entries.prefix(limit).map { StateEntry(key: $0.key, value: $0.value) }
    }

    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) -> [TransactionRecord] {
        let ids = ledger[module] ?? []
        var page: [TransactionRecord] = []
        var bytes = 0
        for id in ids.dropFirst(Int(max(0, min(sequence, Int64(ids.count))))).prefix(limit) {
            let record = transactions[id]!
            guard page.isEmpty || bytes + record.listingWeight <= maxBytes else { break }
            bytes += record.listingWeight
            page.append(record)
        }
        return page
    }

    func transaction(of module: ModuleID, nonce: [UInt8]) -> TransactionRecord? {
        (ledger[module] ?? []).lazy.compactMap { transactions[$0] }.first { $0.nonce == nonce }
    }

    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) -> [IdempotencyRecord] {
        (idempotencyKeys[module] ?? [:]).filter { entry in key.map { entry.key.text > $0.text } ?? true }
            .sorted { $0.key.text < $1.key.text }.prefix(limit)
            .map { IdempotencyRecord(module: module, key: $0.key, transaction: $0.value.transaction, timeMilliseconds: $0.value.time) }
    }

    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) -> TransactionRecord? {
        guard let recorded = idempotencyKeys[module]?[key], recorded.time >= since else { return nil }
        return transactions[recorded.transaction]
    }

    var latestCheckpoint: (size: Int64, note: String)? {
        checkpoints.max { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
