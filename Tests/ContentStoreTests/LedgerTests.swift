import Foundation
import Testing
import TransparencyLog
@testable import ContentStore
import WasmRPCCore
import WasmRPCProto
@testable import SQLiteEngine

/// Committing transactions on every engine: optimistic validation of what they read, atomic
/// application with their log leaves, numbering, usage limits; and reading through an overlay.
@Suite(.timeLimit(.minutes(10))) struct LedgerTests {
    let directory = TemporaryDirectory()
    let module = ModuleID(of: Array("a module".utf8))

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func read(_ key: String, _ value: String?) -> Wasmrpc_V1_KeyRead {
        var read = Wasmrpc_V1_KeyRead()
        read.key = Data(bytes(key))
        read.valueSha256 = Data(ContentStore.valueDigest(value.map(bytes)))
        return read
    }

    func pending(reads: [Wasmrpc_V1_KeyRead] = [], ranges: [Wasmrpc_V1_RangeRead] = [], writes: [(String, String?)]) -> PendingTransaction {
        var set = Wasmrpc_V1_ReadSet()
        set.keys = reads
        set.ranges = ranges
        return PendingTransaction(
            module: module, method: "/test.T/m", input: [1], output: [2], reads: set,
            writes: writes.map { StateWrite(key: bytes($0.0), value: $0.1.map(bytes)) }, timeNanoseconds: 1_764_000_000_000_000_000,
            nonce: Array(repeating: 7, count: 16))
    }

    func committed(_ outcome: TransactionOutcome) -> TransactionRecord? {
        if case .committed(let record, _, _) = outcome { return record }
        return nil
    }

    @Test(arguments: Engine.allCases) func aBatchCommitsInOrderAndConflictsAreNotApplied(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let first = try await store.commit([pending(reads: [read("a", nil)], writes: [("a", "1")])], maxStateBytes: 1 << 20)
        #expect(committed(first[0])?.sequence == 1)
        let outcomes = try await store.commit(
            [
                // Read a = 1 (true) and writes it: commits.
                pending(reads: [read("a", "1")], writes: [("a", "2")]),
                // Read a = 1 too, but the one before changed it: a conflict.
                pending(reads: [read("a", "1")], writes: [("b", "x")]),
                // Read a = 2: true once the first of this batch is applied.
                pending(reads: [read("a", "2")], writes: [("a", nil), ("c", "3")]),
            ], maxStateBytes: 1 << 20)
        #expect(committed(outcomes[0])?.sequence == 2)
        guard case .conflict(let reason) = outcomes[1] else { Issue.record("expected a conflict, got \(outcomes[1])"); return }
        #expect(reason.contains("0x61"))
        let third = try #require(committed(outcomes[2]))
        #expect(third.sequence == 3)
        #expect(try await store.stateValue(module, key: bytes("a")) == nil)
        #expect(try await store.stateValue(module, key: bytes("b")) == nil)
        #expect(try await store.stateValue(module, key: bytes("c")) == bytes("3"))
        #expect(try await store.engine.reads.stateUsage(module) == StateUsage(keys: 1, bytes: 2))

        // Every committed transaction is a leaf, in order, covered by the checkpoint.
        let (size, _) = try await store.checkpoint()
        #expect(size == 3)
        let leaves = try await store.logEntries(start: 0, count: 3)
        #expect(try leaves.map { try TransactionLogEntry(parsing: $0).sequence } == [1, 2, 3])
        let entry = try TransactionLogEntry(parsing: leaves[2])
        #expect(entry.module == module.hex && entry.method == "/test.T/m")
        #expect(entry.writesSHA256 == TransactionLogEntry.digest(third.writeSet))
        #expect(third.leafIndex == 2 && third.id == entry.id)
        #expect(try await store.transaction(id: third.id) == third)
        #expect(try await store.transactions(of: module, after: 1).map(\.sequence) == [2, 3])
        let receipt = try await store.receipt(for: third)
        #expect(receipt.leaf == leaves[2] && receipt.treeSize == 3)
        guard case .committed(_, let treeSize, let note) = outcomes[2] else { return }
        let newest = try await store.checkpoint().note
        #expect(treeSize == 3 && note == newest)
        let fromCommit = try await store.receipt(for: third, treeSize: treeSize, checkpoint: note)
        #expect(fromCommit == receipt)
    }

    @Test(arguments: Engine.allCases) func aRangeReadConflictsWhenAKeyAppearsInIt(engine: Engine) async throws {
        let store = try await engine.open(directory)
        _ = try await store.commit([pending(writes: [("k1", "a"), ("k3", "c")])], maxStateBytes: 1 << 20)
        var range = Wasmrpc_V1_RangeRead()
        range.startKey = Data(bytes("k"))
        range.endKey = Data(bytes("l"))
        range.limit = 10
        range.entries = [read("k1", "a"), read("k3", "c")]
        let outcomes = try await store.commit(
            [
                pending(ranges: [range], writes: [("x", "1")]),
                pending(writes: [("k2", "b")]),
                pending(ranges: [range], writes: [("y", "1")]),
            ], maxStateBytes: 1 << 20)
        #expect(committed(outcomes[0]) != nil)
        #expect(committed(outcomes[1]) != nil)
        guard case .conflict = outcomes[2] else { Issue.record("a phantom k2 must conflict, got \(outcomes[2])"); return }
    }

    @Test(arguments: Engine.allCases) func stateOverItsLimitIsRefused(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let outcomes = try await store.commit(
            [pending(writes: [("k", "12345")]), pending(writes: [("l", "1234567890")]), pending(writes: [("k", nil)])], maxStateBytes: 10)
        #expect(committed(outcomes[0]) != nil)
        guard case .refused(let error) = outcomes[1] else { Issue.record("expected a refusal, got \(outcomes[1])"); return }
        #expect(error.code == .limitExceeded)
        // Shrinking is always allowed.
        #expect(committed(outcomes[2])?.sequence == 2)
        #expect(try await store.engine.reads.stateUsage(module) == StateUsage())
    }

    @Test(arguments: Engine.allCases) func aBatchThatFailsLeavesNoTrace(engine: Engine) async throws {
        let store = try await engine.open(directory)
        _ = try await store.commit([pending(writes: [("a", "1")])], maxStateBytes: 1 << 20)
        // Two transactions of one module with the same sequence number cannot be stored: the
        // engine refuses the second insert, and the whole transaction with it.
        let (module, key, value) = (module, bytes("a"), bytes("9"))
        await #expect(throws: ContentStoreError.self) {
            try await store.engine.transaction { transaction throws(ContentStoreError) in
                try await transaction.writeState(module, [StateWrite(key: key, value: value)], usage: StateUsage(keys: 1, bytes: 2))
                let record = TransactionRecord(
                    module: module, sequence: 1, method: "/m", input: [], output: [], readSet: [], writeSet: [], timeNanoseconds: 0,
                    nonce: [], leafIndex: 1)
                try await transaction.insert([record])
            }
        }
        #expect(try await store.stateValue(module, key: bytes("a")) == bytes("1"))
        #expect(try await store.engine.reads.lastTransactionSequence(of: module) == 1)
    }

    @Test(arguments: Engine.allCases) func theGuestReaderSeesCommittedState(engine: Engine) async throws {
        let store = try await engine.open(directory)
        _ = try await store.commit([pending(writes: [("b", "2"), ("a", "1"), ("c", "3")])], maxStateBytes: 1 << 20)
        let reader = store.engine.stateReader
        #expect(try reader.value(module, key: bytes("a")) == bytes("1"))
        #expect(try reader.value(module, key: bytes("z")) == nil)
        #expect(try reader.range(module, start: bytes("b"), end: [], limit: 10).map(\.key) == [bytes("b"), bytes("c")])
        #expect(try reader.range(module, start: [], end: bytes("c"), limit: 1).map(\.key) == [bytes("a")])
        #expect(try reader.value(ModuleID(of: [9]), key: bytes("a")) == nil)
    }

    @Test func rangesReadThroughAnOverlay() {
        let base = ["a", "c", "e", "g"].map { StateEntry(key: bytes($0), value: bytes($0)) }
        func baseRange(_ limit: Int) -> [StateEntry] { Array(base.prefix(limit)) }
        func keys(_ overlay: StateOverlay, limit: Int, start: String = "", end: String = "") -> [String] {
            StateView.range(start: bytes(start), end: bytes(end), limit: limit, overlay: overlay) { count in
                base.filter { StateView.contains($0.key, start: bytes(start), end: bytes(end)) }.prefix(count).map { $0 }
            }.map { String(decoding: $0.key, as: UTF8.self) }
        }
        #expect(keys([:], limit: 2) == ["a", "c"])
        // Deletes hide base entries; the base is read far enough to fill the page anyway.
        let deletes: StateOverlay = [bytes("a"): nil, bytes("c"): nil]
        #expect(keys(deletes, limit: 2) == ["e", "g"])
        // Puts appear in order, and one past the page does not push out what is before it.
        #expect(keys([bytes("b"): .some(bytes("x")), bytes("z"): .some(bytes("z"))], limit: 3) == ["a", "b", "c"])
        #expect(keys([bytes("b"): .some(bytes("x")), bytes("z"): .some(bytes("z"))], limit: 10) == ["a", "b", "c", "e", "g", "z"])
        #expect(keys([bytes("d"): .some(bytes("d"))], limit: 10, start: "c", end: "f") == ["c", "d", "e"])
        #expect(baseRange(2).count == 2)
    }
}
