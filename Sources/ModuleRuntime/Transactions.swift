import ContentStore
import DynamicProto
import Foundation
import WapcHost
import WasmRPCCore

#if canImport(Glibc)
import Glibc
#endif

/// Calls over a module's world state (docs/CHAINCODE.md).
///
/// A query (a NO_SIDE_EFFECTS method) runs like any call, on a warm instance, reading committed
/// state; one that read more than once checks afterwards that what it read still holds, and runs
/// again if not, so its answer is a consistent view.
///
/// Any other call of a module that uses state is a transaction. Its module's transactions run one
/// at a time here (the module's writer gate), each on an instance as it was right after its
/// initializers ran (a new one, or the last one rewound: `WapcInstance.rewind`), with the clock
/// fixed at the transaction's time and random bytes from its seed, so that a replay sees exactly
/// what it saw. (The initializers of that instance see the clock at 0 and random bytes seeded by
/// the module id and a nonce of zeros.)
/// It reads committed state, the writes of the module's transactions waiting for commit, and its
/// own writes. When the guest succeeds, its writes are handed to the commit queue (before the next
/// transaction of the module starts), and the call waits for the commit: committed, it answers
/// with its receipt; if something it read changed first (another replica's transaction, or one of
/// ours that failed to commit), it runs again, up to `StateLimits.maxAttempts` times or its
/// deadline. A transaction that wrote nothing records nothing; if it read writes still waiting
/// for commit, it waits for them to commit first.
extension ModuleRuntime {
    func query(_ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8], deadline: ContinuousClock.Instant?)
        async throws -> Invocation
    {
        let attempt = queryAttempt(module, function, parameters: parameters)
        for _ in 1...Self.queryAttempts {
            let invocation = try await scheduler.schedule(module, deadline: deadline, attempt)
            if !invocation.readsChanged { return invocation }
        }
        throw Self.unsettledReads(function)
    }

    /// `query` on the calling thread (`invokeNow`); nil as soon as an attempt cannot start at once.
    func queryNow(_ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8], deadline: ContinuousClock.Instant?)
        throws -> Invocation?
    {
        let attempt = queryAttempt(module, function, parameters: parameters)
        for _ in 1...Self.queryAttempts {
            guard let invocation = try scheduler.runNow(module, deadline: deadline, attempt) else { return nil }
            if !invocation.readsChanged { return invocation }
        }
        throw Self.unsettledReads(function)
    }

    /// How many times a query runs before its reads are taken to keep changing.
    private static let queryAttempts = 3

    private static func unsettledReads(_ function: MethodDescriptor) -> ModuleRuntimeError {
        ModuleRuntimeError(.conflict, "\(function.path) read state that kept changing while it ran; try again")
    }

    /// One run of a query, given the time it has: reads committed state and notes whether its reads
    /// still hold at the end.
    private func queryAttempt(
        _ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8]
    ) -> @Sendable (_ timeout: Duration?) throws -> Invocation {
        let reader = store.stateReader
        let interface = module.interface
        let (id, limits) = (module.record.id, configuration.state)
        return { [loader] timeout in
            let access = StateAccess(mode: .query, module: id, method: function.methodPath, reader: reader, limits: limits)
            var invocation = try access.failing {
                try Self.checked(function, of: interface, parameters: parameters) {
                    try module.instances.withInstance { instance throws(WapcError) in
                        (
                            try instance.invoke(operation: function.name, payload: parameters, timeout: timeout, context: CallContext(capability: access)),
                            instance.lastFuelUsed
                        )
                    }
                }
            }
            if access.readCount > 1 {
                invocation.readsChanged = try !access.readsStillHold()
            }
            if access.didRead, !module.usesState { loader.markUsesState(module) }
            return invocation
        }
    }

    func transaction(_ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8], deadline: ContinuousClock.Instant?)
        async throws -> Invocation
    {
        let id = module.record.id
        let limits = configuration.state
        let maxWait = configuration.maxWait
        var lastConflict = ""
        for _ in 0..<max(1, limits.maxAttempts) {
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
                        lastConflict = "a transaction whose writes it read did not commit"
                        continue
                    }
                }
                return invocation
            }
            let ticket = commits.submit(
                PendingTransaction(
                    module: id, method: function.methodPath.description, input: parameters, output: invocation.output, reads: access.reads,
                    writes: writes, timeNanoseconds: time, nonce: nonce))
            module.writerGate.leave()
            holdsGate = false
            switch await ticket.outcome() {
            case .success(.committed(let record, let treeSize, let checkpoint)):
                var committed = invocation
                let receipt = try await store.receipt(for: record, treeSize: treeSize, checkpoint: checkpoint)
                committed.transaction = CommittedTransaction(record: record, receipt: receipt)
                return committed
            case .success(.conflict(let reason)):
                lastConflict = reason
                if let deadline, deadline <= .now {
                    throw ModuleRuntimeError(.deadlineExceeded, "the deadline passed while the transaction ran again after a conflict (\(reason))")
                }
            case .success(.refused(let error)):
                throw ModuleRuntimeError.wrapping(error)
            case .failure(let error):
                throw error
            }
        }
        throw ModuleRuntimeError(
            .conflict, "\(function.path) conflicted with other transactions \(limits.maxAttempts) times (last: \(lastConflict)); try again")
    }

    /// Runs one attempt of a transaction on a worker, on a new instance: returns the guest's
    /// checked answer, what it read and wrote, and the time and nonce it ran with.
    private func execute(
        _ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8], pending: StateOverlay, deadline: ContinuousClock.Instant?
    ) async throws -> (Invocation, StateAccess, Int64, [UInt8]) {
        let reader = store.stateReader
        let (id, limits, interface) = (module.record.id, configuration.state, module.interface)
        return try await scheduler.onWorker {
            let timeout = deadline.map { ContinuousClock.now.duration(to: $0) }
            if let timeout, timeout <= .zero {
                throw ModuleRuntimeError(.deadlineExceeded, "the deadline passed before the transaction could run")
            }
            let time = Self.nowNanoseconds()
            var nonce = [UInt8](repeating: 0, count: 16)
            nonce.withUnsafeMutableBytes { SystemRandomSource().fill($0) }
            let access = StateAccess(
                mode: .transaction, module: id, method: function.methodPath, reader: reader, pending: pending, limits: limits)
            let context = CallContext(fixedTime: UInt64(time), random: SeededRandom(module: id, nonce: nonce), capability: access)
            let invocation = try access.failing {
                try Self.checked(function, of: interface, parameters: parameters) {
                    let instance = try module.instanceForTransaction(initial: Self.initialContext(of: id))
                    defer { module.keep(instance) }
                    let output = try instance.invoke(operation: function.name, payload: parameters, timeout: timeout, context: context)
                    return (output, instance.lastFuelUsed)
                }
            }
            return (invocation, access, time, nonce)
        }
    }

    /// What the initializers of a transaction's instance see: the clock at 0, random bytes seeded
    /// by the module id and 16 zero bytes.
    static func initialContext(of module: ModuleID) -> CallContext {
        CallContext(fixedTime: 0, random: SeededRandom(module: module, nonce: Array(repeating: 0, count: 16)))
    }

    /// The realtime clock, in nanoseconds since 1970.
    static func nowNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}

extension StateAccess {
    /// Runs `body` (the guest call); if the call broke a state limit, fails with that instead of
    /// whatever the guest made of the error.
    func failing<T>(_ body: () throws -> T) throws -> T {
        let result: T
        do {
            result = try body()
        } catch {
            if let failure { throw failure }
            throw error
        }
        if let failure { throw failure }
        return result
    }
}
