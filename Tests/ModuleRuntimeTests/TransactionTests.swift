import ContentStore
import Crypto
import Dispatch
import Foundation
import GeneratedTestProtos
import ModuleRuntime
import SwiftProtobuf
import Synchronization
import TestSupport
import Testing
import TransparencyLog
import WAT
import WapcHost
import WasmRPCCore
import WasmRPCProto

let counterWasm = try! fixture("Guests/counter/counter.wasm")
let counterDescriptor = try! fixture("Guests/counter/counter.pb")

/// Transactions over a module's world state, through the runtime with the counter guest
/// (Guests/counter): atomicity, reading one's own writes, queries, limits, serializability.
@Suite(.timeLimit(.minutes(10))) struct TransactionTests {
    struct Counter {
        let runtime: ModuleRuntime
        let id: ModuleID

        func call(_ method: String, _ request: some SwiftProtobuf.Message, deadline: ContinuousClock.Instant? = nil) async throws -> Invocation {
            try await runtime.invoke(module: id, function: method, typeURL: "", parameters: try request.serializedBytes(), deadline: deadline)
        }

        func add(_ name: String, by: Int64 = 1) async throws -> (value: Int64, invocation: Invocation) {
            let invocation = try await call("Add", Counter_AddRequest.with { $0.name = name; $0.by = by })
            return (try Counter_Value(serializedBytes: invocation.output).value, invocation)
        }

        func get(_ name: String) async throws -> Int64 {
            try Counter_Value(serializedBytes: try await call("Get", Counter_Name.with { $0.name = name }).output).value
        }

        var transactions: Int64 { get async throws { try await runtime.store.engine.reads.lastTransactionSequence(of: id) } }
    }

    /// A runtime on a fresh store with the counter module added. Guests get 60 s (unless
    /// `configure` says otherwise), far above what any call here needs on a loaded machine.
    func withCounter<T>(
        _ configure: (inout RuntimeConfiguration) -> Void = { _ in }, capabilities: [String: any HostCapability] = [:],
        _ body: (Counter) async throws -> T
    ) async throws -> T {
        try await withFreshRuntime({ configuration in
            configuration.wapc.timeout = .seconds(60)
            // Calls that wait for the module's one instance while the suite loads the machine.
            configuration.maxWait = .seconds(120)
            configure(&configuration)
        }, capabilities: capabilities) { runtime in
            let id = try await runtime.add(wasm: counterWasm, descriptorSet: counterDescriptor, name: "").record.id
            return try await body(Counter(runtime: runtime, id: id))
        }
    }

    @Test func addsCommitWithReceiptsAndQueriesRecordNothing() async throws {
        try await withCounter { counter in
            for expected in Int64(1)...3 {
                let (value, invocation) = try await counter.add("c")
                #expect(value == expected)
                let transaction = try #require(invocation.transaction)
                #expect(transaction.record.sequence == expected)
                let receipt = try #require(transaction.receipt)
                let entry = try TransactionLogEntry(parsing: receipt.leaf)
                #expect(entry.module == counter.id.hex && entry.method == "/counter.Counter/Add" && entry.sequence == expected)
                #expect(entry.inputSHA256 == TransactionLogEntry.digest(try Counter_AddRequest.with { $0.name = "c"; $0.by = 1 }.serializedBytes()))
                #expect(entry.outputSHA256 == TransactionLogEntry.digest(invocation.output))
                #expect(transaction.record.id == entry.id)
                // The receipt's proof leads to its checkpoint's root.
                let checkpoint = try Checkpoint(body: try counter.runtime.store.log.signer.verifier.verify(receipt.checkpoint))
                #expect(
                    try MerkleTree.rootFromInclusionProof(
                        index: receipt.leafIndex, size: receipt.treeSize, leafHash: MerkleTree.leafHash(receipt.leaf),
                        proof: receipt.inclusionProof) == checkpoint.rootHash)
            }
            let query = try await counter.call("Get", Counter_Name.with { $0.name = "c" })
            #expect(try Counter_Value(serializedBytes: query.output).value == 3)
            #expect(query.transaction == nil)
            #expect(try await counter.transactions == 3)
            let list = try Counter_Counters(serializedBytes: try await counter.call("List", Counter_Name()).output)
            #expect(list.counters.map(\.name) == ["c"] && list.counters.map(\.value) == [3])
        }
    }

    @Test(arguments: ["error", "trap", "spin"]) func aCallThatFailsAfterWritingChangesNothing(how: String) async throws {
        // "spin" never ends by itself: without a fuel limit, its own deadline (300 ms, for that call
        // only) stops it, however fast the machine; the other calls have the default 60 s.
        try await withCounter({ $0.wapc.fuel = nil; $0.wapc.timeout = .seconds(60) }) { counter in
            _ = try await counter.add("c")
            let deadline: ContinuousClock.Instant? = how == "spin" ? .now + .milliseconds(300) : nil
            let error = await #expect(throws: ModuleRuntimeError.self) {
                try await counter.call("AddThenFail", Counter_FailRequest.with { $0.name = "c"; $0.how = how }, deadline: deadline)
            }
            #expect(error?.code == (how == "spin" ? .deadlineExceeded : .guestFailed), "\(String(describing: error))")
            #expect(try await counter.get("c") == 1)
            #expect(try await counter.transactions == 1)
            // The module goes on working.
            #expect(try await counter.add("c").value == 2)
        }
    }

    @Test func aCallReadsItsOwnWrites() async throws {
        try await withCounter { counter in
            let invocation = try await counter.call("ReadYourWrites", Counter_Name.with { $0.name = "r" })
            #expect(try Counter_Text(serializedBytes: invocation.output).text == "7,none")
            // It wrote (a delete is a write), so it is a transaction, whose write set says what stayed.
            let record = try #require(invocation.transaction?.record)
            let writes = try Wasmrpc_V1_WriteSet(serializedBytes: record.writeSet)
            #expect(writes.writes.map { String(decoding: $0.key, as: UTF8.self) } == ["counter/r"] && writes.writes[0].deleted)
            #expect(try await counter.get("r") == 0)
        }
    }

    @Test func aQueryCannotWrite() async throws {
        try await withCounter { counter in
            let invocation = try await counter.call("WriteFromQuery", Counter_Name.with { $0.name = "q" })
            #expect(try Counter_Text(serializedBytes: invocation.output).text.contains("NO_SIDE_EFFECTS"))
            #expect(invocation.transaction == nil)
            #expect(try await counter.get("q") == 0)
            #expect(try await counter.transactions == 0)
        }
    }

    @Test func limitsFailTheCallAsResourceExhausted() async throws {
        try await withCounter({
            $0.state.maxValueBytes = 100
            $0.state.maxWritesPerTransaction = 5
            $0.state.maxStateBytes = 1_000
        }) { counter in
            // A key over the limit (counter/ + 1,000 characters), a value over it, too many writes,
            // a module's state over its bytes.
            let long = String(repeating: "k", count: 1_020)
            let error = await #expect(throws: ModuleRuntimeError.self) { try await counter.add(long) }
            #expect(error?.code == .limitExceeded && error?.message.contains("key of 1028 bytes") == true, "\(String(describing: error))")
            for (count, size) in [(1, 101), (6, 1), (20, 60)] {
                let error = await #expect(throws: ModuleRuntimeError.self) {
                    try await counter.call("Fill", Counter_FillRequest.with { $0.name = "f"; $0.count = UInt32(count); $0.size = UInt32(size) })
                }
                #expect(error?.code == .limitExceeded, "\(count) × \(size): \(String(describing: error))")
            }
            #expect(try await counter.transactions == 0)
            let fits = try await counter.call("Fill", Counter_FillRequest.with { $0.name = "f"; $0.count = 5; $0.size = 100 })
            #expect(fits.transaction?.record.sequence == 1)
        }
    }

    /// 8 clients each add 1 to one counter 200 times at once: every add counts, once.
    @Test func concurrentIncrementsAreSerializable() async throws {
        try await withCounter { counter in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<200 { _ = try await counter.add("hot") }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await counter.get("hot") == 1_600)
            #expect(try await counter.transactions == 1_600)
            // One leaf per transaction, after the module's own.
            #expect(try await counter.runtime.store.logSize() == 1_601)
        }
    }

    /// Re-running the ledger from an empty state gives every recorded output, read set and write
    /// set, and the stored state; a changed state row or record is reported.
    @Test func theLedgerReplaysToTheStoredState() async throws {
        try await withCounter { counter in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<3 {
                    group.addTask {
                        for n in 0..<20 { _ = try await counter.add(n % 2 == 0 ? "even" : "c\(client)", by: Int64(n)) }
                    }
                }
                try await group.waitForAll()
            }
            _ = try await counter.call("ReadYourWrites", Counter_Name.with { $0.name = "r" })
            _ = try? await counter.call("AddThenFail", Counter_FailRequest.with { $0.name = "even"; $0.how = "error" })
            let store = counter.runtime.store
            let records = try await store.transactions(of: counter.id, after: 0, limit: 1000)
            #expect(records.count == 61)
            let stored = try await store.stateRange(counter.id, start: [], end: [], limit: 1000)

            func replay(_ records: [TransactionRecord], against stored: [StateEntry]) throws -> [String] {
                let replay = try Replay(module: counter.id, wasm: counterWasm, descriptorSet: counterDescriptor)
                for record in records { replay.apply(record) }
                replay.compare(withStored: stored)
                return replay.problems
            }
            #expect(try replay(records, against: stored) == [])
            // A stored value that no transaction wrote.
            var edited = stored
            edited[0].value = Array("999".utf8)
            #expect(try replay(records, against: edited).contains { $0.contains("has another value") })
            // A record whose output was changed.
            var changed = records
            changed[5].output = try Counter_Value.with { $0.value = 12345 }.serializedBytes()
            #expect(try replay(changed, against: stored).contains { $0.contains("transaction 6") && $0.contains("output differs") })
            // A missing transaction.
            #expect(try replay(Array(records.dropFirst(1)), against: stored).contains { $0.contains("transaction 1 is missing") })
        }
    }

    /// A transaction's WASI clocks read its recorded time and its random bytes come from its seed
    /// (docs/CHAINCODE.md), so a replay sees the same: the C fixture answers with what it saw.
    @Test func aTransactionSeesItsRecordedTimeAndSeededRandomBytes() async throws {
        try await withFreshRuntime({ $0.wapc.timeout = .seconds(60) }) { runtime in
            let descriptor = descriptorSet(package: "wasi", messages: ["Text": ["text"]], services: [("Clock", [("stamp", "Text", "Text")])])
            let wasm = try fixture("Tests/Fixtures/wasi/wasi-guest.wasm")
            let id = try await runtime.add(wasm: wasm, descriptorSet: try descriptor.serializedBytes(), name: "").record.id
            var seen: [String] = []
            for _ in 0..<2 {
                let invocation = try await runtime.invoke(module: id, function: "stamp", typeURL: "", parameters: [])
                let record = try #require(invocation.transaction?.record)
                let parts = String(decoding: invocation.output.dropFirst(2), as: UTF8.self).split(separator: ",").map(String.init)
                #expect(parts.count == 3)
                #expect(parts[0] == "\(record.timeNanoseconds)" && parts[1] == "\(record.timeNanoseconds)")
                // The first 8 bytes of SHA-256(seed ‖ 0 as 8 bytes), seed = SHA-256("wasmrpc random v1" ‖ 0 ‖ id ‖ nonce).
                let seed = Array(SHA256.hash(data: Array("wasmrpc random v1".utf8) + [0] + id.bytes + record.nonce))
                let block = Array(SHA256.hash(data: seed + Array(repeating: 0, count: 8)))
                #expect(parts[2] == Hex.lowercase(block.prefix(8)))
                seen.append(parts[2])
            }
            #expect(seen[0] != seen[1], "two transactions drew the same random bytes")
            let replay = try Replay(module: id, wasm: wasm, descriptorSet: try descriptor.serializedBytes())
            for record in try await runtime.store.transactions(of: id, after: 0) { replay.apply(record) }
            replay.compare(withStored: try await runtime.store.stateRange(id, start: [], end: [], limit: 10))
            #expect(replay.problems == [] && replay.sequence == 2)
        }
    }

    /// A transaction of one module held in a host call does not hold up another module's.
    @Test func twoModulesDoNotWaitForEachOther() async throws {
        let hold = SignallingHold()
        try await withCounter({ _ in }, capabilities: ["hold": hold]) { counter in
            let held = try await counter.runtime.add(
                wasm: try wat2wasm(Self.putThenHoldWat), descriptorSet: try TestGuests.nothing.serializedBytes(), name: "").record.id
            let waiting = Task {
                try await counter.runtime.invoke(module: held, function: "run", typeURL: "", parameters: [])
            }
            try await eventually { hold.arrived.load(ordering: .relaxed) }
            for expected in Int64(1)...5 { #expect(try await counter.add("free").value == expected) }
            hold.release()
            let invocation = try await waiting.value
            #expect(invocation.transaction?.record.sequence == 1)
            #expect(try await counter.runtime.store.stateValue(held, key: Array("k".utf8)) == Array("v".utf8))
        }
    }

    /// Writes k = v, then calls test/hold.
    static let putThenHoldWat = """
        (module
          (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
          (import "wapc" "__guest_response" (func $respond (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "wasmrpcstateputtesthold")
          (data (i32.const 64) "\\0a\\01k\\12\\01v")
          (func (export "__guest_call") (param i32 i32) (result i32)
            (drop (call $host_call (i32.const 0) (i32.const 7) (i32.const 7) (i32.const 5) (i32.const 12) (i32.const 3) (i32.const 64) (i32.const 6)))
            (drop (call $host_call (i32.const 15) (i32.const 4) (i32.const 19) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
            (call $respond (i32.const 0) (i32.const 0))
            (i32.const 1)))
        """
}

/// Blocks a guest's host call until released, and says when one arrived.
final class SignallingHold: HostCapability {
    let arrived = Atomic<Bool>(false)
    private let released = DispatchSemaphore(value: 0)
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        arrived.store(true, ordering: .relaxed)
        guard released.wait(timeout: .now() + 60) == .success else { throw HostCallFailure("never released") }
        return []
    }
    func release() { released.signal() }
}
