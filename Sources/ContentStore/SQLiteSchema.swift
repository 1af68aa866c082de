import Foundation
import GRDB
import TransparencyLog

/// The SQLite engine's schema: its migrations in order, each applied once (GRDB's
/// `DatabaseMigrator` records them), and the check that a store's schema is this version's.
extension SQLiteStorage {
    /// Refuses a schema that this version did not write: one that misses migrations (`serve`
    /// applies them) or has migrations this version does not know (a newer wasmrpc wrote it).
    static func checkSchemaIsCurrent(_ db: Database) throws {
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

    static var migrator: DatabaseMigrator {
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
        migrator.registerMigration("transparency-log") { db in
            try db.create(table: "log_leaf") { table in
                table.primaryKey("idx", .integer)
                table.column("data", .blob).notNull()
            }
            try db.create(table: "log_node") { table in
                table.column("level", .integer).notNull()
                table.column("idx", .integer).notNull()
                table.column("hash", .blob).notNull()
                table.primaryKey(["level", "idx"])
            }
            try db.create(table: "log_checkpoint") { table in
                table.primaryKey("size", .integer)
                table.column("note", .text).notNull()
            }
        }
        migrator.registerMigration("module-leaf-index") { db in
            try db.alter(table: "module") { table in table.add(column: "leaf_index", .integer) }
            // Modules stored before the log existed get their leaves now, in the order they were added.
            for row in try Row.fetchAll(db, sql: "SELECT * FROM module ORDER BY seq") {
                let record = try SQLiteAccess.record(from: row)
                let index = try SQLiteAccess.size(db)
                let edge = try MerkleTree.nodes(covering: 0, index).map { node in
                    try Data.fetchOne(db, sql: "SELECT hash FROM log_node WHERE level = ? AND idx = ?", arguments: [node.level, node.index])
                        .map(Array.init) ?? []
                }
                try SQLiteAccess.insertLeaves([record.logEntry.bytes], first: index, db)
                try SQLiteAccess.insertSubtrees(try MerkleTree.appending([record.logEntry.bytes], to: index, edge: edge), db)
                try db.execute(sql: "UPDATE module SET leaf_index = ? WHERE seq = ?", arguments: [index, row["seq"] as Int64])
            }
        }
        // The functions' types (FunctionSignature lines), so that List reads no descriptor; NULL for
        // modules stored before (their lists parse the descriptor).
        migrator.registerMigration("module-signatures") { db in
            try db.alter(table: "module") { table in table.add(column: "signatures", .text) }
        }
        migrator.registerMigration("world-state") { db in
            try db.create(table: "state", options: .withoutRowID) { table in
                table.column("owner", .text).notNull()
                table.column("key", .blob).notNull()
                table.column("value", .blob).notNull()
                table.primaryKey(["owner", "key"])
            }
            try db.create(table: "state_usage") { table in
                table.primaryKey("owner", .text)
                table.column("keys", .integer).notNull()
                table.column("bytes", .integer).notNull()
            }
            try db.create(table: "ledger_transaction") { table in
                table.primaryKey("id", .text)
                table.column("module", .text).notNull()
                table.column("sequence", .integer).notNull()
                table.column("method", .text).notNull()
                table.column("input", .blob).notNull()
                table.column("output", .blob).notNull()
                table.column("read_set", .blob).notNull()
                table.column("write_set", .blob).notNull()
                table.column("time", .integer).notNull()
                table.column("nonce", .blob).notNull()
                table.column("leaf_index", .integer).notNull()
                table.uniqueKey(["module", "sequence"])
            }
        }
        // Clients' idempotency keys of transactions (IdempotencyRecord), forgotten after their
        // retention; transactions found by nonce (ContentStore.resolve). One server writes a data
        // directory, so it needs no module claims.
        migrator.registerMigration("exactly-once") { db in
            try db.create(table: "idempotency_key", options: .withoutRowID) { table in
                table.column("module", .text).notNull()
                table.column("key", .text).notNull()
                table.column("transaction_id", .text).notNull()
                table.column("time", .integer).notNull()
                table.primaryKey(["module", "key"])
            }
            try db.create(index: "idempotency_key_time", on: "idempotency_key", columns: ["time"])
            try db.create(index: "ledger_transaction_nonce", on: "ledger_transaction", columns: ["nonce"])
        }
        return migrator
    }
}
