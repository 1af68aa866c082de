import Logging
import NIOPosix
import Synchronization
import WapcHost
import WasmRPCCore

/// Where and when calls run: a call first waits (suspended, off the workers) at its module's
/// `CallGate` for one of the module's instances, then runs on the caller's thread if its module's
/// recent calls were short and an inline slot is free (`RuntimeConfiguration.inlineCalls`), else on
/// one of the runtime's worker threads, behind a bounded queue. Blocking store work runs on the
/// workers too.
final class CallScheduler: Sendable {
    let configuration: RuntimeConfiguration
    private let loader: ModuleLoader
    private let workers: NIOThreadPool
    /// Jobs handed to the workers and not finished yet.
    private let pending = Atomic<Int>(0)
    /// Calls running on their caller's thread right now (at most `configuration.inlineCalls`).
    private let inlineRunning = Atomic<Int>(0)
    /// Calls that ran on their caller's thread since the runtime started.
    private let inlineTotal = Atomic<Int>(0)

    init(configuration: RuntimeConfiguration, loader: ModuleLoader) {
        self.configuration = configuration
        self.loader = loader
        workers = NIOThreadPool(numberOfThreads: max(1, configuration.workerThreads))
        workers.start()
    }

    /// Finishes queued work and stops the worker threads; later jobs fail as `unavailable`.
    func shutdown() async {
        try? await workers.shutdownGracefully()
    }

    var inlineCallCount: Int { inlineTotal.load(ordering: .relaxed) }
    var pendingWork: Int { pending.load(ordering: .relaxed) }

    /// Runs `run` for a call of `module` (the guest call with its checks, on whatever thread it is
    /// given) once the module's gate admits it, inline or on a worker. `deadline` bounds the wait
    /// at the gate and for a worker (without one, `maxWait` does); `run` gets the time left.
    func schedule(
        _ module: LoadedModule, deadline: ContinuousClock.Instant?, _ run: @escaping @Sendable (_ timeout: Duration?) throws -> Invocation
    ) async throws -> Invocation {
        let id = module.record.id
        // Wait for one of the module's instances here, off the workers, so that the calls of a module
        // that has all its instances busy (a guest stuck in a loop until its deadline, say) leave the
        // workers to other modules.
        let maxWait = configuration.maxWait
        let waitUntil = min(deadline ?? .now + maxWait, .now + maxWait)
        try await module.gate.enter(until: waitUntil) { [limit = module.gate.limit] in
            if let deadline, deadline <= waitUntil {
                return ModuleRuntimeError(.deadlineExceeded, "the deadline passed while the call waited for one of the module's \(limit) instances")
            }
            return ModuleRuntimeError(.overloaded, "all \(limit) instances of module \(id) stayed busy for \(maxWait)")
        }
        defer { module.gate.leave() }
        let queued = ContinuousClock.now
        let call = { @Sendable () throws -> Invocation in
            var timeout: Duration?
            if let deadline {
                timeout = ContinuousClock.now.duration(to: deadline)
                if let left = timeout, left <= .zero {
                    throw ModuleRuntimeError(.deadlineExceeded, "the deadline passed while the call waited for a worker")
                }
            } else if queued.duration(to: .now) > maxWait {
                throw ModuleRuntimeError(.overloaded, "the call waited more than \(maxWait) for a worker")
            }
            return try run(timeout)
        }
        if module.pace.mayRunInline, takeInlineSlot() {
            defer { inlineRunning.subtract(1, ordering: .relaxed) }
            try Task.checkCancellation()
            return try inline(call, of: module)
        }
        return try await onWorker { [self] in try timed(call, of: module, inline: false) }
    }

    /// Runs `run` for a call of `module` on the calling thread if it can start at once: the
    /// module's recent calls were short, and one of its instances and an inline slot are free.
    /// nil when it cannot (nothing ran; the caller schedules the call instead).
    func runNow(
        _ module: LoadedModule, deadline: ContinuousClock.Instant?, _ run: (_ timeout: Duration?) throws -> Invocation
    ) throws -> Invocation? {
        guard module.pace.mayRunInline, module.gate.tryEnter() else { return nil }
        defer { module.gate.leave() }
        guard takeInlineSlot() else { return nil }
        defer { inlineRunning.subtract(1, ordering: .relaxed) }
        var timeout: Duration?
        if let deadline {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { throw ModuleRuntimeError(.deadlineExceeded, "the deadline passed before the call ran") }
            timeout = left
        }
        return try inline({ try run(timeout) }, of: module)
    }

    /// Runs `call` on this thread, which holds an inline slot.
    private func inline(_ call: () throws -> Invocation, of module: LoadedModule) throws -> Invocation {
        inlineTotal.add(1, ordering: .relaxed)
        var invocation = try timed(call, of: module, inline: true)
        invocation.ranInline = true
        return invocation
    }

    /// Runs `call`, telling the module's pace whether it was short; a call that was not short on
    /// a caller's thread bars its module from running there again.
    private func timed(_ call: () throws -> Invocation, of module: LoadedModule, inline: Bool) throws -> Invocation {
        let started = ContinuousClock.now
        // nil: the call did not run (its deadline or --max-wait passed before it could).
        var short: Bool? = false
        defer {
            if let short {
                let wasShort = short && started.duration(to: .now) <= configuration.inlineDuration
                module.pace.record(short: wasShort)
                if inline, !wasShort { loader.barFromInline(module) }
            }
        }
        do {
            let invocation = try call()
            short = invocation.fuelUsed <= configuration.inlineFuel
            return invocation
        } catch let error as ModuleRuntimeError where error.code == .deadlineExceeded || error.code == .overloaded {
            short = nil
            throw error
        } catch let error as WapcError where error.code == .deadlineExceeded || error.code == .outOfFuel {
            throw error  // stopped by a limit: not short, whatever the clock says
        } catch {
            short = true
            throw error
        }
    }

    /// One of the `inlineCalls` slots, if one is free.
    private func takeInlineSlot() -> Bool {
        if inlineRunning.add(1, ordering: .relaxed).oldValue < configuration.inlineCalls { return true }
        inlineRunning.subtract(1, ordering: .relaxed)
        return false
    }

    /// Runs blocking `body` on a worker thread; refuses it when too much work is already waiting.
    /// A job whose task was cancelled while it waited (the client gave up) does not run.
    func onWorker<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let limit = configuration.maxQueuedCalls + max(1, configuration.workerThreads)
        let before = pending.add(1, ordering: .relaxed).oldValue
        defer { pending.subtract(1, ordering: .relaxed) }
        guard before < limit else {
            throw ModuleRuntimeError(.overloaded, "the server is busy: \(before) calls are running or waiting")
        }
        let abandoned = AbandonFlag()
        do {
            return try await withTaskCancellationHandler {
                try await workers.runIfActive {
                    if abandoned.isSet { throw CancellationError() }
                    return try body()
                }
            } onCancel: {
                abandoned.set()
            }
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw ModuleRuntimeError(.unavailable, "the runtime is shutting down")
        }
    }
}

/// Set once when the task waiting for a worker job is cancelled.
private final class AbandonFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
