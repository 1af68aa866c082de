import ContentStore
import PostgresNIO
import WasmRPCCore

/// The PostgreSQL engine's idempotency keys (`IdempotencyRecord`), transactions found by nonce,
/// and the module claims (`ModuleClaim`) its transactions see.
extension PostgresAccess {
    /// The database server's clock in milliseconds since 1970: claims are timed by it, so that
    /// servers with different clocks agree on when one ends.
    static let databaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    func transaction(of module: ModuleID, idempotencyKey key: IdempotencyKey, since: Int64) async throws(ContentStoreError)
        -> TransactionRecord?
    {
        let rows = try await self.rows("read idempotency key \(key) of module \(module)") {
            """
            SELECT \(unescaped: Self.transactionColumns) FROM ledger_transaction WHERE id = (
                SELECT transaction_id FROM idempotency_key WHERE module = \(module.hex) AND key = \(key.text) AND time >= \(since))
            """
        }
        return try rows.first.map { row throws(ContentStoreError) in try transactionRecord(columns(row)) }
    }

    func idempotencyKeys(of module: ModuleID, after key: IdempotencyKey?, limit: Int) async throws(ContentStoreError) -> [IdempotencyRecord] {
        let rows = try await self.rows("read the idempotency keys of module \(module)") {
            """
            SELECT key, transaction_id, time FROM idempotency_key WHERE module = \(module.hex) AND key COLLATE "C" > \(key?.text ?? "")
            ORDER BY key COLLATE "C" LIMIT \(Int64(limit))
            """
        }
        var keys: [IdempotencyRecord] = []
        for row in rows {
            let row = columns(row)
            guard let key = IdempotencyKey(try column("key", of: row, as: String.self)) else { continue }
            keys.append(
                IdempotencyRecord(
                    module: module, key: key, transaction: try column("transaction_id", of: row, as: String.self),
                    timeMilliseconds: try column("time", of: row, as: Int64.self)))
        }
        return keys
    }

    func transaction(of module: ModuleID, nonce: [UInt8]) async throws(ContentStoreError) -> TransactionRecord? {
        let rows = try await self.rows("find a transaction of module \(module) by its nonce") {
            """
            SELECT \(unescaped: Self.transactionColumns) FROM ledger_transaction
            WHERE nonce = \(ByteBuffer(bytes: nonce)) AND module = \(module.hex)
            """
        }
        return try rows.first.map { row throws(ContentStoreError) in try transactionRecord(columns(row)) }
    }

    func insert(_ keys: [IdempotencyRecord]) async throws(ContentStoreError) {
        guard !keys.isEmpty else { return }
        let (modules, names) = (keys.map(\.module.hex), keys.map(\.key.text))
        let (transactions, times) = (keys.map(\.transaction), keys.map(\.timeMilliseconds))
        _ = try await rows("record idempotency keys") {
            """
            INSERT INTO idempotency_key (module, key, transaction_id, time)
            SELECT * FROM unnest(\(modules)::text[], \(names)::text[], \(transactions)::text[], \(times)::bigint[])
            ON CONFLICT (module, key) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, time = EXCLUDED.time
            """
        }
    }

    func claims(of modules: Set<ModuleID>) async throws(ContentStoreError) -> [ModuleID: String] {
        guard !modules.isEmpty else { return [:] }
        let wanted = modules.map(\.hex)
        // A claim that ends further off than any claim lasts was made before the clock stepped back.
        let rows = try await self.rows("read module claims") {
            """
            SELECT module, owner FROM module_claim WHERE module = ANY(\(wanted)::text[])
            AND until > \(unescaped: Self.databaseNow) AND until <= \(unescaped: Self.databaseNow) + \(ModuleClaim.longest.milliseconds)
            """
        }
        var owners: [ModuleID: String] = [:]
        for row in rows {
            let row = columns(row)
            if let module = ModuleID(hex: try column("module", of: row, as: String.self)) { owners[module] = try column("owner", of: row, as: String.self) }
        }
        return owners
    }

    func forgetIdempotencyKeys(before time: Int64, limit: Int) async throws(ContentStoreError) -> Int {
        let rows = try await self.rows("forget expired idempotency keys") {
            """
            WITH forgotten AS (
                DELETE FROM idempotency_key WHERE (module, key) IN (SELECT module, key FROM idempotency_key WHERE time < \(time) LIMIT \(Int64(limit)))
                RETURNING 1)
            SELECT count(*) FROM forgotten
            """
        }
        return Int(try decode(rows.first, as: Int64.self) ?? 0)
    }
}
