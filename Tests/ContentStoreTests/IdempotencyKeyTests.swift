import Foundation
import Testing
@testable import ContentStore
import WasmRPCCore
import WasmRPCProto
@testable import SQLiteEngine

/// Idempotency keys on every engine: a transaction whose key a transaction of its module holds is
/// a duplicate (not committed, whatever it read), within a batch and across batches; keys are
/// per module, expire after the retention, and are forgotten.
@Suite(.timeLimit(.minutes(10))) struct IdempotencyKeyTests {
    let directory = TemporaryDirectory()
    let module = ModuleID(of: Array("a module".utf8))
    let other = ModuleID(of: Array("another module".utf8))
    let key = IdempotencyKey("payment-42")!

    func pending(_ module: ModuleID, writes value: String, key: IdempotencyKey?) -> PendingTransaction {
        PendingTransaction(
            module: module, method: "/test.T/m", input: Array(value.utf8), output: [2], reads: Wasmrpc_V1_ReadSet(),
            writes: [StateWrite(key: Array("k".utf8), value: Array(value.utf8))], timeNanoseconds: 1_764_000_000_000_000_000,
            nonce: Array(repeating: 7, count: 16), idempotencyKey: key)
    }

    func committed(_ outcome: TransactionOutcome) -> TransactionRecord? {
        if case .committed(let record, _, _) = outcome { return record }
        return nil
    }

    func duplicate(_ outcome: TransactionOutcome) -> TransactionRecord? {
        if case .duplicate(let record) = outcome { return record }
        return nil
    }

    @Test(arguments: Engine.allCases) func aKeyCommitsOnceAcrossAndWithinBatches(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let first = try #require(committed(try await store.commit([pending(module, writes: "1", key: key)], maxStateBytes: 1 << 20)[0]))
        let outcomes = try await store.commit(
            [
                pending(module, writes: "2", key: key),  // the key is taken: a duplicate
                pending(module, writes: "3", key: IdempotencyKey("payment-43")),
                pending(module, writes: "4", key: IdempotencyKey("payment-43")),  // taken earlier in this batch
                pending(other, writes: "5", key: key),  // keys are per module
            ], maxStateBytes: 1 << 20)
        #expect(duplicate(outcomes[0]) == first)
        let second = try #require(committed(outcomes[1]))
        #expect(duplicate(outcomes[2]) == second)
        #expect(committed(outcomes[3])?.module == other)
        #expect(try await store.stateValue(module, key: Array("k".utf8)) == Array("3".utf8))
        #expect(try await store.lastTransactionSequence(of: module) == 2)
        #expect(try await store.transaction(of: module, idempotencyKey: key, retention: .seconds(60)) == first)
        #expect(try await store.transaction(of: module, idempotencyKey: IdempotencyKey("payment-43")!, retention: .seconds(60)) == second)
        #expect(try await store.transaction(of: module, idempotencyKey: IdempotencyKey("unused")!, retention: .seconds(60)) == nil)
    }

    @Test(arguments: Engine.allCases) func anExpiredKeyNamesNothingAndIsForgotten(engine: Engine) async throws {
        let store = try await engine.open(directory)
        let first = try #require(committed(try await store.commit([pending(module, writes: "1", key: key)], maxStateBytes: 1 << 20)[0]))
        // Recorded a day and a minute ago.
        let old = ContentStore.nowMilliseconds() - 24 * 3600 * 1000 - 60_000
        let record = IdempotencyRecord(module: module, key: key, transaction: first.id, timeMilliseconds: old)
        try await store.engine.transaction { transaction throws(ContentStoreError) in try await transaction.insert([record]) }
        #expect(try await store.transaction(of: module, idempotencyKey: key, retention: .seconds(24 * 3600)) == nil)
        #expect(try await store.transaction(of: module, idempotencyKey: key, retention: .seconds(48 * 3600)) == first)
        // Past the retention the key names a new call, which takes it over.
        let second = try #require(committed(try await store.commit([pending(module, writes: "2", key: key)], maxStateBytes: 1 << 20)[0]))
        #expect(try await store.transaction(of: module, idempotencyKey: key, retention: .seconds(60)) == second)
        try await store.engine.transaction { transaction throws(ContentStoreError) in
            _ = try await transaction.forgetIdempotencyKeys(before: ContentStore.nowMilliseconds() + 1, limit: 10)
        }
        #expect(try await store.transaction(of: module, idempotencyKey: key, retention: .seconds(48 * 3600)) == nil)
        #expect(try await store.transaction(id: first.id) == first)
    }

    @Test func aCopyToANewStoreKeepsTheKeys() async throws {
        let source = try await Engine.sqlite.open(directory)
        let added = try await source.add(wasm: Array("not really wasm".utf8), descriptor: [], name: "m", functions: []).record.id
        let first = try #require(committed(try await source.commit([pending(added, writes: "1", key: key)], maxStateBytes: 1 << 20)[0]))
        let destination = try await ContentStore.open(engine: MemoryStorage(), log: source.log)
        _ = try await source.copy(to: destination)
        #expect(try await destination.transaction(of: added, idempotencyKey: key, retention: .seconds(60)) == first)
        #expect(duplicate(try await destination.commit([pending(added, writes: "2", key: key)], maxStateBytes: 1 << 20)[0]) == first)
    }
}
