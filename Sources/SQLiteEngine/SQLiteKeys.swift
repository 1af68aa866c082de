import ContentStore
import Foundation
import GRDB
import WasmRPCCore

/// The SQLite engine's idempotency keys (`IdempotencyRecord`) and transactions found by nonce.
extension SQLiteAccess {
    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        try await access("read idempotency key \(key) of module \(module)") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT t.* FROM idempotency_key k JOIN ledger_transaction t ON t.id = k.transaction_id
                    WHERE k.module = ? AND k.key = ? AND k.time >= ?
                    """, arguments: [module.hex, key.text, since]
            ).map(Self.transaction(from:))
        }
    }

    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord] {
        try await access("read the idempotency keys of module \(module)") { db in
            try Row.fetchAll(
                db, sql: "SELECT key, transaction_id, time FROM idempotency_key WHERE module = ? AND key > ? ORDER BY key LIMIT ?",
                arguments: [module.hex, key?.text ?? "", limit]
            ).compactMap { row in
                IdempotencyKey(row["key"] as String).map {
                    IdempotencyRecord(module: module, key: $0, transaction: row["transaction_id"], timeMilliseconds: row["time"])
                }
            }
        }
    }

    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord? {
        try await access("find a transaction of module \(module) by its nonce") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM ledger_transaction WHERE nonce = ? AND module = ?", arguments: [Data(nonce), module.hex])
                .map(Self.transaction(from:))
        }
    }

    func insert(_ keys: [IdempotencyRecord]) async throws(ContentStoreError) {
        try await access("record idempotency keys") { db in
            let statement = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO idempotency_key (module, key, transaction_id, time) VALUES (?, ?, ?, ?)")
            for key in keys { try statement.execute(arguments: [key.module.hex, key.key.text, key.transaction, key.timeMilliseconds]) }
        }
    }

    func forgetIdempotencyKeys(before time: Int64, limit: Int) async throws(ContentStoreError) -> Int {
        try await access("forget expired idempotency keys") { db in
            try db.execute(
                sql: "DELETE FROM idempotency_key WHERE (module, key) IN (SELECT module, key FROM idempotency_key WHERE time < ? LIMIT ?)",
                arguments: [time, limit])
            return db.changesCount
        }
    }
}
