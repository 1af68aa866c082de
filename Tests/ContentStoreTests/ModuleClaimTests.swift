import Foundation
import Testing
@testable import ContentStore
import WasmRPCCore
import WasmRPCProto
@testable import SQLiteEngine
@testable import PostgresEngine

/// Module claims on the engines that keep them (shared ones: PostgreSQL, memory): while one is in
/// force, only the module's transactions that its owner (a server) ran commit (others are
/// conflicts; other modules are untouched); a claim ends when it expires or is released, one owner
/// cannot take another's claim in force, and a claim that seems to end too far off (the clock
/// stepped back) is not in force. A data directory has one writer and keeps none.
@Suite(.timeLimit(.minutes(10))) struct ModuleClaimTests {
    let directory = TemporaryDirectory()
    let module = ModuleID(of: Array("a module".utf8))
    let other = ModuleID(of: Array("another module".utf8))

    static var sharedEngines: [Engine] { Engine.allCases.filter { $0 != .sqlite } }

    func pending(_ module: ModuleID, _ value: String, origin: String? = nil) -> PendingTransaction {
        PendingTransaction(
            module: module, method: "/test.T/m", input: Array(value.utf8), output: [2], reads: Wasmrpc_V1_ReadSet(),
            writes: [StateWrite(key: Array("k".utf8), value: Array(value.utf8))], timeNanoseconds: 1_764_000_000_000_000_000,
            nonce: Array(repeating: 7, count: 16), origin: origin)
    }

    func isCommitted(_ outcome: TransactionOutcome) -> Bool {
        if case .committed = outcome { return true }
        return false
    }

    func isConflict(_ outcome: TransactionOutcome) -> Bool {
        if case .conflict = outcome { return true }
        return false
    }

    /// Claims the module for `owner` for as long as a claim may last (`ModuleClaim.longest`): the
    /// steps that need it in force come right after, each with a claim renewed just before.
    func claim(_ store: ContentStore, _ owner: String) async throws -> ClaimState? {
        try await store.claim(ModuleClaim(module: module, owner: owner), for: ModuleClaim.longest)
    }

    @Test(arguments: sharedEngines) func onlyTheOwnersTransactionsCommitWhileItsClaimIsInForce(engine: Engine) async throws {
        let store = try await engine.open(directory)
        #expect(try await claim(store, "alice")?.owner == "alice")
        let refused = try #require(try await claim(store, "bob"))
        #expect(refused.owner == "alice" && refused.remaining > .zero && refused.remaining <= ModuleClaim.longest)
        // Renewing one's own claim is fine.
        #expect(try await claim(store, "alice")?.owner == "alice")
        let outcomes = try await store.commit(
            [
                pending(module, "bob", origin: "bob"), pending(module, "nobody"), pending(other, "elsewhere", origin: "bob"),
                pending(module, "alice", origin: "alice"), pending(module, "alice again", origin: "alice"),
            ], maxStateBytes: 1 << 20)
        #expect(isConflict(outcomes[0]) && isConflict(outcomes[1]))
        #expect(isCommitted(outcomes[2]) && isCommitted(outcomes[3]) && isCommitted(outcomes[4]))
        #expect(try await store.stateValue(module, key: Array("k".utf8)) == Array("alice again".utf8))
        // Still alice's until it ends.
        #expect(try await claim(store, "alice")?.owner == "alice")
        #expect(isConflict(try await store.commit([pending(module, "bob", origin: "bob")], maxStateBytes: 1 << 20)[0]))
    }

    @Test(arguments: sharedEngines) func aReleasedClaimBlocksNobody(engine: Engine) async throws {
        let store = try await engine.open(directory)
        #expect(try await claim(store, "alice")?.owner == "alice")
        try await store.release(ModuleClaim(module: module, owner: "bob"))  // not bob's: nothing happens
        #expect(try await claim(store, "alice")?.owner == "alice")
        #expect(isConflict(try await store.commit([pending(module, "1")], maxStateBytes: 1 << 20)[0]))
        try await store.release(ModuleClaim(module: module, owner: "alice"))
        #expect(isCommitted(try await store.commit([pending(module, "2")], maxStateBytes: 1 << 20)[0]))
        #expect(try await claim(store, "bob")?.owner == "bob")
    }

    @Test(.enabled(if: TestDatabase.url != nil)) func anExpiredClaimOrOneFromBeforeTheClockSteppedBackIsNotInForce() async throws {
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let database = try await TestDatabase.create()
        let store = try await ContentStore.open(
            engine: try await PostgresStorage.open(url: database), log: LogIdentity.load(directory: directory.path, origin: "test", encodedKey: nil))
        let now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
        for until in ["\(now) - 60000", "\(now) + 3600000"] {
            try await TestDatabase.execute(
                "INSERT INTO module_claim (module, owner, until) VALUES ('\(module.hex)', 'carol', \(until)) "
                    + "ON CONFLICT (module) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until", in: database)
            #expect(isCommitted(try await store.commit([pending(module, until)], maxStateBytes: 1 << 20)[0]), "\(until)")
            #expect(try await claim(store, "dave")?.owner == "dave", "\(until)")
            try await store.release(ModuleClaim(module: module, owner: "dave"))
        }
    }

    @Test func aDataDirectoryKeepsNoClaims() async throws {
        let store = try await Engine.sqlite.open(directory)
        #expect(try await claim(store, "alice") == nil)
        #expect(isCommitted(try await store.commit([pending(module, "1", origin: "bob")], maxStateBytes: 1 << 20)[0]))
    }
}
