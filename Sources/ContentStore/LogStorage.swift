import Foundation
import GRDB
import TransparencyLog

/// The Merkle log in SQLite, inside the caller's transactions (the content store appends a leaf
/// in the same transaction that records the module).
///
/// Tables: `log_leaf(idx, data)` holds the leaves; `log_node(level, idx, hash)` holds the hash of
/// every complete subtree (level 0 = leaf hashes). An append writes the leaf, its hash, and the
/// hashes of the subtrees it completes: O(log n) rows. Any root or proof is a right fold of at
/// most ~2·log₂ n stored hashes, fetched by primary key: nothing is recomputed from the leaves.
public enum LogStorage {
    /// Adds the log's tables to `migrator` (idempotent across restarts, like any GRDB migration).
    public static func registerMigrations(_ migrator: inout DatabaseMigrator) {
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
    }

    /// The number of leaves.
    public static func size(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaf") ?? 0
    }

    /// Appends leaves in order and returns the index of the first.
    @discardableResult
    public static func append(_ leaves: [[UInt8]], _ db: Database) throws -> Int64 {
        let first = try size(db)
        let insertLeaf = try db.cachedStatement(sql: "INSERT INTO log_leaf (idx, data) VALUES (?, ?)")
        let insertNode = try db.cachedStatement(sql: "INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)")
        // Hashes of the nodes on the right edge that later appends complete, by level.
        var pending: [Int: [UInt8]] = [:]
        for (offset, leaf) in leaves.enumerated() {
            let index = first + Int64(offset)
            try insertLeaf.execute(arguments: [index, Data(leaf)])
            var hash = MerkleTree.leafHash(leaf)
            var (level, position) = (0, index)
            try insertNode.execute(arguments: [level, position, Data(hash)])
            // A right child completes its parent.
            while position & 1 == 1 {
                let left = try pending.removeValue(forKey: level) ?? node(level, position - 1, db)
                hash = MerkleTree.nodeHash(left, hash)
                level += 1
                position >>= 1
                try insertNode.execute(arguments: [level, position, Data(hash)])
            }
            pending[level] = hash
        }
        return first
    }

    /// The stored hash of a complete subtree, if any.
    static func storedNode(_ level: Int, _ index: Int64, _ db: Database) throws -> Data? {
        // A cached statement: a proof reads ~20–40 nodes, and preparing SQL each time dominated.
        let statement = try db.cachedStatement(sql: "SELECT hash FROM log_node WHERE level = ? AND idx = ?")
        return try Data.fetchOne(statement, arguments: [level, index])
    }

    /// The stored hash of a complete subtree.
    static func node(_ level: Int, _ index: Int64, _ db: Database) throws -> [UInt8] {
        guard let data = try storedNode(level, index, db), data.count == 32 else {
            throw LogError(.corrupt, "the log has no hash for the subtree at level \(level), index \(index)")
        }
        return Array(data)
    }

    /// The hash of leaves `start..<end` (a range RFC 9162's recursion produces).
    static func rangeHash(_ start: Int64, _ end: Int64, _ db: Database) throws -> [UInt8] {
        try MerkleTree.foldRight(MerkleTree.nodes(covering: start, end).map { try node($0.level, $0.index, db) })
    }

    /// The root of the tree of the first `size` leaves.
    public static func root(size: Int64, _ db: Database) throws -> [UInt8] {
        let current = try self.size(db)
        guard size >= 0, size <= current else { throw LogError(.outOfRange, "the log has \(current) leaves, not \(size)") }
        return try rangeHash(0, size, db)
    }

    public static func inclusionProof(index: Int64, size: Int64, _ db: Database) throws -> [[UInt8]] {
        let current = try self.size(db)
        guard size <= current else { throw LogError(.outOfRange, "the log has \(current) leaves, not \(size)") }
        return try MerkleTree.inclusionRanges(index: index, size: size).map { try rangeHash($0.0, $0.1, db) }
    }

    public static func consistencyProof(first: Int64, second: Int64, _ db: Database) throws -> [[UInt8]] {
        let current = try self.size(db)
        guard second <= current else { throw LogError(.outOfRange, "the log has \(current) leaves, not \(second)") }
        return try MerkleTree.consistencyRanges(first: first, second: second).map { try rangeHash($0.0, $0.1, db) }
    }

    /// Recomputes every complete subtree hash from the leaves and compares it with the stored one
    /// (an audit: O(n)). Returns the number of leaves read, the root they give, and one line per
    /// problem.
    public static func recompute(_ db: Database) throws -> (size: Int64, root: [UInt8], problems: [String]) {
        var problems: [String] = []
        var edge: [(level: Int, hash: [UInt8])] = []  // completed subtrees on the right edge
        var index: Int64 = 0
        let leaves = try Row.fetchCursor(db, sql: "SELECT idx, data FROM log_leaf ORDER BY idx")
        while let row = try leaves.next() {
            guard row["idx"] as Int64 == index else {
                problems.append("log leaf \(index) is missing")
                break
            }
            let leaf: Data = row["data"]
            var hash = MerkleTree.leafHash(leaf)
            var (level, position) = (0, index)
            while true {
                if try storedNode(level, position, db) != Data(hash) {
                    problems.append("stored hash of subtree (level \(level), index \(position)) does not match the leaves")
                }
                guard position & 1 == 1, let left = edge.popLast() else { break }
                hash = MerkleTree.nodeHash(left.hash, hash)
                level += 1
                position >>= 1
            }
            edge.append((level, hash))
            index += 1
        }
        return (index, MerkleTree.foldRight(edge.map(\.hash)), problems)
    }

    /// Leaves `start..<start+count` (fewer at the end of the log).
    public static func leaves(start: Int64, count: Int, _ db: Database) throws -> [[UInt8]] {
        try Data.fetchAll(
            db, sql: "SELECT data FROM log_leaf WHERE idx >= ? ORDER BY idx LIMIT ?", arguments: [start, count]
        ).map(Array.init)
    }

    public static func leaf(_ index: Int64, _ db: Database) throws -> [UInt8]? {
        try Data.fetchOne(db, sql: "SELECT data FROM log_leaf WHERE idx = ?", arguments: [index]).map(Array.init)
    }

    // MARK: - Checkpoints

    /// Stores the checkpoint of the tree of `size` leaves. One is never replaced: storing a second
    /// for the same size fails (a stored checkpoint that no longer verifies must stay the damage
    /// it is).
    public static func storeCheckpoint(_ note: String, size: Int64, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO log_checkpoint (size, note) VALUES (?, ?)", arguments: [size, note])
    }

    /// The signed checkpoint with the largest tree size, and that size.
    public static func latestCheckpoint(_ db: Database) throws -> (size: Int64, note: String)? {
        try Row.fetchOne(db, sql: "SELECT size, note FROM log_checkpoint ORDER BY size DESC LIMIT 1").map { ($0["size"], $0["note"]) }
    }

    /// The smallest signed checkpoint whose tree has at least `size` leaves.
    public static func checkpoint(atLeast size: Int64, _ db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT note FROM log_checkpoint WHERE size >= ? ORDER BY size LIMIT 1", arguments: [size])
    }
}
