import ContentStore
import DynamicProto
import Foundation
import WasmRPCCore

/// One call of a method that may change state (docs/CHAINCODE.md, "Transactions", "What an
/// answer means", "Exactly-once calls", "Conflicts"): attempts until one commits, waiting a
/// jittered back-off after each conflict and, on a shared store, claiming the module for this
/// server after repeated ones (`ModuleClaim`, `ClaimBook`); answers from the ledger when its
/// idempotency key names an earlier transaction.
extension ModuleRuntime {
    /// Conflicts after which a call claims its module for this server (`ModuleClaim`) before it
    /// runs again.
    static let claimAfterConflicts = 2
    /// The shortest claim: some attempts' worth of pipeline for this server's calls.
    static let claimWindow: Duration = .milliseconds(200)

    func transaction(
        _ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8], deadline: ContinuousClock.Instant?,
        idempotencyKey key: IdempotencyKey?
    ) async throws -> Invocation {
        let id = module.record.id
        let limits = configuration.state
        if let key, let earlier = try await store.transaction(of: id, idempotencyKey: key, retention: limits.idempotencyRetention) {
            return try await replaying(earlier, key: key, module, function, parameters: parameters)
        }
        let maxWait = configuration.maxWait
        let retryUntil = min(deadline ?? .now + limits.conflictRetry, .now + limits.conflictRetry)
        var conflicts = 0
        var lastConflict = ""
        var lastAttempt: Duration = .zero
        claims.began(id)
        defer {
            if claims.ended(id) { Task { [store, replica] in try? await store.release(ModuleClaim(module: id, owner: replica)) } }
        }
        while true {
            if conflicts > 0 {
                guard .now < retryUntil else { break }
                try await Self.backOff(after: conflicts, until: retryUntil)
                if conflicts >= Self.claimAfterConflicts, store.engine.isShared {
                    try await waitForClaim(id, lastAttempt: lastAttempt, until: retryUntil)
                }
            }
            let started = ContinuousClock.now
            let waitUntil = min(deadline ?? .now + maxWait, .now + maxWait)
            try await module.writerGate.enter(until: waitUntil) {
                if let deadline, deadline <= waitUntil {
                    return ModuleRuntimeError(.deadlineExceeded, "the deadline passed while the call waited for the module's earlier transactions")
                }
                return ModuleRuntimeError(.overloaded, "the module's earlier transactions kept this one waiting for \(maxWait)")
            }
            var holdsGate = true
            defer { if holdsGate { module.writerGate.leave() } }
            let (pending, lastPending) = commits.pending(of: id)
            let (invocation, access, time, nonce) = try await execute(module, function, parameters: parameters, pending: pending, deadline: deadline)
            let writes = access.writeList
            if writes.isEmpty {
                module.writerGate.leave()
                holdsGate = false
                // It read writes that are not committed yet: answer only once they are.
                if access.didRead, !pending.isEmpty, let lastPending {
                    if case .success(.committed) = await lastPending.outcome() {} else {
                        conflicts += 1
                        lastConflict = "a transaction whose writes it read did not commit"
                        lastAttempt = started.duration(to: .now)
                        continue
                    }
                }
                return invocation
            }
            let ticket = commits.submit(
                PendingTransaction(
                    module: id, method: function.methodPath.description, input: parameters, output: invocation.output, reads: access.reads,
                    writes: writes, timeNanoseconds: time, nonce: nonce, idempotencyKey: key, origin: replica))
            module.writerGate.leave()
            holdsGate = false
            // From here the call answers what became of the transaction, whatever happens to the
            // caller's task meanwhile: a call cancelled now must not answer with an error for a
            // transaction that commits. (Waiting for the outcome ignores cancellation.)
            let outcome = await ticket.outcome()
            lastAttempt = started.duration(to: .now)
            switch outcome {
            case .success(.committed(let record, let treeSize, let checkpoint)):
                var committed = invocation
                committed.transaction = await receipted(record) { store in
                    try await store.receipt(for: record, treeSize: treeSize, checkpoint: checkpoint)
                }
                return committed
            case .success(.duplicate(let earlier)):
                // Another call with the same key committed first (through this server or another).
                return try await replaying(earlier, key: key, module, function, parameters: parameters)
            case .success(.conflict(let reason)):
                conflicts += 1
                lastConflict = reason
            case .success(.refused(let error)):
                throw ModuleRuntimeError.wrapping(error)
            case .failure(let error):
                throw error
            }
        }
        if let deadline, deadline <= .now {
            throw ModuleRuntimeError(.deadlineExceeded, "the deadline passed while the transaction ran again after conflicts (last: \(lastConflict))")
        }
        throw ModuleRuntimeError(
            .conflict,
            "\(function.path) conflicted with other transactions \(conflicts) times in \(limits.conflictRetry) (last: \(lastConflict)); "
                + "nothing was committed: try again")
    }

    /// Waits before a transaction runs again after its `conflicts`-th conflict: a random time up
    /// to a bound that doubles with each conflict, from 1 ms to 64 ms ("full jitter"), so that
    /// calls that conflicted together (often a whole replica's pipeline) do not run again in step.
    private static func backOff(after conflicts: Int, until end: ContinuousClock.Instant) async throws {
        let bound = Duration.microseconds(1_000 << min(conflicts - 1, 6))
        let wait = min(bound * Double.random(in: 0..<1), ContinuousClock.now.duration(to: end))
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// Before a conflicted transaction runs again on a shared store: claims the module for this
    /// server, or waits out another server's claim (`ClaimBook`, `ModuleClaim`). A claim that
    /// cannot be made is no reason to fail the call: it runs again unclaimed.
    private func waitForClaim(_ id: ModuleID, lastAttempt: Duration, until end: ContinuousClock.Instant) async throws {
        var advice = claims.advice(id)
        if advice == .claim {
            // Long enough for several attempts, at most a second.
            let window = min(max(Self.claimWindow, lastAttempt * 4), .seconds(1))
            let state = try? await store.claim(ModuleClaim(module: id, owner: replica), for: window)
            claims.claimed(id, state ?? nil, owner: replica)
            advice = claims.advice(id)
        }
        if case .wait(let until) = advice {
            let wait = ContinuousClock.now.duration(to: min(until, end))
            if wait > .zero { try await Task.sleep(for: wait) }
        }
    }

    /// A committed transaction with its receipt, read by `read` in a task of its own (the caller's
    /// may be cancelled meanwhile); without the receipt if the store could not read the inclusion
    /// proof (the transaction is committed all the same, and `State.GetTransaction` proves it
    /// later).
    private func receipted(
        _ record: TransactionRecord, _ read: @escaping @Sendable (ContentStore) async throws -> LogReceipt
    ) async -> CommittedTransaction {
        await Task { [store, logger] in
            do {
                return CommittedTransaction(record: record, receipt: try await read(store))
            } catch {
                logger.warning("could not read a committed transaction's receipt", metadata: ["transaction": "\(record.id)", "error": "\(error)"])
                return CommittedTransaction(record: record, receipt: nil)
            }
        }.value
    }

    /// The answer to a call whose idempotency key `key` names `earlier`: its output and receipt, if
    /// it recorded the same method and request; else the key was used for another call.
    private func replaying(
        _ earlier: TransactionRecord, key: IdempotencyKey?, _ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8]
    ) async throws -> Invocation {
        guard earlier.method == function.methodPath.description, earlier.input == parameters else {
            throw ModuleRuntimeError(
                .idempotencyKeyReused,
                "idempotency key \(EchoedText.quote(key?.text ?? "")) already names transaction \(earlier.id) (\(earlier.method) with another "
                    + "request); a new call needs a new key")
        }
        var invocation = Invocation(
            function: function, typeURL: module.interface.typeURL(of: function.output), output: earlier.output, fuelUsed: 0)
        invocation.transaction = await receipted(earlier) { store in try await store.receipt(for: earlier) }
        invocation.replayed = true
        return invocation
    }
}
