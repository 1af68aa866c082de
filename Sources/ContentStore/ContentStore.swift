import Foundation
import GRDB
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

    /// The log leaf that records this module.
    public var logEntry: ModuleLogEntry {
        ModuleLogEntry(id: id.hex, size: Int64(size), descriptor: descriptor, name: name, addedMilliseconds: addedMilliseconds)
    }
}

/// The embedded store: module blobs as content-addressed files, the module index and the
/// transparency log in SQLite (GRDB, WAL), all in one data directory.
///
/// `add` writes and syncs the blob, then records the module, appends its log leaf and signs the
/// new checkpoint in one transaction: a crash leaves either all of it or only an orphan blob,
/// which nothing lists or serves. Adding the same bytes again returns the existing record.
public final class ContentStore: Sendable {
    public let directory: String
    public let blobs: BlobStore
    public let log: LogIdentity
    let database: DatabasePool

    /// Opens (or creates) the store in `directory`. The log signs with `logKey` (a
    /// `PRIVATE+KEY+…` string) if given, else with the key in `directory/log.key`, created on
    /// first start.
    ///
    /// With `readOnly` (for audits) nothing in the directory is created or changed: the store,
    /// its key and its schema must exist as this version of wasmrpc writes them (no migration
    /// runs, no checkpoint is signed, no interrupted write is swept), and every write fails.
    /// (SQLite may still create its `-wal`/`-shm` companion files to read a WAL database.)
    public init(
        directory: String, logOrigin: String = Wire.defaultLogOrigin, logKey: String? = nil, readOnly: Bool = false
    ) throws(ContentStoreError) {
        self.directory = directory
        if !readOnly {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ContentStoreError(.storage, "cannot create the data directory \(directory): \(error)")
            }
        }
        blobs = try BlobStore(root: directory + "/blobs", create: !readOnly)
        if !readOnly { blobs.removeInterruptedWrites() }
        log = try LogIdentity.load(directory: directory, origin: logOrigin, encodedKey: logKey, create: !readOnly)
        let path = directory + "/wasmrpc.sqlite"
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else { throw ContentStoreError(.notFound, "\(path) does not exist") }
                var configuration = Configuration()
                configuration.readonly = true
                database = try DatabasePool(path: path, configuration: configuration)
                try database.read { db in try Self.checkSchemaIsCurrent(db) }
                return
            }
            database = try DatabasePool(path: path)
            try Self.migrator.migrate(database)
            try database.write { [log] db in
                // A new store (or one from before the log) gets its first checkpoint. An existing
                // checkpoint is never replaced: one that no longer verifies must reach clients
                // and `log verify` as the damage it is.
                let size = try LogStorage.size(db)
                if try LogStorage.checkpoint(atLeast: size, db) == nil { try log.signCheckpoint(size: size, db) }
            }
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.storage, "cannot open \(path): \(error)")
        }
    }

    /// Refuses a schema that this version did not write: one that misses migrations (`serve`
    /// applies them) or has migrations this version does not know (a newer wasmrpc wrote it).
    private static func checkSchemaIsCurrent(_ db: Database) throws {
        let applied = try migrator.appliedIdentifiers(db)
        let known = Set(migrator.migrations)
        if let unknown = applied.subtracting(known).sorted().first {
            throw ContentStoreError(.storage, "the store was written by a newer wasmrpc (migration \"\(unknown)\" is unknown here)")
        }
        if let missing = migrator.migrations.first(where: { !applied.contains($0) }) {
            throw ContentStoreError(
                .storage, "the store's schema is older than this wasmrpc (migration \"\(missing)\" not applied): `wasmrpc serve` on it migrates it")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("modules") { db in
            try db.create(table: "module") { table in
                table.autoIncrementedPrimaryKey("seq")
                table.column("id", .text).notNull().unique()
                table.column("name", .text).notNull()
                table.column("size", .integer).notNull()
                table.column("descriptor", .blob).notNull()
                table.column("functions", .text).notNull()  // newline-separated method paths
                table.column("added", .integer).notNull()
            }
        }
        LogStorage.registerMigrations(&migrator)
        migrator.registerMigration("module-leaf-index") { db in
            try db.alter(table: "module") { table in table.add(column: "leaf_index", .integer) }
            // Modules stored before the log existed get their leaves now, in the order they were added.
            for row in try Row.fetchAll(db, sql: "SELECT * FROM module ORDER BY seq") {
                let record = try Self.record(from: row)
                let index = try LogStorage.append([record.logEntry.bytes], db)
                try db.execute(sql: "UPDATE module SET leaf_index = ? WHERE seq = ?", arguments: [index, row["seq"] as Int64])
            }
        }
        // The functions' types (FunctionSignature lines), so that List reads no descriptor; NULL for
        // modules stored before (their lists parse the descriptor).
        migrator.registerMigration("module-signatures") { db in
            try db.alter(table: "module") { table in table.add(column: "signatures", .text) }
        }
        return migrator
    }

    /// Stores a module (bytes first, durably) and its record. Returns the record and whether it was
    /// new; for bytes already stored, the existing record comes back unchanged.
    public func add(wasm: [UInt8], descriptor: [UInt8], name: String, functions: [FunctionSignature]) throws(ContentStoreError)
        -> (record: ModuleRecord, inserted: Bool)
    {
        if let problem = ModuleLogEntry.nameProblem(name) {
            throw ContentStoreError(.invalidArgument, "\(problem): \(EchoedText.quote(name))")
        }
        let id = try blobs.write(wasm)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            return try database.write { [log] db in
                if let existing = try Self.record(id, in: db) { return (existing, false) }
                let paths = functions.map(\.path)
                var record = ModuleRecord(
                    id: id, name: name, size: wasm.count, descriptor: descriptor, functions: paths, addedMilliseconds: now,
                    leafIndex: 0)
                record.leafIndex = try LogStorage.append([record.logEntry.bytes], db)
                try db.execute(
                    sql: """
                        INSERT INTO module (id, name, size, descriptor, functions, added, leaf_index, signatures)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id.hex, name, wasm.count, Data(descriptor), paths.joined(separator: "\n"), now, record.leafIndex,
                        FunctionSignature.encode(functions),
                    ])
                try log.signCheckpoint(size: record.leafIndex + 1, db)
                return (record, true)
            }
        } catch {
            throw ContentStoreError(.storage, "cannot record module \(id): \(error)")
        }
    }

    /// The record of a module, or nil.
    public func record(_ id: ModuleID) throws(ContentStoreError) -> ModuleRecord? {
        do {
            return try database.read { db in try Self.record(id, in: db) }
        } catch {
            throw ContentStoreError(.storage, "cannot read module \(id): \(error)")
        }
    }

    /// A module's record and bytes; the bytes are verified against the id (`dataLoss` if not).
    public func module(_ id: ModuleID) throws(ContentStoreError) -> (record: ModuleRecord, wasm: [UInt8]) {
        guard let record = try record(id) else { throw ContentStoreError(.notFound, "no module \(id)") }
        let wasm: [UInt8]
        do {
            wasm = try blobs.read(id)
        } catch where error.code == .notFound {
            throw ContentStoreError(.dataLoss, "module \(id) is recorded but its bytes are missing")
        }
        return (record, wasm)
    }

    /// Modules in the order they were added, at most `limit` (1...1000) and about `maxBytes` of
    /// names, functions and (if `includeDescriptors`) descriptors at a time, but at least one; pass
    /// the returned token to get the next page (nil when there is none). Descriptors are read only
    /// when asked for.
    public func list(
        after token: Int64? = nil, limit: Int = 100, maxBytes: Int = .max, includeDescriptors: Bool = false
    ) throws(ContentStoreError) -> (modules: [ModuleSummary], next: Int64?) {
        let limit = max(1, min(limit, 1000))
        let columns = "seq, id, name, size, added, leaf_index, functions, signatures, length(descriptor) AS descriptor_size"
            + (includeDescriptors ? ", descriptor" : "")
        do {
            return try database.read { db in
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT \(columns) FROM module WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [token ?? 0, limit + 1])
                var modules: [ModuleSummary] = []
                var bytes = 0
                var lastSeq: Int64 = 0
                while let row = try rows.next() {
                    let functions: String = row["functions"]
                    let signatures: String? = row["signatures"]
                    let name: String = row["name"]
                    // What the row adds to a response, roughly: its text, and its descriptor if sent.
                    let weight = 128 + name.utf8.count + functions.utf8.count + (signatures?.utf8.count ?? 0)
                        + (includeDescriptors ? (row["descriptor_size"] as Int? ?? 0) : 0)
                    guard modules.count < limit, modules.isEmpty || bytes + weight <= maxBytes else {
                        return (modules, lastSeq)
                    }
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
        } catch let error as ContentStoreError {
            throw error
        } catch {
            throw ContentStoreError(.storage, "cannot list modules: \(error)")
        }
    }

    private static func record(_ id: ModuleID, in db: Database) throws -> ModuleRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM module WHERE id = ?", arguments: [id.hex]).map(record(from:))
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

    // MARK: - Transparency log

    /// The newest signed checkpoint (it covers every leaf) and its tree size.
    public func checkpoint() throws(ContentStoreError) -> (size: Int64, note: String) {
        try reading("read the checkpoint") { db in
            guard let latest = try LogStorage.latestCheckpoint(db) else { throw LogError(.corrupt, "the log has no checkpoint") }
            return latest
        }
    }

    /// The receipt of a module's leaf against the newest checkpoint, in one consistent read.
    public func receipt(for record: ModuleRecord) throws(ContentStoreError) -> LogReceipt {
        try reading("prove module \(record.id)") { db in
            guard let (size, note) = try LogStorage.latestCheckpoint(db) else { throw LogError(.corrupt, "the log has no checkpoint") }
            guard record.leafIndex >= 0, let leaf = try LogStorage.leaf(record.leafIndex, db) else {
                throw LogError(.corrupt, "module \(record.id) has no log leaf")
            }
            let proof = try LogStorage.inclusionProof(index: record.leafIndex, size: size, db)
            return LogReceipt(leafIndex: record.leafIndex, leaf: leaf, treeSize: size, inclusionProof: proof, checkpoint: note)
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    public func inclusionProof(index: Int64, size: Int64) throws(ContentStoreError) -> [[UInt8]] {
        try reading("prove leaf \(index)") { db in try LogStorage.inclusionProof(index: index, size: size, db) }
    }

    /// The consistency proof between trees of `first` and `second` leaves.
    public func consistencyProof(first: Int64, second: Int64) throws(ContentStoreError) -> [[UInt8]] {
        try reading("prove consistency") { db in try LogStorage.consistencyProof(first: first, second: second, db) }
    }

    /// The roots of the trees of `first` and `second` leaves, read together.
    public func roots(_ first: Int64, _ second: Int64) throws(ContentStoreError) -> ([UInt8], [UInt8]) {
        try reading("compute roots") { db in (try LogStorage.root(size: first, db), try LogStorage.root(size: second, db)) }
    }

    /// Leaves `start..<start+count`.
    public func logEntries(start: Int64, count: Int) throws(ContentStoreError) -> [[UInt8]] {
        try reading("read log entries") { db in try LogStorage.leaves(start: start, count: count, db) }
    }

    /// The number of leaves in the log.
    public func logSize() throws(ContentStoreError) -> Int64 {
        try reading("read the log size") { db in try LogStorage.size(db) }
    }

    private func reading<T>(_ what: String, _ body: (Database) throws -> T) throws(ContentStoreError) -> T {
        do {
            return try database.read(body)
        } catch let error as LogError where error.code == .outOfRange {
            throw ContentStoreError(.invalidArgument, error.message)
        } catch let error as LogError {
            throw ContentStoreError(.dataLoss, "cannot \(what): \(error.message)")
        } catch {
            throw ContentStoreError(.storage, "cannot \(what): \(error)")
        }
    }
}
