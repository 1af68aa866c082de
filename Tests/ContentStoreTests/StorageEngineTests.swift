import Foundation
import GRDB
import Testing
import TransparencyLog
@testable import ContentStore
import WasmRPCCore
@testable import SQLiteEngine
@testable import PostgresEngine

/// The contract of `StorageEngine`, on every engine: the stored log, transactions that leave all or
/// nothing, and writes that serialize.
@Suite(.timeLimit(.minutes(10))) struct StorageEngineTests {
    let directory = TemporaryDirectory()

    /// RFC 6962's test leaves and the root of their tree (as in trillian and transparency-dev/merkle).
    static let leaves: [[UInt8]] = [[], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57], Array(0x60...0x6f)]
    static let root = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"

    @Test(arguments: Engine.allCases) func theStoredLogGivesTheRFCRootAndProofsThatVerify(engine: Engine) async throws {
        let store = try await engine.open(directory)
        // Appended in three transactions of different sizes: the subtrees do not depend on batching.
        for batch in [Self.leaves[0..<1], Self.leaves[1..<6], Self.leaves[6...]] {
            _ = try await store.engine.transaction { transaction throws(ContentStoreError) in
                try await transaction.append(Array(batch))
            }
        }
        let reads = store.engine.reads
        let root = try await reads.root(size: 8)
        #expect(Hex.lowercase(root) == Self.root)
        for size in Int64(1)...8 {
            let sizeRoot = try await reads.root(size: size)
            for index in 0..<size {
                let proof = try await reads.inclusionProof(index: index, size: size)
                try MerkleTree.verifyInclusion(
                    index: index, size: size, leafHash: MerkleTree.leafHash(Self.leaves[Int(index)]), proof: proof, root: sizeRoot)
            }
            let proof = try await reads.consistencyProof(first: size, second: 8)
            try MerkleTree.verifyConsistency(first: size, second: 8, firstRoot: sizeRoot, secondRoot: root, proof: proof)
        }
        #expect(try await store.logEntries(start: 3, count: 2) == Array(Self.leaves[3..<5]))
        #expect(try await reads.inclusionProof(index: 0, size: 1) == [])
        #expect(try await reads.consistencyProof(first: 0, second: 8) == [])
        for (what, request) in [
            ("a root past the end", { () async throws(ContentStoreError) in _ = try await reads.root(size: 9) }),
            ("a leaf past the end", { () async throws(ContentStoreError) in _ = try await reads.inclusionProof(index: 8, size: 8) }),
            ("a tree past the end", { () async throws(ContentStoreError) in _ = try await reads.consistencyProof(first: 1, second: 9) }),
            ("sizes in the wrong order", { () async throws(ContentStoreError) in _ = try await reads.consistencyProof(first: 5, second: 4) }),
            // Proofs that need no stored subtree at all are still checked against the log's size.
            ("a tree past the end from the empty tree", { () async throws(ContentStoreError) in _ = try await reads.consistencyProof(first: 0, second: 9) }),
            ("two equal trees past the end", { () async throws(ContentStoreError) in _ = try await reads.consistencyProof(first: 9, second: 9) }),
            ("a negative size", { () async throws(ContentStoreError) in _ = try await reads.root(size: -1) }),
        ] as [(String, () async throws(ContentStoreError) -> Void)] {
            let error = await #expect(throws: ContentStoreError.self, "\(what)") { try await request() }
            #expect(error?.code == .invalidArgument, "\(what): \(String(describing: error))")
        }
    }

    @Test(arguments: Engine.allCases) func aTransactionThatThrowsLeavesNoTrace(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let record = ModuleRecord(
            id: ModuleID(of: [1]), name: "m", size: 1, descriptor: [], functions: [], addedMilliseconds: 0, leafIndex: 0)
        let before = try await store.checkpoint()
        let error = await #expect(throws: ContentStoreError.self) {
            try await store.engine.transaction { transaction throws(ContentStoreError) in
                try await transaction.append([record.logEntry.bytes])
                try await transaction.insert(record, signatures: [])
                try await transaction.signCheckpoint(size: 1, store.log)
                throw ContentStoreError(.storage, "the guest failed")
            }
        }
        #expect(error?.message == "the guest failed")
        #expect(try await store.logSize() == 0)
        #expect(try await store.record(record.id) == nil)
        #expect(try await store.checkpoint().note == before.note)
        // The engine is not left inside the failed transaction: the next one commits.
        let added = try await store.add(wasm: [1], descriptor: [], name: "m", functions: [])
        #expect(added.inserted && added.record.leafIndex == 0)
        #expect(try await store.logSize() == 1)
        #expect(try await store.audit() == [])
    }

    @Test(arguments: Engine.allCases) func concurrentAddsFormOneLog(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let count = 24
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<count {
                group.addTask { _ = try await store.add(wasm: [UInt8(n), 0xAA], descriptor: [UInt8(n)], name: "m\(n)", functions: []) }
            }
            try await group.waitForAll()
        }
        let (size, note) = try await store.checkpoint()
        #expect(size == Int64(count))
        #expect(note.contains("\n\(count)\n"))
        let leafIndices = try await store.list(limit: 1000).modules.map(\.leafIndex)
        #expect(Set(leafIndices) == Set(0..<Int64(count)))
        #expect(try await store.audit() == [])
    }

    /// SQLite commits are durable: the writer fsyncs the WAL at every COMMIT (synchronous = FULL,
    /// 2), not GRDB's WAL default (NORMAL, 1).
    @Test func sqliteCommitsAreDurable() throws {
        let storage = try SQLiteStorage(directory: directory.path)
        #expect(try storage.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }

    @Test func aMissingSubtreeIsDataLossNotABadRequest() async throws {
        let store = try await ContentStore.open(directory: directory.path)
        for n in 0..<4 { _ = try await store.add(wasm: [UInt8(n)], descriptor: [], name: "m\(n)", functions: []) }
        try await DatabaseQueue(path: directory.path + "/wasmrpc.sqlite").write { db in
            try db.execute(sql: "DELETE FROM log_node WHERE level = 1 AND idx = 0")
        }
        let error = await #expect(throws: ContentStoreError.self) { try await store.inclusionProof(index: 3, size: 4) }
        #expect(error?.code == .dataLoss, "\(String(describing: error))")
    }

    /// The audit reads the tree a page of leaves at a time; a damaged subtree past the first page
    /// is found like one in it.
    @Test(arguments: Engine.allCases) func theAuditRecomputesALogOfManyPages(engine: Engine) async throws {
        let store = try await engine.open(directory)
        try await store.engine.transaction { [log = store.log] transaction throws(ContentStoreError) in
            try await transaction.append((0..<2_500).map { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
            try await transaction.signCheckpoint(size: 2_500, log)
        }
        #expect(try await store.audit() == ["the log has 2500 leaves for 0 modules and 0 transactions"])
        switch engine {
        case .sqlite:
            try await DatabaseQueue(path: directory.path + "/wasmrpc.sqlite").write { db in
                try db.execute(sql: "UPDATE log_node SET hash = zeroblob(32) WHERE level = 3 AND idx = 200")
            }
        case .postgres:
            try await TestDatabase.execute(
                "UPDATE log_node SET hash = decode(repeat('00', 32), 'hex') WHERE level = 3 AND idx = 200", in: store.engine.location)
        case .memory: return
        }
        let problems = try await store.audit()
        #expect(problems.contains("stored hash of subtree (level 3, index 200) does not match the leaves"), "\(problems)")
    }

    @Test func aReadOnlyStoreRefusesWrites() async throws {
        _ = try await ContentStore.open(directory: directory.path)
        let store = try await ContentStore.open(directory: directory.path, readOnly: true)
        let error = await #expect(throws: ContentStoreError.self) {
            try await store.add(wasm: [1], descriptor: [], name: "m", functions: [])
        }
        #expect(error?.message.contains("read-only") == true, "\(String(describing: error))")
    }
}
