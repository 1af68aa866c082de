import Foundation
import TransparencyLog
import WasmRPCCore

/// What the store knows about a module besides its bytes.
public struct ModuleRecord: Sendable, Hashable {
    public var id: ModuleID
    public var name: String
    public var size: Int
    /// The serialized FileDescriptorSet stored with the module.
    public var descriptor: [UInt8]
    /// The functions the descriptor's services define, as `/pkg.Service/method`.
    public var functions: [String]
    /// When the module was first added, in milliseconds since 1970.
    public var addedMilliseconds: Int64
    /// The module's leaf in the transparency log.
    public var leafIndex: Int64

    package init(
        id: ModuleID, name: String, size: Int, descriptor: [UInt8], functions: [String], addedMilliseconds: Int64, leafIndex: Int64
    ) {
        self.id = id
        self.name = name
        self.size = size
        self.descriptor = descriptor
        self.functions = functions
        self.addedMilliseconds = addedMilliseconds
        self.leafIndex = leafIndex
    }

    /// The log leaf that records this module.
    public var logEntry: ModuleLogEntry {
        ModuleLogEntry(id: id.hex, size: Int64(size), descriptor: descriptor, name: name, addedMilliseconds: addedMilliseconds)
    }
}

/// The store wasmrpc runs on: modules, their index and the transparency log, on any
/// `StorageEngine`. Everything it does is written once here, above the engines.
///
/// `add` writes the blob durably, then records the module, appends its log leaf and signs the new
/// checkpoint in one transaction: a failure or crash leaves either all of it or only an orphan
/// blob, which nothing lists or serves. Adding the same bytes again returns the existing record.
public final class ContentStore: Sendable {
    public let engine: any StorageEngine
    public let log: LogIdentity

    public var blobs: any BlobStorage { engine.blobs }
    /// Committed state values kept in memory, if this store may keep them (`cachingState`).
    let stateCache: StateCache?
    let idempotencyPruning = IdempotencyPruning()

    /// Where running guests read committed state: the cache in front of the engine's reader, or
    /// the engine's reader.
    public var stateReader: any StateReader { stateCache ?? engine.stateReader }

    private init(engine: any StorageEngine, log: LogIdentity, cachingState: Bool) {
        self.engine = engine
        self.log = log
        stateCache = cachingState && !engine.isReadOnly ? StateCache(base: engine.stateReader) : nil
    }

    /// The store on `engine`, whose log signs with `log`. A writable store whose log has no
    /// checkpoint for its current size (a new store) gets one. An existing checkpoint is never
    /// replaced: one that no longer verifies must reach clients and `log verify` as the damage it
    /// is. With `cachingState`, guests' reads of committed state go through a `StateCache`: only
    /// for a store through which every commit to the engine's state goes (no other process or
    /// store writes it meanwhile).
    public static func open(engine: any StorageEngine, log: LogIdentity, cachingState: Bool = false) async throws(ContentStoreError)
        -> ContentStore
    {
        if !engine.isReadOnly {
            try await engine.transaction { transaction throws(ContentStoreError) in
                let size = try await transaction.logSize()
                if (try await transaction.latestCheckpoint()?.size ?? -1) < size { try await transaction.signCheckpoint(size: size, log) }
            }
        }
        return ContentStore(engine: engine, log: log, cachingState: cachingState)
    }

    /// Refuses a store whose newest checkpoint this store's key did not sign: on a database that
    /// several servers share, each must sign with the same key, or clients would see checkpoints
    /// that verify under different keys.
    public func checkSigner() async throws(ContentStoreError) {
        let latest = try await checkpoint()
        do {
            _ = try log.signer.verifier.verify(latest.note)
        } catch {
            throw ContentStoreError(
                .invalidArgument,
                "the log in \(engine.location) is signed by another key than this server's (\(log.signer.verifier.encoded)): "
                    + "give every server on it the same key (--log-key-file)")
        }
    }

    /// Stores a module (bytes first, durably) and its record. Returns the record and whether it was
    /// new; for bytes already stored, the existing record comes back unchanged.
    public func add(wasm: [UInt8], descriptor: [UInt8], name: String, functions: [FunctionSignature]) async throws(ContentStoreError)
        -> (record: ModuleRecord, inserted: Bool)
    {
        try await onEngine { () async throws(ContentStoreError) in
            if let problem = ModuleLogEntry.nameProblem(name) {
                throw ContentStoreError(.invalidArgument, "\(problem): \(EchoedText.quote(name))")
            }
            guard !engine.isReadOnly else { throw ContentStoreError(.storage, "\(engine.location) is open read-only") }
            let id = try await blobs.put(wasm)
            let now = Self.nowMilliseconds()
            return try await engine.transaction { [log] transaction throws(ContentStoreError) in
                if let existing = try await transaction.module(id) { return (existing, false) }
                var record = ModuleRecord(
                    id: id, name: name, size: wasm.count, descriptor: descriptor, functions: functions.map(\.path), addedMilliseconds: now,
                    leafIndex: 0)
                record.leafIndex = try await transaction.append([record.logEntry.bytes])
                try await transaction.insert(record, signatures: functions)
                try await transaction.signCheckpoint(size: record.leafIndex + 1, log)
                return (record, true)
            }
        }
    }

    /// The record of a module, or nil.
    public func record(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.module(id)
        }
    }

    /// A module's record and bytes; the bytes are verified against the id (`dataLoss` if not).
    public func module(_ id: ModuleID) async throws(ContentStoreError) -> (record: ModuleRecord, wasm: [UInt8]) {
        try await onEngine { () async throws(ContentStoreError) in
            guard let record = try await record(id) else { throw ContentStoreError(.notFound, "no module \(id)") }
            let wasm: [UInt8]
            do throws(ContentStoreError) {
                wasm = try await blobs.bytes(of: id)
            } catch where error.code == .notFound {
                throw ContentStoreError(.dataLoss, "module \(id) is recorded but its bytes are missing")
            }
            return (record, wasm)
        }
    }

    /// Modules in the order they were added, at most `limit` (1...1000) and about `maxBytes` of
    /// names, functions and (if `includeDescriptors`) descriptors at a time, but at least one; pass
    /// the returned token to get the next page (nil when there is none). Descriptors are read only
    /// when asked for.
    public func list(
        after token: Int64? = nil, limit: Int = 100, maxBytes: Int = .max, includeDescriptors: Bool = false
    ) async throws(ContentStoreError) -> (modules: [ModuleSummary], next: Int64?) {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.modules(
                after: token, limit: max(1, min(limit, 1000)), maxBytes: maxBytes, includeDescriptors: includeDescriptors)
        }
    }

    /// The realtime clock, in milliseconds since 1970.
    package static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Runs `body` where the engine's work belongs (`StorageEngine.executor`): one hop there,
    /// none between its steps.
    func onEngine<T>(_ body: () async throws(ContentStoreError) -> T) async throws(ContentStoreError) -> T {
        try await withTaskExecutorPreference(engine.executor, operation: body)
    }

    // MARK: - Transparency log

    /// The newest signed checkpoint (it covers every leaf) and its tree size.
    public func checkpoint() async throws(ContentStoreError) -> (size: Int64, note: String) {
        try await onEngine { () async throws(ContentStoreError) in
            guard let latest = try await engine.reads.latestCheckpoint() else { throw ContentStoreError(.dataLoss, "the log has no checkpoint") }
            return latest
        }
    }

    /// The receipt of a module's leaf against the newest checkpoint.
    public func receipt(for record: ModuleRecord) async throws(ContentStoreError) -> LogReceipt {
        try await receipt(leafIndex: record.leafIndex, of: "module \(record.id)")
    }

    /// The receipt of leaf `leafIndex` (the leaf of `what`) against the newest checkpoint.
    func receipt(leafIndex: Int64, of what: String) async throws(ContentStoreError) -> LogReceipt {
        try await onEngine { () async throws(ContentStoreError) in
            let (size, note) = try await checkpoint()
            guard leafIndex >= 0, leafIndex < size, let leaf = try await logEntries(start: leafIndex, count: 1).first else {
                throw ContentStoreError(.dataLoss, "\(what) has no log leaf")
            }
            let proof = try await inclusionProof(index: leafIndex, size: size)
            return LogReceipt(leafIndex: leafIndex, leaf: leaf, treeSize: size, inclusionProof: proof, checkpoint: note)
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    public func inclusionProof(index: Int64, size: Int64) async throws(ContentStoreError) -> [[UInt8]] {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.inclusionProof(index: index, size: size)
        }
    }

    /// The consistency proof between trees of `first` and `second` leaves.
    public func consistencyProof(first: Int64, second: Int64) async throws(ContentStoreError) -> [[UInt8]] {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.consistencyProof(first: first, second: second)
        }
    }

    /// The roots of the trees of `first` and `second` leaves.
    public func roots(_ first: Int64, _ second: Int64) async throws(ContentStoreError) -> ([UInt8], [UInt8]) {
        try await onEngine { () async throws(ContentStoreError) in
            let reads = engine.reads
            return (try await reads.root(size: first), try await reads.root(size: second))
        }
    }

    /// Leaves `start..<start+count`.
    public func logEntries(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.leaves(start: start, count: count)
        }
    }

    /// The number of leaves in the log.
    public func logSize() async throws(ContentStoreError) -> Int64 {
        try await onEngine { () async throws(ContentStoreError) in
            try await engine.reads.logSize()
        }
    }
}
