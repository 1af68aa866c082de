import ContentStore
import Foundation
import GRDB
import TransparencyLog
import WasmRPCCore

/// The embedded engine: a data directory holding module blobs as content-addressed files
/// (`BlobStore`) and the module index and the log in one SQLite database (GRDB, WAL).
///
/// Tables: `module` (one row per module, `seq` its position in List); `log_leaf(idx, data)`;
/// `log_node(level, idx, hash)`, the hash of every complete subtree (level 0 = leaf hashes);
/// `log_checkpoint(size, note)`; `state(owner, key, value)`, the world state (the owner is the
/// module id: a column of its own so that state could one day pass to another module),
/// `state_usage(owner, keys, bytes)` and `ledger_transaction`, one row per committed transaction.
/// A transaction is SQLite's (`BEGIN IMMEDIATE` … `COMMIT`) on the pool's writer connection, one at
/// a time in this process; SQLite's own lock keeps other processes out of the same database
/// meanwhile. Commits are durable: `synchronous = FULL`, so the WAL is fsync'd before a COMMIT
/// returns. All of it blocks, so it runs on the `BlockingExecutor` (`executor`).
public final class SQLiteStorage: StorageEngine {
    public let directory: String
    public let isReadOnly: Bool
    let files: BlobStore
    let pool: DatabasePool
    private let writer = TransactionLock()

    public var blobs: any BlobStorage { files }
    public var reads: any StorageReads { SQLiteAccess(pool: pool, inTransaction: false) }
    public var stateReader: any StateReader { directStateReader }
    private let directStateReader: SQLiteStateReader
    public var location: String { directory }
    /// SQLite and the blob files block: their work runs on dispatch threads.
    public var executor: (any TaskExecutor)? { BlockingExecutor.shared }

    /// Opens (or creates) the engine's files in `directory`, migrating an older schema. With
    /// `readOnly` (for audits) nothing in the directory is created or changed: the database and
    /// its schema must exist as this version of wasmrpc writes them (no migration runs, no
    /// interrupted blob write is swept), and every write fails. (SQLite may still create its
    /// `-wal`/`-shm` companion files to read a WAL database.)
    public init(directory: String, readOnly: Bool = false) throws(ContentStoreError) {
        self.directory = directory
        isReadOnly = readOnly
        if !readOnly {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ContentStoreError(.storage, "cannot create the data directory \(directory): \(error)")
            }
        }
        files = try BlobStore(root: directory + "/blobs", create: !readOnly)
        directStateReader = SQLiteStateReader(path: directory + "/wasmrpc.sqlite")
        if !readOnly { files.removeInterruptedWrites() }
        let path = directory + "/wasmrpc.sqlite"
        do {
            var configuration = Configuration()
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else { throw ContentStoreError(.notFound, "\(path) does not exist") }
                configuration.readonly = true
                pool = try DatabasePool(path: path, configuration: configuration)
                try pool.read { db in try Self.checkSchemaIsCurrent(db) }
                return
            }
            // A transaction spans several accesses to the writer connection (one per await).
            configuration.allowsUnsafeTransactions = true
            pool = try DatabasePool(path: path, configuration: configuration)
            // Durable commits: the WAL is fsync'd before a COMMIT returns (GRDB's WAL default,
            // NORMAL, can lose the last commits to a power cut or an OS crash). Set after the pool
            // opens: opening it sets NORMAL on the writer connection.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.storage, "cannot open \(path): \(error)")
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any StorageTransaction) async throws(ContentStoreError) -> T)
        async throws(ContentStoreError) -> T
    {
        guard !isReadOnly else { throw ContentStoreError(.storage, "\(directory) is open read-only") }
        // Begin, body and commit on the blocking executor: no thread hop between the steps.
        return try await withTaskExecutorPreference(BlockingExecutor.shared) { () async throws(ContentStoreError) -> T in
            try await writer.withLock { () async throws(ContentStoreError) -> T in
                try await onWriter("begin a transaction") { db in
                    // A transaction left open by a failed ROLLBACK must not swallow this one.
                    if db.isInsideTransaction { try db.rollback() }
                    try db.beginTransaction(.immediate)
                }
                let result: T
                do throws(ContentStoreError) {
                    result = try await body(SQLiteAccess(pool: pool, inTransaction: true))
                    try await onWriter("commit") { db in try db.commit() }
                } catch {
                    try? await onWriter("roll back") { db in if db.isInsideTransaction { try db.rollback() } }
                    throw error
                }
                return result
            }
        }
    }

    private func onWriter(_ what: String, _ body: (Database) throws -> Void) async throws(ContentStoreError) {
        try await SQLiteAccess(pool: pool, inTransaction: true).access(what, body)
    }
}

/// Reads (on a reader connection) or a transaction's reads and writes (on the writer connection,
/// inside the open transaction), each run off Swift's concurrency threads.
struct SQLiteAccess: StorageTransaction {
    let pool: DatabasePool
    let inTransaction: Bool

    func access<T>(_ what: String, _ body: (Database) throws -> T) async throws(ContentStoreError) -> T {
        try await blocking { () throws(ContentStoreError) -> T in
            do {
                return inTransaction ? try pool.writeWithoutTransaction(body) : try pool.read(body)
            } catch let error as ContentStoreError {
                throw error
            } catch {
                throw ContentStoreError(.storage, "cannot \(what): \(error)")
            }
        }
    }

    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? {
        try await access("read module \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM module WHERE id = ?", arguments: [id.hex]).map(Self.record(from:))
        }
    }

    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    {
        let columns = "seq, id, name, size, added, leaf_index, functions, signatures, length(descriptor) AS descriptor_size"
            + (includeDescriptors ? ", descriptor" : "")
        return try await access("list modules") { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT \(columns) FROM module WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [token ?? 0, limit + 1])
            var modules: [ModuleSummary] = []
            var bytes = 0
            var lastSeq: Int64 = 0
            while let row = try rows.next() {
                let functions: String = row["functions"]
                let signatures: String? = row["signatures"]
                let name: String = row["name"]
                let weight = ModuleSummary.listingWeight(
                    name: name.utf8.count, functions: functions.utf8.count, signatures: signatures?.utf8.count ?? 0,
                    descriptor: includeDescriptors ? (row["descriptor_size"] as Int? ?? 0) : 0)
                guard modules.count < limit, modules.isEmpty || bytes + weight <= maxBytes else { return (modules, lastSeq) }
                bytes += weight
                lastSeq = row["seq"]
                modules.append(
                    ModuleSummary(
                        id: try Self.moduleID(in: row), name: name, size: row["size"], addedMilliseconds: row["added"],
                        leafIndex: row["leaf_index"] ?? -1, functions: Self.paths(in: row),
                        signatures: signatures.flatMap(FunctionSignature.decode),
                        descriptor: includeDescriptors ? (row["descriptor"] as Data?).map(Array.init) ?? [] : nil))
            }
            return (modules, nil)
        }
    }

    func logSize() async throws(ContentStoreError) -> Int64 {
        try await access("read the log size") { db in try Self.size(db) }
    }

    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] {
        try await access("read log leaves") { db in
            var leaves: [[UInt8]] = []
            let rows = try Row.fetchCursor(
                db, sql: "SELECT idx, data FROM log_leaf WHERE idx >= ? ORDER BY idx LIMIT ?", arguments: [start, count])
            while let row = try rows.next(), row["idx"] as Int64 == start + Int64(leaves.count) {
                leaves.append(Array(row["data"] as Data))
            }
            return leaves
        }
    }

    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]] {
        try await access("read the log's subtree hashes") { db in
            // A cached statement: a proof reads ~20–40 nodes, and preparing SQL each time dominated.
            let statement = try db.cachedStatement(sql: "SELECT hash FROM log_node WHERE level = ? AND idx = ?")
            var hashes: [MerkleTree.Node: [UInt8]] = [:]
            for node in nodes {
                if let hash = try Data.fetchOne(statement, arguments: [node.level, node.index]) { hashes[node] = Array(hash) }
            }
            return hashes
        }
    }

    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)? {
        try await access("read the checkpoint") { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM log_checkpoint ORDER BY size DESC LIMIT 1").map { ($0["size"], $0["note"]) }
        }
    }

    func insert(_ record: ModuleRecord, signatures: [FunctionSignature]) async throws(ContentStoreError) {
        try await access("record module \(record.id)") { db in
            try db.execute(
                sql: """
                    INSERT INTO module (id, name, size, descriptor, functions, added, leaf_index, signatures)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id.hex, record.name, record.size, Data(record.descriptor), record.functions.joined(separator: "\n"),
                    record.addedMilliseconds, record.leafIndex, FunctionSignature.encode(signatures),
                ])
        }
    }

    func insertLeaves(_ leaves: [[UInt8]], first: Int64) async throws(ContentStoreError) {
        try await access("append to the log") { db in try Self.insertLeaves(leaves, first: first, db) }
    }

    func insertSubtrees(_ hashes: [(MerkleTree.Node, [UInt8])]) async throws(ContentStoreError) {
        try await access("store the log's subtree hashes") { db in try Self.insertSubtrees(hashes, db) }
    }

    func insertCheckpoint(_ note: String, size: Int64) async throws(ContentStoreError) {
        try await access("store a checkpoint") { db in
            try db.execute(sql: "INSERT INTO log_checkpoint (size, note) VALUES (?, ?)", arguments: [size, note])
        }
    }

    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?] {
        try await access("read the state of module \(owner)") { db in try Self.stateValues(owner, keys: keys, db) }
    }

    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        try await access("read the state of module \(owner)") { db in try Self.stateRange(owner, start: start, end: end, limit: limit, db) }
    }

    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage {
        try await access("read the state usage of module \(owner)") { db in
            try Row.fetchOne(db, sql: "SELECT keys, bytes FROM state_usage WHERE owner = ?", arguments: [owner.hex])
                .map { StateUsage(keys: $0["keys"], bytes: $0["bytes"]) } ?? StateUsage()
        }
    }

    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? {
        try await access("read transaction \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM ledger_transaction WHERE id = ?", arguments: [id]).map(Self.transaction(from:))
        }
    }

    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    {
        try await access("read the transactions of module \(module)") { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT * FROM ledger_transaction WHERE module = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [module.hex, sequence, limit])
            var page: [TransactionRecord] = []
            var bytes = 0
            while let row = try rows.next() {
                let record = try Self.transaction(from: row)
                guard page.isEmpty || bytes + record.listingWeight <= maxBytes else { break }
                bytes += record.listingWeight
                page.append(record)
            }
            return page
        }
    }

    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        try await access("read the transactions of module \(module)") { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM ledger_transaction WHERE module = ?", arguments: [module.hex]) ?? 0
        }
    }

    func writeState(_ owner: ModuleID, _ writes: [StateWrite], usage: StateUsage) async throws(ContentStoreError) {
        try await access("write the state of module \(owner)") { db in
            let put = try db.cachedStatement(sql: "INSERT OR REPLACE INTO state (owner, key, value) VALUES (?, ?, ?)")
            let delete = try db.cachedStatement(sql: "DELETE FROM state WHERE owner = ? AND key = ?")
            for write in writes {
                if let value = write.value {
                    try put.execute(arguments: [owner.hex, Data(write.key), Data(value)])
                } else {
                    try delete.execute(arguments: [owner.hex, Data(write.key)])
                }
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO state_usage (owner, keys, bytes) VALUES (?, ?, ?)", arguments: [owner.hex, usage.keys, usage.bytes])
        }
    }

    func insert(_ transactions: [TransactionRecord]) async throws(ContentStoreError) {
        try await access("record transactions") { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO ledger_transaction
                    (id, module, sequence, method, input, output, read_set, write_set, time, nonce, leaf_index)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for record in transactions {
                try statement.execute(arguments: [
                    record.id, record.module.hex, record.sequence, record.method, Data(record.input), Data(record.output),
                    Data(record.readSet), Data(record.writeSet), record.timeNanoseconds, Data(record.nonce), record.leafIndex,
                ])
            }
        }
    }

    // MARK: - Rows

    static func stateValues(_ owner: ModuleID, keys: [[UInt8]], _ db: Database) throws -> [[UInt8]?] {
        let statement = try db.cachedStatement(sql: "SELECT value FROM state WHERE owner = ? AND key = ?")
        return try keys.map { key in try Data.fetchOne(statement, arguments: [owner.hex, Data(key)]).map(Array.init) }
    }

    static func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int, _ db: Database) throws -> [StateEntry] {
        let rows =
            end.isEmpty
            ? try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT key, value FROM state WHERE owner = ? AND key >= ? ORDER BY key LIMIT ?"),
                arguments: [owner.hex, Data(start), limit])
            : try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT key, value FROM state WHERE owner = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?"),
                arguments: [owner.hex, Data(start), Data(end), limit])
        var entries: [StateEntry] = []
        while let row = try rows.next() { entries.append(StateEntry(key: Array(row["key"] as Data), value: Array(row["value"] as Data))) }
        return entries
    }

    static func transaction(from row: Row) throws -> TransactionRecord {
        let hex: String = row["module"]
        guard let module = ModuleID(hex: hex) else {
            throw ContentStoreError(.dataLoss, "the ledger holds the malformed module id \"\(hex)\"")
        }
        return TransactionRecord(
            module: module, sequence: row["sequence"], method: row["method"], input: Array(row["input"] as Data),
            output: Array(row["output"] as Data), readSet: Array(row["read_set"] as Data), writeSet: Array(row["write_set"] as Data),
            timeNanoseconds: row["time"], nonce: Array(row["nonce"] as Data), leafIndex: row["leaf_index"])
    }

    static func size(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaf") ?? 0
    }

    static func insertLeaves(_ leaves: [[UInt8]], first: Int64, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT INTO log_leaf (idx, data) VALUES (?, ?)")
        for (offset, leaf) in leaves.enumerated() { try statement.execute(arguments: [first + Int64(offset), Data(leaf)]) }
    }

    static func insertSubtrees(_ hashes: [(MerkleTree.Node, [UInt8])], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)")
        for (node, hash) in hashes { try statement.execute(arguments: [node.level, node.index, Data(hash)]) }
    }

    static func record(from row: Row) throws -> ModuleRecord {
        let descriptor: Data = row["descriptor"]
        return ModuleRecord(
            id: try moduleID(in: row), name: row["name"], size: row["size"], descriptor: Array(descriptor), functions: paths(in: row),
            addedMilliseconds: row["added"], leafIndex: row["leaf_index"] ?? -1)
    }

    /// A row's `id` column, checked.
    private static func moduleID(in row: Row) throws(ContentStoreError) -> ModuleID {
        let hex: String = row["id"]
        guard let id = ModuleID(hex: hex) else {
            throw ContentStoreError(.dataLoss, "the index holds the malformed module id \"\(hex)\"")
        }
        return id
    }

    /// A row's `functions` column: newline-separated method paths.
    private static func paths(in row: Row) -> [String] {
        let functions: String = row["functions"]
        return functions.isEmpty ? [] : functions.split(separator: "\n").map(String.init)
    }
}
