import TransparencyLog
import WasmRPCCore

/// The seam between wasmrpc and a storage engine. An engine keeps module bytes by id, the module
/// index, the log's leaves, subtree hashes and signed checkpoints, and each module's world state
/// with the transactions that made it; and offers committed reads and atomic write transactions
/// over them. Everything above the seam (adding a
/// module with its leaf and checkpoint, proofs, listing, audits) is written once in `ContentStore`
/// and the log functions on these protocols, so an engine implements only rows.
///
/// Engines: `SQLiteStorage` (the embedded default: a data directory with SQLite and blob files)
/// and `MemoryStorage` (for tests, and the reference of what the contract means). The API is
/// async so that a network database fits; a write is one transaction, whatever it spans (a module
/// row, its log leaf, the subtrees it completes and the checkpoint that signs them).
public protocol StorageEngine: Sendable {
    /// Module bytes, by id.
    var blobs: any BlobStorage { get }
    /// Reads of committed data. Each call sees a committed state; calls made one after another see
    /// states at least as new. (The log is append-only, so a proof for a size read earlier stays
    /// valid.)
    var reads: any StorageReads { get }
    /// Whether the engine refuses writes (an audit opens its store so).
    var isReadOnly: Bool { get }
    /// Where the data lives, for messages: a directory, a database URL without its password.
    var location: String { get }
    /// Where work on this engine should run: an engine whose calls block (SQLite, files) names an
    /// executor of its own threads, and `ContentStore` runs each operation there, steps and all;
    /// nil for an engine whose calls suspend instead (a network database) or cost nothing.
    var executor: (any TaskExecutor)? { get }
    /// Committed world state for running guests, read at once on the calling thread.
    var stateReader: any StateReader { get }
    /// Runs `body` as one transaction: its reads see committed data and its own writes; its writes
    /// are committed together when it returns and discarded when it throws (or the process dies
    /// first). Transactions are serializable: they run one at a time, whatever process or replica
    /// starts them; so they do not nest (`body` must not start another). A read-only engine throws
    /// `storage` without running `body`.
    func transaction<T: Sendable>(_ body: @Sendable (any StorageTransaction) async throws(ContentStoreError) -> T)
        async throws(ContentStoreError) -> T
    /// Whether other servers (or runtimes) may write the same store at once: then their
    /// transactions of one module can conflict with each other, and module claims are kept.
    var isShared: Bool { get }
    /// Claims `claim.module` for `claim.owner` for `duration` unless another owner's claim is in
    /// force, in one atomic step outside write transactions (`ModuleClaim`); answers the claim in
    /// force afterwards. Claims are timed by the engine's clock: the database server's for a
    /// shared database, so that servers whose clocks differ agree on when one ends.
    func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState
    /// Ends `claim` if its owner still holds it.
    func release(_ claim: ModuleClaim) async throws(ContentStoreError)
    /// For a shared engine: signals that other servers may have added modules (at the start, as
    /// they announce them, and every `interval` in case an announcement was missed), until the
    /// consumer stops iterating; nil for an engine one server writes alone.
    func changes(every interval: Duration) -> AsyncStream<Void>?
    /// Lets go of the engine's connections; every call after it fails.
    func close()
}

extension StorageEngine {
    public func changes(every interval: Duration) -> AsyncStream<Void>? { nil }
    public func close() {}
    /// An engine one server writes alone keeps no claims.
    public var isShared: Bool { false }
    public func claim(_ claim: ModuleClaim, for duration: Duration) async throws(ContentStoreError) -> ClaimState {
        ClaimState(owner: claim.owner, remaining: duration)
    }
    public func release(_ claim: ModuleClaim) async throws(ContentStoreError) {}
}

extension StorageTransaction {
    public func claims(of modules: Set<ModuleID>) async throws(ContentStoreError) -> [ModuleID: String] { [:] }
}

/// Reads of the module index and the log's tables.
public protocol StorageReads: Sendable {
    /// The record of module `id`, or nil.
    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord?
    /// Modules in the order they were recorded, after the position `token` (nil: from the start):
    /// at most `limit`, and while their `ModuleSummary.listingWeight` stays within `maxBytes`, but
    /// at least one. `next` is the token of the following page, nil when there is none.
    /// Descriptors are read only with `includeDescriptors`.
    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    /// The number of leaves in the log (one more than the largest index stored).
    func logSize() async throws(ContentStoreError) -> Int64
    /// Leaves `start..<start+count` in order; fewer if the log ends first, and none past a missing
    /// leaf (an audit sees the gap).
    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]]
    /// The stored hashes of `nodes`; a node without one is absent from the answer.
    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]]
    /// The signed checkpoint with the largest tree size, and that size.
    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)?

    /// The values of `keys` in the state of `owner` (nil for a key without one), in order.
    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?]
    /// The first `limit` entries with `start <= key < end` (empty `end`: no bound), in key order.
    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry]
    /// How much state `owner` holds.
    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage
    /// The transaction whose id (hex SHA-256 of its leaf) is `id`, or nil.
    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord?
    /// Transactions of `module` with a sequence number above `sequence`, in order: at most
    /// `limit`, and while their inputs, outputs and read and write sets stay within `maxBytes`,
    /// but at least one.
    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    /// The sequence number of the module's last transaction (0: none yet).
    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64
    /// The transaction of `module` recorded with idempotency key `key` at `since` (milliseconds
    /// since 1970) or later, or nil (`IdempotencyRecord`).
    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    /// The transaction of `module` that ran with `nonce` (16 random bytes drawn per attempt, so
    /// they name one), or nil.
    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord?
    /// The idempotency keys recorded for `module`, in key order after `key` (nil: from the first),
    /// at most `limit`.
    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord]
}

/// The writes of one transaction (`StorageEngine.transaction`). The log's arithmetic is the
/// caller's (`append`, `signCheckpoint`): an engine stores what it is given.
public protocol StorageTransaction: StorageReads {
    /// Records a module whose id is not recorded yet (`storage` if it is).
    func insert(_ record: ModuleRecord, signatures: [FunctionSignature]) async throws(ContentStoreError)
    /// Stores `leaves` at indices `first`, `first + 1`, …; an index already stored fails.
    func insertLeaves(_ leaves: [[UInt8]], first: Int64) async throws(ContentStoreError)
    /// Stores subtree hashes; a subtree already stored fails.
    func insertSubtrees(_ hashes: [(MerkleTree.Node, [UInt8])]) async throws(ContentStoreError)
    /// Stores the signed checkpoint of the tree of `size` leaves. One is never replaced: a second
    /// for the same size fails (a stored checkpoint that no longer verifies must stay the damage
    /// it is).
    func insertCheckpoint(_ note: String, size: Int64) async throws(ContentStoreError)
    /// Applies `writes` (at most one per key) to the state of `owner`, whose usage then is `usage`.
    func writeState(_ owner: ModuleID, _ writes: [StateWrite], usage: StateUsage) async throws(ContentStoreError)
    /// Stores transactions; a module's sequence number or an id already stored fails.
    func insert(_ transactions: [TransactionRecord]) async throws(ContentStoreError)
    /// Stores idempotency keys, each replacing the record of the same module and key if there is
    /// one (an expired one: `ContentStore.commit` looks first).
    func insert(_ keys: [IdempotencyRecord]) async throws(ContentStoreError)
    /// Forgets at most `limit` of the idempotency keys recorded before `time` (milliseconds since
    /// 1970); answers how many it forgot.
    func forgetIdempotencyKeys(before time: Int64, limit: Int) async throws(ContentStoreError) -> Int
    /// The owners of the module claims on `modules` in force now (`ModuleClaim`); none on an
    /// engine that is not shared.
    func claims(of modules: Set<ModuleID>) async throws(ContentStoreError) -> [ModuleID: String]
}

/// Module bytes by id (the SHA-256 of the bytes). Every read re-hashes what it returns.
public protocol BlobStorage: Sendable {
    /// Stores `bytes` durably and returns their id; bytes already stored (and still verifying)
    /// are not written again, and bytes that no longer verify are replaced.
    @discardableResult
    func put(_ bytes: [UInt8]) async throws(ContentStoreError) -> ModuleID
    /// The bytes of `id`, checked against it: `notFound` if there are none, `dataLoss` if they no
    /// longer hash to it.
    func bytes(of id: ModuleID) async throws(ContentStoreError) -> [UInt8]
}

extension TransactionRecord {
    /// What a transaction adds to a page of them, roughly (`StorageReads.transactions`).
    public var listingWeight: Int { 256 + method.utf8.count + input.count + output.count + readSet.count + writeSet.count }
}

extension ModuleSummary {
    /// What a module adds to a List response, roughly: its text, and its descriptor if sent.
    /// Engines page by it (`StorageReads.modules`).
    public static func listingWeight(name: Int, functions: Int, signatures: Int, descriptor: Int) -> Int {
        128 + name + functions + signatures + descriptor
    }
}
