import Foundation
import GRDB

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
}

/// The embedded store: module blobs as content-addressed files, the module index in SQLite (GRDB,
/// WAL), both in one data directory.
///
/// `add` writes and syncs the blob before the index row, in one transaction: a crash leaves either
/// both or only an orphan blob, which nothing lists or serves. Adding the same bytes again returns
/// the existing record.
public final class ContentStore: Sendable {
    public let directory: String
    public let blobs: BlobStore
    private let database: DatabasePool

    public init(directory: String) throws(ContentStoreError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ContentStoreError(.storage, "cannot create the data directory \(directory): \(error)")
        }
        blobs = try BlobStore(root: directory + "/blobs")
        do {
            database = try DatabasePool(path: directory + "/wasmrpc.sqlite")
            try Self.migrator.migrate(database)
        } catch {
            throw ContentStoreError(.storage, "cannot open \(directory)/wasmrpc.sqlite: \(error)")
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
        return migrator
    }

    /// Stores a module (bytes first, durably) and its record. Returns the record and whether it was
    /// new; for bytes already stored, the existing record comes back unchanged.
    public func add(wasm: [UInt8], descriptor: [UInt8], name: String, functions: [String]) throws(ContentStoreError)
        -> (record: ModuleRecord, inserted: Bool)
    {
        let id = try blobs.write(wasm)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        do {
            return try database.write { db in
                if let existing = try Self.record(id, in: db) { return (existing, false) }
                let record = ModuleRecord(
                    id: id, name: name, size: wasm.count, descriptor: descriptor, functions: functions, addedMilliseconds: now)
                try db.execute(
                    sql: "INSERT INTO module (id, name, size, descriptor, functions, added) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [id.hex, name, wasm.count, Data(descriptor), functions.joined(separator: "\n"), now])
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

    /// Modules in the order they were added, `limit` at a time; pass the returned token to get the
    /// next page (nil when there is none).
    public func list(after token: Int64? = nil, limit: Int = 100) throws(ContentStoreError) -> (records: [ModuleRecord], next: Int64?) {
        let limit = max(1, min(limit, 1000))
        do {
            return try database.read { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM module WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [token ?? 0, limit + 1])
                let page = rows.prefix(limit)
                let records = try page.map(Self.record(from:))
                let next: Int64? = rows.count > limit ? page.last?["seq"] : nil
                return (records, next)
            }
        } catch {
            throw ContentStoreError(.storage, "cannot list modules: \(error)")
        }
    }

    private static func record(_ id: ModuleID, in db: Database) throws -> ModuleRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM module WHERE id = ?", arguments: [id.hex]).map(record(from:))
    }

    private static func record(from row: Row) throws -> ModuleRecord {
        let hex: String = row["id"]
        guard let id = ModuleID(hex: hex) else {
            throw ContentStoreError(.dataLoss, "the index holds the malformed module id \"\(hex)\"")
        }
        let functions: String = row["functions"]
        let descriptor: Data = row["descriptor"]
        return ModuleRecord(
            id: id, name: row["name"], size: row["size"], descriptor: Array(descriptor),
            functions: functions.isEmpty ? [] : functions.split(separator: "\n").map(String.init), addedMilliseconds: row["added"])
    }
}
