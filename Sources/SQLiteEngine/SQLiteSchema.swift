import ContentStore
import Foundation
import GRDB
import TransparencyLog

/// The SQLite engine's schema: its migrations in order (the SQL of each is a file of `Schema/`),
/// each applied once (GRDB's `DatabaseMigrator` records them), and the check that a store's schema
/// is this version's.
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

    /// The migrations in order: each applies its file of `Schema/` (the schema is written there,
    /// once), and one of them also appends log leaves for modules stored before the log existed.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        let migrations: [(name: String, sql: [UInt8])] = [
            ("modules", PackageResources.modules_sql), ("transparency-log", PackageResources.transparency_log_sql),
            ("module-leaf-index", PackageResources.module_leaf_index_sql), ("module-signatures", PackageResources.module_signatures_sql),
            ("world-state", PackageResources.world_state_sql), ("exactly-once", PackageResources.exactly_once_sql),
        ]
        for (name, sql) in migrations {
            migrator.registerMigration(name) { db in
                try db.execute(sql: String(decoding: sql, as: UTF8.self))
                if name == "module-leaf-index" { try appendLeavesOfEarlierModules(db) }
            }
        }
        return migrator
    }

    /// Modules stored before the log existed get their leaves, in the order they were added.
    private static func appendLeavesOfEarlierModules(_ db: Database) throws {
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
}
