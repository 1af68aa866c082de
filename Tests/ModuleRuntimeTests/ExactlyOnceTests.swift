import ContentStore
import Foundation
import GeneratedTestProtos
import ModuleRuntime
import Synchronization
import TestSupport
import Testing
import WasmRPCCore
import SQLiteEngine

/// What a transaction call's answer means (docs/CHAINCODE.md, "What an answer means" and
/// "Exactly-once calls"): an error the server decides leaves no trace, a committed transaction is
/// answered as committed whatever happens to the caller meanwhile, and a retry with the same
/// idempotency key answers the first call instead of running again.
@Suite(.timeLimit(.minutes(10))) struct ExactlyOnceTests {
    static let key = IdempotencyKey("order-1")!

    struct Counter {
        let runtime: ModuleRuntime
        let id: ModuleID

        func add(_ name: String, by: Int64 = 1, key: IdempotencyKey? = nil) async throws -> (value: Int64, invocation: Invocation) {
            let invocation = try await runtime.invoke(
                module: id, function: "Add", typeURL: "", parameters: try Counter_AddRequest.with { $0.name = name; $0.by = by }.serializedBytes(),
                idempotencyKey: key)
            return (try Counter_Value(serializedBytes: invocation.output).value, invocation)
        }

        func get(_ name: String) async throws -> Int64 {
            let invocation = try await runtime.invoke(
                module: id, function: "Get", typeURL: "", parameters: try Counter_Name.with { $0.name = name }.serializedBytes())
            return try Counter_Value(serializedBytes: invocation.output).value
        }

        var transactions: Int64 { get async throws { try await runtime.store.engine.reads.lastTransactionSequence(of: id) } }
    }

    /// The counter module on a runtime over `engine` (a fresh data directory's SQLite if nil), or
    /// over the SQLite store in `directory`.
    func withCounter<T>(
        engine: (any StorageEngine)? = nil, directory: String? = nil, _ body: (Counter) async throws -> T
    ) async throws -> T {
        let ownDirectory = directory == nil ? temporaryDirectory() : nil
        defer { if let ownDirectory { try? FileManager.default.removeItem(atPath: ownDirectory) } }
        let directory = directory ?? ownDirectory ?? ""
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store =
            if let engine {
                try await ContentStore.open(engine: engine, log: LogIdentity.load(directory: directory, origin: "test", encodedKey: nil))
            } else {
                try await ContentStore.open(directory: directory)
            }
        var configuration = RuntimeConfiguration()
        configuration.wapc.timeout = .seconds(60)
        // Calls that wait for the module's one instance while the suite loads the machine.
        configuration.maxWait = .seconds(120)
        let runtime = ModuleRuntime(store: store, configuration: configuration)
        do {
            let id = try await runtime.add(wasm: counterWasm, descriptorSet: counterDescriptor, name: "").record.id
            let result = try await body(Counter(runtime: runtime, id: id))
            await runtime.shutdown()
            return result
        } catch {
            await runtime.shutdown()
            throw error
        }
    }

    @Test func aRetryWithTheKeyAnswersTheFirstCallWithoutRunningAgain() async throws {
        try await withCounter { counter in
            let (first, original) = try await counter.add("apples", by: 5, key: Self.key)
            #expect(first == 5 && !original.replayed)
            let (again, retried) = try await counter.add("apples", by: 5, key: Self.key)
            #expect(again == 5 && retried.replayed)
            #expect(retried.transaction?.record == original.transaction?.record)
            #expect(retried.transaction?.receipt?.leaf == original.transaction?.receipt?.leaf)
            #expect(try await counter.get("apples") == 5)
            #expect(try await counter.transactions == 1)
            // Another key (or none) is another call.
            #expect(try await counter.add("apples", by: 5, key: IdempotencyKey("order-2")).value == 10)
            #expect(try await counter.add("apples", by: 5).value == 15)
            #expect(try await counter.transactions == 3)
        }
    }

    @Test func aKeyUsedForAnotherRequestIsRefusedAndRunsNothing() async throws {
        try await withCounter { counter in
            _ = try await counter.add("apples", by: 5, key: Self.key)
            await #expect(throws: ModuleRuntimeError.self) { _ = try await counter.add("apples", by: 6, key: Self.key) }
            do {
                _ = try await counter.add("pears", by: 5, key: Self.key)
                Issue.record("a key reused for another request ran")
            } catch let error as ModuleRuntimeError {
                #expect(error.code == .idempotencyKeyReused)
                #expect(error.message.contains("order-1"))
            }
            #expect(try await counter.get("apples") == 5)
            #expect(try await counter.get("pears") == 0)
            #expect(try await counter.transactions == 1)
        }
    }

    @Test func callsWithOneKeyAtOnceCommitOnce() async throws {
        try await withCounter { counter in
            let answers = try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let (value, invocation) = try await counter.add("apples", key: Self.key)
                        return (value, invocation.replayed)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == 1 })
            #expect(answers.filter { !$0.1 }.count == 1)
            #expect(try await counter.get("apples") == 1)
            #expect(try await counter.transactions == 1)
        }
    }

    @Test func aKeyOutlivesARestart() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = try await withCounter(directory: directory) { counter in try await counter.add("apples", by: 3, key: Self.key) }
        try await withCounter(directory: directory) { counter in
            let (value, retried) = try await counter.add("apples", by: 3, key: Self.key)
            #expect(value == 3 && retried.replayed)
            #expect(retried.transaction?.record == original.invocation.transaction?.record)
            #expect(try await counter.get("apples") == 3)
        }
    }

    /// A call whose caller goes away (its task is cancelled) while its transaction waits for the
    /// commit answers the commit's outcome, receipt and all: the engine's reads are not made in
    /// the cancelled task.
    @Test func aCallCancelledWhileItsTransactionCommitsAnswersTheTransaction() async throws {
        let engine = FaultyStorage()
        try await withCounter(engine: engine) { counter in
            engine.holdCommits()
            let call = Task { try await counter.add("apples") }
            while engine.heldCommits == 0 { await Task.yield() }
            call.cancel()
            engine.releaseCommits()
            let (value, invocation) = try await call.value
            #expect(value == 1)
            #expect(invocation.transaction?.receipt != nil)
            #expect(try await counter.transactions == 1)
        }
    }

    /// A transaction that committed is answered as committed even when its receipt cannot be read
    /// at once; the receipt is read later (State.GetTransaction).
    @Test func aCommittedTransactionWhoseReceiptCannotBeReadIsAnsweredAsCommitted() async throws {
        let engine = FaultyStorage()
        try await withCounter(engine: engine) { counter in
            engine.failProofs = true
            let (value, invocation) = try await counter.add("apples")
            #expect(value == 1)
            let transaction = try #require(invocation.transaction)
            #expect(transaction.receipt == nil)
            engine.failProofs = false
            let receipt = try await counter.runtime.store.receipt(for: transaction.record)
            #expect(receipt.leafIndex == transaction.record.leafIndex)
            #expect(try await counter.transactions == 1)
        }
    }

    /// A replay whose receipt cannot be read is answered all the same (the transaction is
    /// committed; its receipt comes later).
    @Test func aReplayWhoseReceiptCannotBeReadIsAnswered() async throws {
        let engine = FaultyStorage()
        try await withCounter(engine: engine) { counter in
            let original = try await counter.add("apples", key: Self.key)
            engine.failProofs = true
            let (value, replay) = try await counter.add("apples", key: Self.key)
            #expect(value == 1 && replay.replayed)
            #expect(replay.transaction?.record == original.invocation.transaction?.record && replay.transaction?.receipt == nil)
        }
    }

    /// A commit that failed after its writes were in (the answer to COMMIT lost) is answered as
    /// committed, once; one that failed before runs again and commits once.
    @Test(arguments: [FaultyStorage.TransactionFailure.after, .before]) func aCommitThatFailedIsAnsweredAsWhatHappened(
        failure: FaultyStorage.TransactionFailure
    ) async throws {
        let engine = FaultyStorage()
        try await withCounter(engine: engine) { counter in
            _ = try await counter.add("apples")  // the module is known to use state: the next call commits at once
            engine.failTransactions([failure])
            let (value, invocation) = try await counter.add("apples")
            #expect(value == 2)
            #expect(invocation.transaction?.record.sequence == 2)
            #expect(try await counter.get("apples") == 2)
            #expect(try await counter.transactions == 2)
        }
    }

    /// When the store cannot tell whether a failed commit happened, the call fails as
    /// `outcomeUnknown` (UNKNOWN), the one error after which it may have committed.
    @Test func aCommitWhoseOutcomeCannotBeLearnedIsUnknown() async throws {
        let engine = FaultyStorage()
        try await withCounter(engine: engine) { counter in
            _ = try await counter.add("apples")
            engine.failTransactions([.after, .before])
            do {
                _ = try await counter.add("apples", key: Self.key)
                Issue.record("the call answered although its outcome was unknown")
            } catch let error as ModuleRuntimeError {
                #expect(error.code == .outcomeUnknown)
            }
            // It had committed: the key says so.
            let (value, replay) = try await counter.add("apples", key: Self.key)
            #expect(value == 2 && replay.replayed)
            #expect(try await counter.transactions == 2)
        }
    }

    /// Two runtimes on one shared store are two servers on one database: increments of one key
    /// through both at once (conflicting, claiming the module in turn) are each committed once.
    @Test func twoServersOnOneHotKeyCommitEveryCallOnce() async throws {
        let shared = MemoryStorage()
        let directory = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try LogIdentity.load(directory: directory, origin: "test", encodedKey: nil)
        var configuration = RuntimeConfiguration()
        configuration.wapc.timeout = .seconds(60)
        configuration.maxWait = .seconds(120)
        configuration.state.conflictRetry = .seconds(120)
        let runtimes = [
            ModuleRuntime(store: try await ContentStore.open(engine: shared, log: log), configuration: configuration),
            ModuleRuntime(store: try await ContentStore.open(engine: shared, log: log), configuration: configuration),
        ]
        let id = try await runtimes[0].add(wasm: counterWasm, descriptorSet: counterDescriptor, name: "").record.id
        let values = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let counter = Counter(runtime: runtimes[index % 2], id: id)
                    return try await counter.add("hot").value
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values.sorted() == Array(1...16))
        #expect(try await Counter(runtime: runtimes[1], id: id).get("hot") == 16)
        #expect(try await Counter(runtime: runtimes[0], id: id).transactions == 16)
        for runtime in runtimes { await runtime.shutdown() }
    }
}
