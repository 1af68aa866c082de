import Dispatch
import Synchronization

/// A bound on idle instances shared by several pools: an instance is kept warm after a call only
/// while fewer than `limit` instances idle across all of them; otherwise it is dropped (and made
/// again when needed). Together with a bound on calls running at once, this bounds the instances
/// alive in a process, and so their memory.
public final class IdleInstanceBudget: Sendable {
    public let limit: Int
    private let idle = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Instances idle in the pools that share this budget.
    public var count: Int { idle.load(ordering: .relaxed) }

    /// Takes a place for one idle instance; false if the budget is spent.
    func reserve() -> Bool {
        var current = idle.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = idle.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release(_ count: Int = 1) {
        idle.subtract(count, ordering: .relaxed)
    }
}

/// Warm instances of one module, shared by any number of threads.
///
/// A call checks an instance out, runs on it alone, and checks it back in; an instance that failed
/// is dropped and a fresh one is made on demand. At most `maxInstances` exist at once; a caller that
/// finds them all busy waits up to `acquireTimeout`, then fails with `poolExhausted`.
public final class InstancePool: Sendable {
    public let module: WapcModule
    public let configuration: WapcConfiguration
    public let router: HostCallRouter
    public let maxInstances: Int
    public let acquireTimeout: Duration
    /// Shared with other pools; nil keeps up to `maxInstances` idle.
    public let idleBudget: IdleInstanceBudget?

    private struct State {
        var idle: [WapcInstance] = []
        var live = 0
    }

    private let state = Mutex(State())
    /// Counts instance slots: a caller takes one before it gets an instance, and gives it back after.
    private let slots: DispatchSemaphore

    public init(
        module: WapcModule, configuration: WapcConfiguration = WapcConfiguration(), router: HostCallRouter = .standard,
        maxInstances: Int = 8, acquireTimeout: Duration = .seconds(1), idleBudget: IdleInstanceBudget? = nil
    ) {
        self.module = module
        self.configuration = configuration
        self.router = router
        self.maxInstances = max(1, maxInstances)
        self.acquireTimeout = acquireTimeout
        self.idleBudget = idleBudget
        self.slots = DispatchSemaphore(value: max(1, maxInstances))
    }

    /// Instances alive (idle or busy) and idle right now.
    public var counts: (live: Int, idle: Int) {
        state.withLock { ($0.live, $0.idle.count) }
    }

    /// Keeps `instance` (of this pool's module, made under its configuration, never called) as an
    /// idle instance, if the idle budget allows; e.g. the trial instance of
    /// `WapcModule.loadKeepingInstance`.
    public func adopt(_ instance: WapcInstance) {
        guard instance.failure == nil, idleBudget?.reserve() ?? true else { return }
        state.withLock { state in
            state.idle.append(instance)
            state.live += 1
        }
    }

    /// Runs `operation` on a free instance; see `WapcInstance.invoke`.
    public func invoke(operation: String, payload: some Collection<UInt8>) throws(WapcError) -> [UInt8] {
        try invoke(operation: operation, payload: Array(payload))
    }

    /// Runs `operation` on a free instance; see `WapcInstance.invoke`.
    public func invoke(operation: String, payload: [UInt8], timeout: Duration? = nil) throws(WapcError) -> [UInt8] {
        try withInstance { instance throws(WapcError) in
            try instance.invoke(operation: operation, payload: payload, timeout: timeout)
        }
    }

    /// Checks out an instance (making one if none is idle), runs `body` on it, and checks it back
    /// in, or drops it if it failed.
    public func withInstance<T>(_ body: (WapcInstance) throws(WapcError) -> T) throws(WapcError) -> T {
        let waitUntil = DispatchTime.now() + .nanoseconds(Int(clamping: acquireTimeout.nanoseconds))
        guard slots.wait(timeout: waitUntil) == .success else {
            throw WapcError(.poolExhausted, "all \(maxInstances) instances of the module stayed busy for \(acquireTimeout)")
        }
        defer { slots.signal() }
        let instance = try checkOut()
        defer { checkIn(instance) }
        return try body(instance)
    }

    private func checkOut() throws(WapcError) -> WapcInstance {
        let reused: WapcInstance? = state.withLock { state in
            if let instance = state.idle.popLast() { return instance }
            state.live += 1
            return nil
        }
        if let reused {
            idleBudget?.release()
            return reused
        }
        do {
            return try module.instantiate(configuration: configuration, router: router)
        } catch {
            state.withLock { $0.live -= 1 }
            throw error
        }
    }

    private func checkIn(_ instance: WapcInstance) {
        let keep = instance.failure == nil && (idleBudget?.reserve() ?? true)
        state.withLock { state in
            if keep {
                state.idle.append(instance)
            } else {
                state.live -= 1
            }
        }
    }

    deinit {
        // The pool's idle instances go with it (a module dropped from the runtime's cache).
        idleBudget?.release(state.withLock { $0.idle.count })
    }
}
