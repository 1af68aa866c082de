import ContentStore
import Synchronization
import TransparencyLog
import WasmRPCCore

/// A `MemoryStorage` that fails the way a network engine can, on demand: write transactions wait
/// at a gate the test opens (`holdCommits` / `releaseCommits`) or fail (`failTransactions`: before
/// or after their writes are in, as when the answer to COMMIT is lost), and log proofs fail when
/// the reading task is cancelled (as PostgreSQL's reads do, whose lease timeout is a sleep that
/// cancellation ends) or while `failProofs` is set.
final class FaultyStorage: StorageEngine {
    private struct Faults {
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
        var failProofs = false
        /// How the next write transactions fail, one each.
        var failures: [TransactionFailure] = []
    }

    enum TransactionFailure {
        /// The transaction fails before it writes anything.
        case before
        /// Its writes are committed, and then it reports a failure.
        case after
    }

    private let base: MemoryStorage

    /// Over `base` (a new one unless given: two runtimes on one are two servers on one database).
    init(base: MemoryStorage = MemoryStorage()) { self.base = base }
    private let faults = Mutex(Faults())

    var blobs: any BlobStorage { base.blobs }
    var reads: any StorageReads { FaultyReads(base: base.reads, storage: self) }
    var isReadOnly: Bool { false }
    var location: String { "faulty memory" }
    var executor: (any TaskExecutor)? { nil }
    var stateReader: any StateReader { base.stateReader }

    /// Makes write transactions wait until `releaseCommits`.
    func holdCommits() { faults.withLock { $0.holding = true } }

    /// How many write transactions wait at the gate.
    var heldCommits: Int { faults.withLock { $0.held.count } }

    /// Lets the waiting transactions and every later one through.
    func releaseCommits() {
        let held = faults.withLock { faults in
            faults.holding = false
            defer { faults.held = [] }
            return faults.held
        }
        for continuation in held { continuation.resume() }
    }

    /// Makes the next write transactions fail as `failures` say, one each.
    func failTransactions(_ failures: [TransactionFailure]) { faults.withLock { $0.failures = failures } }

    var isShared: Bool { base.isShared }
    func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState {
        try await base.claim(claim, for: duration)
    }
    func release(_ claim: ModuleClaim) async throws(ContentStoreError) { try await base.release(claim) }

    var failProofs: Bool {
        get { faults.withLock { $0.failProofs } }
        set { faults.withLock { $0.failProofs = newValue } }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any StorageTransaction) async throws(ContentStoreError) -> T)
        async throws(ContentStoreError) -> T
    {
        await withCheckedContinuation { continuation in
            let wait = faults.withLock { faults in
                if faults.holding { faults.held.append(continuation) }
                return faults.holding
            }
            if !wait { continuation.resume() }
        }
        let failure = faults.withLock { $0.failures.isEmpty ? nil : $0.failures.removeFirst() }
        switch failure {
        case .before?: throw ContentStoreError(.storage, "the connection broke before the commit")
        case .after?:
            _ = try await base.transaction(body)
            throw ContentStoreError(.storage, "the connection broke before the answer to COMMIT arrived")
        case nil: return try await base.transaction(body)
        }
    }

    /// Why a proof read fails now, if it does.
    fileprivate var proofFailure: ContentStoreError? {
        if Task.isCancelled { return ContentStoreError(.storage, "the read was cancelled") }
        if failProofs { return ContentStoreError(.storage, "the database went away") }
        return nil
    }
}

/// The base engine's reads, but `subtrees` (what every inclusion proof reads) fails as
/// `FaultyStorage.proofFailure` says.
private struct FaultyReads: StorageReads {
    let base: any StorageReads
    let storage: FaultyStorage

    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]] {
        if let failure = storage.proofFailure { throw failure }
        return try await base.subtrees(nodes)
    }

    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? { try await base.module(id) }
    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    {
        try await base.modules(after: token, limit: limit, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
    }
    func logSize() async throws(ContentStoreError) -> Int64 { try await base.logSize() }
    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] { try await base.leaves(start: start, count: count) }
    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)? { try await base.latestCheckpoint() }
    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?] {
        try await base.stateValues(owner, keys: keys)
    }
    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        try await base.stateRange(owner, start: start, end: end, limit: limit)
    }
    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage { try await base.stateUsage(owner) }
    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? { try await base.transaction(id: id) }
    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    {
        try await base.transactions(of: module, after: sequence, limit: limit, maxBytes: maxBytes)
    }
    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        try await base.lastTransactionSequence(of: module)
    }
    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        try await base.transaction(of: module, idempotencyKey: key, since: since)
    }
    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord] {
        try await base.idempotencyKeys(of: module, after: key, limit: limit)
    }
    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord? {
        try await base.transaction(of: module, nonce: nonce)
    }
}
