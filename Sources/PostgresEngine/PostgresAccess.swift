import ContentStore
import Foundation
import NIOCore
import PostgresNIO
import TransparencyLog
import WasmRPCCore

/// Reads through the pool (each statement on whichever connection is free, seeing committed
/// data), or a transaction's reads and writes on its connection (`connection`).
struct PostgresAccess: StorageTransaction {
    let storage: PostgresStorage
    let connection: PostgresConnection?

    /// The rows of `query`, all read.
    func rows(_ what: String, _ query: () throws -> PostgresQuery) async throws(ContentStoreError) -> [PostgresRow] {
        let built: PostgresQuery
        do {
            built = try query()
        } catch {
            throw PostgresStorage.storageError(error, what: what, location: storage.location)
        }
        guard let connection else {
            return try await storage.withConnection(what) { [logger = storage.logger] connection in
                try await connection.query(built, logger: logger).collect()
            }
        }
        do {
            return try await connection.query(built, logger: storage.logger).collect()
        } catch {
            throw PostgresStorage.storageError(error, what: what, location: storage.location)
        }
    }

    func decode<T: PostgresDecodable>(_ row: PostgresRow?, as type: T.Type) throws(ContentStoreError) -> T? {
        guard let row else { return nil }
        let value: T = try decode(row, as: T.self)
        return value
    }

    func decode<T: PostgresDecodable>(_ row: PostgresRow, as type: T.Type) throws(ContentStoreError) -> T {
        do {
            return try row.decode(T.self)
        } catch {
            throw ContentStoreError(.storage, "cannot read a row of \(storage.location): \(PostgresStorage.describe(error))")
        }
    }

    /// The first column of `row`, bytea.
    func bytes(_ row: PostgresRow) throws(ContentStoreError) -> [UInt8] {
        Array(try decode(row, as: ByteBuffer.self).readableBytesView)
    }

    /// A row's columns by name.
    func columns(_ row: PostgresRow) -> PostgresRandomAccessRow { PostgresRandomAccessRow(row) }

    func column<T: PostgresDecodable>(_ name: String, of row: PostgresRandomAccessRow, as type: T.Type) throws(ContentStoreError) -> T {
        do {
            return try row[name].decode(T.self)
        } catch {
            throw ContentStoreError(.storage, "cannot read column \(name) of \(storage.location): \(PostgresStorage.describe(error))")
        }
    }

    func byteColumn(_ name: String, of row: PostgresRandomAccessRow) throws(ContentStoreError) -> [UInt8] {
        Array(try column(name, of: row, as: ByteBuffer.self).readableBytesView)
    }

    // MARK: - Modules

    static let moduleColumns = "seq, id, name, size, added, leaf_index, functions, signatures, length(descriptor) AS descriptor_size"

    func module(_ id: ModuleID) async throws(ContentStoreError) -> ModuleRecord? {
        let rows = try await self.rows("read module \(id)") { "SELECT \(unescaped: Self.moduleColumns), descriptor FROM module WHERE id = \(id.hex)" }
        guard let row = rows.first else { return nil }
        let summary = try self.summary(columns(row), descriptor: true)
        return ModuleRecord(
            id: summary.id, name: summary.name, size: summary.size, descriptor: summary.descriptor ?? [], functions: summary.functions,
            addedMilliseconds: summary.addedMilliseconds, leafIndex: summary.leafIndex)
    }

    func modules(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws(ContentStoreError)
        -> (modules: [ModuleSummary], next: Int64?)
    {
        let columns = Self.moduleColumns + (includeDescriptors ? ", descriptor" : "")
        let rows = try await self.rows("list modules") {
            "SELECT \(unescaped: columns) FROM module WHERE seq > \(token ?? 0) ORDER BY seq LIMIT \(Int64(limit) + 1)"
        }
        var modules: [ModuleSummary] = []
        var bytes = 0
        var lastSeq: Int64 = 0
        for row in rows {
            let row = self.columns(row)
            let summary = try self.summary(row, descriptor: includeDescriptors)
            let weight = ModuleSummary.listingWeight(
                name: summary.name.utf8.count, functions: summary.functions.joined(separator: "\n").utf8.count,
                signatures: try column("signatures", of: row, as: String?.self)?.utf8.count ?? 0,
                descriptor: includeDescriptors ? Int(try column("descriptor_size", of: row, as: Int64.self)) : 0)
            guard modules.count < limit, modules.isEmpty || bytes + weight <= maxBytes else { return (modules, lastSeq) }
            bytes += weight
            lastSeq = try column("seq", of: row, as: Int64.self)
            modules.append(summary)
        }
        return (modules, nil)
    }

    private func summary(_ row: PostgresRandomAccessRow, descriptor: Bool) throws(ContentStoreError) -> ModuleSummary {
        let hex = try column("id", of: row, as: String.self)
        guard let id = ModuleID(hex: hex) else { throw ContentStoreError(.dataLoss, "the index holds the malformed module id \"\(hex)\"") }
        let functions = try column("functions", of: row, as: String.self)
        return ModuleSummary(
            id: id, name: try column("name", of: row, as: String.self), size: Int(try column("size", of: row, as: Int64.self)),
            addedMilliseconds: try column("added", of: row, as: Int64.self), leafIndex: try column("leaf_index", of: row, as: Int64.self),
            functions: functions.isEmpty ? [] : functions.split(separator: "\n").map(String.init),
            signatures: try column("signatures", of: row, as: String?.self).flatMap(FunctionSignature.decode),
            descriptor: descriptor ? try byteColumn("descriptor", of: row) : nil)
    }

    func insert(_ record: ModuleRecord, signatures: [FunctionSignature]) async throws(ContentStoreError) {
        _ = try await rows("record module \(record.id)") {
            """
            INSERT INTO module (id, name, size, descriptor, functions, added, leaf_index, signatures)
            VALUES (\(record.id.hex), \(record.name), \(Int64(record.size)), \(ByteBuffer(bytes: record.descriptor)),
            \(record.functions.joined(separator: "\n")), \(record.addedMilliseconds), \(record.leafIndex),
            \(FunctionSignature.encode(signatures)))
            """
        }
        // Delivered to the other servers' `changes(every:)` when the transaction commits.
        _ = try await rows("announce module \(record.id)") { "SELECT pg_notify(\(PostgresStorage.moduleChannel), \(record.id.hex))" }
    }

    // MARK: - Log

    func logSize() async throws(ContentStoreError) -> Int64 {
        let rows = try await self.rows("read the log size") { "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaf" }
        return try decode(rows.first, as: Int64.self) ?? 0
    }

    func leaves(start: Int64, count: Int) async throws(ContentStoreError) -> [[UInt8]] {
        let rows = try await self.rows("read log leaves") {
            "SELECT idx, data FROM log_leaf WHERE idx >= \(start) ORDER BY idx LIMIT \(Int64(count))"
        }
        var leaves: [[UInt8]] = []
        for row in rows {
            let row = columns(row)
            guard try column("idx", of: row, as: Int64.self) == start + Int64(leaves.count) else { break }
            leaves.append(try byteColumn("data", of: row))
        }
        return leaves
    }

    func subtrees(_ nodes: Set<MerkleTree.Node>) async throws(ContentStoreError) -> [MerkleTree.Node: [UInt8]] {
        guard !nodes.isEmpty else { return [:] }
        let nodes = Array(nodes)
        // One statement for all of them: two arrays zipped into (level, idx) pairs.
        let levels = nodes.map { Int64($0.level) }
        let indices = nodes.map { Int64($0.index) }
        let rows = try await self.rows("read the log's subtree hashes") {
            """
            SELECT n.level, n.idx, n.hash FROM log_node n
            JOIN unnest(\(levels)::bigint[], \(indices)::bigint[]) AS wanted(level, idx) ON n.level = wanted.level AND n.idx = wanted.idx
            """
        }
        var hashes: [MerkleTree.Node: [UInt8]] = [:]
        for row in rows {
            let row = columns(row)
            let node = MerkleTree.Node(level: Int(try column("level", of: row, as: Int64.self)), index: try column("idx", of: row, as: Int64.self))
            hashes[node] = try byteColumn("hash", of: row)
        }
        return hashes
    }

    func latestCheckpoint() async throws(ContentStoreError) -> (size: Int64, note: String)? {
        let rows = try await self.rows("read the checkpoint") { "SELECT size, note FROM log_checkpoint ORDER BY size DESC LIMIT 1" }
        guard let row = rows.first else { return nil }
        let columns = columns(row)
        return (try column("size", of: columns, as: Int64.self), try column("note", of: columns, as: String.self))
    }

    func insertLeaves(_ leaves: [[UInt8]], first: Int64) async throws(ContentStoreError) {
        guard !leaves.isEmpty else { return }
        let indices = leaves.indices.map { first + Int64($0) }
        let data = leaves.map { ByteBuffer(bytes: $0) }
        _ = try await rows("append to the log") {
            "INSERT INTO log_leaf (idx, data) SELECT * FROM unnest(\(indices)::bigint[], \(data)::bytea[])"
        }
    }

    func insertSubtrees(_ hashes: [(MerkleTree.Node, [UInt8])]) async throws(ContentStoreError) {
        guard !hashes.isEmpty else { return }
        let levels = hashes.map { Int64($0.0.level) }
        let indices = hashes.map { Int64($0.0.index) }
        let data = hashes.map { ByteBuffer(bytes: $0.1) }
        _ = try await rows("store the log's subtree hashes") {
            "INSERT INTO log_node (level, idx, hash) SELECT * FROM unnest(\(levels)::bigint[], \(indices)::bigint[], \(data)::bytea[])"
        }
    }

    func insertCheckpoint(_ note: String, size: Int64) async throws(ContentStoreError) {
        _ = try await rows("store a checkpoint") { "INSERT INTO log_checkpoint (size, note) VALUES (\(size), \(note))" }
    }

    // MARK: - World state

    func stateValues(_ owner: ModuleID, keys: [[UInt8]]) async throws(ContentStoreError) -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        let wanted = keys.map { ByteBuffer(bytes: $0) }
        let rows = try await self.rows("read the state of module \(owner)") {
            "SELECT key, value FROM state WHERE owner = \(owner.hex) AND key = ANY(\(wanted)::bytea[])"
        }
        var values: [[UInt8]: [UInt8]] = [:]
        for row in rows {
            let row = columns(row)
            values[try byteColumn("key", of: row)] = try byteColumn("value", of: row)
        }
        return keys.map { values[$0] }
    }

    func stateRange(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) async throws(ContentStoreError) -> [StateEntry] {
        let rows = try await self.rows("read the state of module \(owner)") { Self.rangeQuery(owner, start: start, end: end, limit: limit) }
        return try rows.map { row throws(ContentStoreError) in
            let row = columns(row)
            return StateEntry(key: try byteColumn("key", of: row), value: try byteColumn("value", of: row))
        }
    }

    /// The state entries of `owner` with `start <= key < end` (empty `end`: no bound), in key
    /// order, at most `limit`: columns key, value.
    static func rangeQuery(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) -> PostgresQuery {
        end.isEmpty
            ? """
            SELECT key, value FROM state WHERE owner = \(owner.hex) AND key >= \(ByteBuffer(bytes: start))
            ORDER BY key LIMIT \(Int64(limit))
            """
            : """
            SELECT key, value FROM state WHERE owner = \(owner.hex) AND key >= \(ByteBuffer(bytes: start)) AND key < \(ByteBuffer(bytes: end))
            ORDER BY key LIMIT \(Int64(limit))
            """
    }

    func stateUsage(_ owner: ModuleID) async throws(ContentStoreError) -> StateUsage {
        let rows = try await self.rows("read the state usage of module \(owner)") {
            "SELECT keys, bytes FROM state_usage WHERE owner = \(owner.hex)"
        }
        guard let row = rows.first else { return StateUsage() }
        let columns = columns(row)
        return StateUsage(keys: try column("keys", of: columns, as: Int64.self), bytes: try column("bytes", of: columns, as: Int64.self))
    }

    func writeState(_ owner: ModuleID, _ writes: [StateWrite], usage: StateUsage) async throws(ContentStoreError) {
        let puts = writes.filter { $0.value != nil }
        let deletes = writes.filter { $0.value == nil }.map { ByteBuffer(bytes: $0.key) }
        if !deletes.isEmpty {
            _ = try await rows("write the state of module \(owner)") {
                "DELETE FROM state WHERE owner = \(owner.hex) AND key = ANY(\(deletes)::bytea[])"
            }
        }
        if !puts.isEmpty {
            let keys = puts.map { ByteBuffer(bytes: $0.key) }
            let values = puts.map { ByteBuffer(bytes: $0.value ?? []) }
            _ = try await rows("write the state of module \(owner)") {
                """
                INSERT INTO state (owner, key, value) SELECT \(owner.hex), * FROM unnest(\(keys)::bytea[], \(values)::bytea[])
                ON CONFLICT (owner, key) DO UPDATE SET value = EXCLUDED.value
                """
            }
        }
        _ = try await rows("write the state usage of module \(owner)") {
            """
            INSERT INTO state_usage (owner, keys, bytes) VALUES (\(owner.hex), \(usage.keys), \(usage.bytes))
            ON CONFLICT (owner) DO UPDATE SET keys = EXCLUDED.keys, bytes = EXCLUDED.bytes
            """
        }
    }

    // MARK: - Transactions

    static let transactionColumns = "id, module, sequence, method, input, output, read_set, write_set, time, nonce, leaf_index"

    func transaction(id: String) async throws(ContentStoreError) -> TransactionRecord? {
        let rows = try await self.rows("read transaction \(id)") {
            "SELECT \(unescaped: Self.transactionColumns) FROM ledger_transaction WHERE id = \(id)"
        }
        return try rows.first.map { row throws(ContentStoreError) in try transactionRecord(columns(row)) }
    }

    func transactions(of module: ModuleID, after sequence: Int64, limit: Int, maxBytes: Int) async throws(ContentStoreError)
        -> [TransactionRecord]
    {
        let rows = try await self.rows("read the transactions of module \(module)") {
            """
            SELECT \(unescaped: Self.transactionColumns) FROM ledger_transaction
            WHERE module = \(module.hex) AND sequence > \(sequence) ORDER BY sequence LIMIT \(Int64(limit))
            """
        }
        var page: [TransactionRecord] = []
        var bytes = 0
        for row in rows {
            let record = try transactionRecord(columns(row))
            guard page.isEmpty || bytes + record.listingWeight <= maxBytes else { break }
            bytes += record.listingWeight
            page.append(record)
        }
        return page
    }

    func lastTransactionSequence(of module: ModuleID) async throws(ContentStoreError) -> Int64 {
        let rows = try await self.rows("read the transactions of module \(module)") {
            "SELECT COALESCE(MAX(sequence), 0)::bigint FROM ledger_transaction WHERE module = \(module.hex)"
        }
        return try decode(rows.first, as: Int64.self) ?? 0
    }

    func insert(_ transactions: [TransactionRecord]) async throws(ContentStoreError) {
        for record in transactions {
            _ = try await rows("record transactions") {
                """
                INSERT INTO ledger_transaction (\(unescaped: Self.transactionColumns))
                VALUES (\(record.id), \(record.module.hex), \(record.sequence), \(record.method), \(ByteBuffer(bytes: record.input)),
                \(ByteBuffer(bytes: record.output)), \(ByteBuffer(bytes: record.readSet)), \(ByteBuffer(bytes: record.writeSet)),
                \(record.timeNanoseconds), \(ByteBuffer(bytes: record.nonce)), \(record.leafIndex))
                """
            }
        }
    }

    func transactionRecord(_ row: PostgresRandomAccessRow) throws(ContentStoreError) -> TransactionRecord {
        let hex = try column("module", of: row, as: String.self)
        guard let module = ModuleID(hex: hex) else {
            throw ContentStoreError(.dataLoss, "the ledger holds the malformed module id \"\(hex)\"")
        }
        return TransactionRecord(
            module: module, sequence: try column("sequence", of: row, as: Int64.self), method: try column("method", of: row, as: String.self),
            input: try byteColumn("input", of: row), output: try byteColumn("output", of: row), readSet: try byteColumn("read_set", of: row),
            writeSet: try byteColumn("write_set", of: row), timeNanoseconds: try column("time", of: row, as: Int64.self),
            nonce: try byteColumn("nonce", of: row), leafIndex: try column("leaf_index", of: row, as: Int64.self))
    }
}
