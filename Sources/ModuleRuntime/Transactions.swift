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
/// ours that failed to commit), it runs again after a jittered back-off, until its deadline or
/// `StateLimits.conflictRetry`. A transaction that wrote nothing records nothing; if it read
/// writes still waiting for commit, it waits for them to commit first. A call with an idempotency
/// key whose module recorded the key already answers that transaction's output and receipt
/// without running.
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

    /// Runs one attempt of a transaction on a worker, on a new instance: returns the guest's
    /// checked answer, what it read and wrote, and the time and nonce it ran with.
    func execute(
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
