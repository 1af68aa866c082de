import ContentStore
import DynamicProto
import Logging
import Synchronization
import WapcHost
import WasmRPCCore

/// Counts a module's calls in a row that were short; with enough of them, and unless barred, its
/// calls may run on the caller's thread.
final class CallPace: Sendable {
    private let needed: Int
    private let streak = Atomic<Int>(0)
    private let barred: Atomic<Bool>

    init(streak needed: Int, barred: Bool) {
        self.needed = needed
        self.barred = Atomic(barred)
    }

    var mayRunInline: Bool {
        !barred.load(ordering: .relaxed) && streak.load(ordering: .relaxed) >= needed
    }

    /// Records one call; a long one restarts the count.
    func record(short: Bool) {
        if short {
            if streak.load(ordering: .relaxed) < needed { streak.add(1, ordering: .relaxed) }
        } else {
            streak.store(0, ordering: .relaxed)
        }
    }

    func bar() { barred.store(true, ordering: .relaxed) }
}

/// A module ready to run: its verified bytes parsed, its interface, its warm instances, and the
/// gate that bounds how many of its calls run at once (one instance each).
final class LoadedModule: Sendable {
    let record: ModuleRecord
    let interface: ModuleInterface
    let instances: InstancePool
    let gate: CallGate
    /// Function names callers used → the method they resolved to (resolving filters every method).
    private let resolved = Mutex<[String: MethodDescriptor]>([:])
    /// Names that resolved; a module has few functions and callers use few spellings, but the
    /// cache must not grow with names clients make up, so only hits are kept, up to this many.
    static let maxResolvedNames = 256

    /// Whether its calls may run on the caller's thread (its recent calls were short).
    let pace: CallPace
    /// Admits its transactions one at a time (docs/CHAINCODE.md).
    let writerGate = CallGate(limit: 1)
    /// The instance its transactions run on, rewound to its initial state before each.
    private let transactionInstance = Mutex<WapcInstance?>(nil)
    /// Whether it uses world state: has state or transactions, or a call of it touched state.
    private let state: Atomic<Bool>

    init(record: ModuleRecord, interface: ModuleInterface, instances: InstancePool, pace: CallPace, usesState: Bool) {
        self.record = record
        self.interface = interface
        self.instances = instances
        self.pace = pace
        state = Atomic(usesState)
        gate = CallGate(limit: instances.maxInstances)
    }

    var usesState: Bool { state.load(ordering: .relaxed) }

    /// The instance for a transaction: the kept one, rewound, else a new one (initialized in
    /// `initial`). The writer gate makes the caller the only user until `keep`.
    func instanceForTransaction(initial: CallContext) throws(WapcError) -> WapcInstance {
        try instances.module.pristineInstance(
            reusing: transactionInstance.withLock { $0.take() }, configuration: instances.configuration, router: instances.router,
            initial: initial)
    }

    /// Keeps `instance` for the next transaction, unless it failed.
    func keep(_ instance: WapcInstance) {
        guard instance.failure == nil else { return }
        transactionInstance.withLock { $0 = instance }
    }

    fileprivate func markUsesState() {
        state.store(true, ordering: .relaxed)
    }

    /// `interface.resolve(name)`, cached.
    func resolve(_ name: String) throws(ModuleRuntimeError) -> MethodDescriptor {
        if let function = resolved.withLock({ $0[name] }) { return function }
        let function = try interface.resolve(name)
        resolved.withLock { if $0.count < Self.maxResolvedNames { $0[name] = function } }
        return function
    }
}

/// Keeps modules loaded — verified, parsed, linked, with their instance pools and gates — for the
/// most recently used `loadedModules` modules, and loads each module once however many callers
/// need it at the same time.
///
/// One module has one `LoadedModule` at a time: concurrent first calls (or calls of a module
/// evicted and needed again) share one load, and a module evicted from the cache while its calls
/// are still running is taken back as it is, so its gate keeps bounding all of its calls instead
/// of a second gate admitting as many again.
final class ModuleLoader: Sendable {
    /// A module that calls may still hold after the cache let it go.
    private struct Held {
        weak var module: LoadedModule?
    }

    let configuration: RuntimeConfiguration
    let router: HostCallRouter
    private let cache: ModuleCache<LoadedModule>
    /// Every `LoadedModule` made, as long as something holds it.
    private let held = Mutex<[ModuleID: Held]>([:])
    /// Loads under way; later callers wait for them.
    private let loading = Mutex<[ModuleID: Task<LoadedModule, any Error>]>([:])
    /// Bounds the idle instances of all loaded modules together.
    let idleInstances: IdleInstanceBudget
    /// Modules one of whose calls was not short on a caller's thread: never inline again, even
    /// after they are evicted and loaded again.
    private let barredFromInline = Mutex<Set<ModuleID>>([])
    /// Modules seen to use world state since the runtime started.
    private let stateful = Mutex<Set<ModuleID>>([])
    private let loads = Atomic<Int>(0)
    private let logger: Logger

    init(configuration: RuntimeConfiguration, router: HostCallRouter, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        cache = ModuleCache(capacity: configuration.loadedModules)
        idleInstances = IdleInstanceBudget(limit: configuration.maxIdleInstances)
    }

    /// How many modules are in the cache.
    var count: Int { cache.count }

    /// Modules loaded from the store since the runtime started (Add's own are not counted).
    var loadCount: Int { loads.load(ordering: .relaxed) }

    /// The cached module `id` (a use), if it is cached.
    func cached(_ id: ModuleID) -> LoadedModule? { cache.value(id) }

    /// The cached module `id`, without counting it as a use.
    func peek(_ id: ModuleID) -> LoadedModule? { cache.peek(id) }

    /// Module `id`: cached, still held by running calls, being loaded by another caller, or loaded
    /// now by `load` (which runs on a worker).
    func module(_ id: ModuleID, load: @escaping @Sendable () async throws -> (ModuleRecord, ModuleInterface, WapcModule, WapcInstance, Bool))
        async throws -> LoadedModule
    {
        if let module = cache.value(id) { return module }
        let found = loading.withLock { inFlight -> Lookup in
            if let task = inFlight[id] { return .loading(task) }
            if let module = held.withLock({ $0[id]?.module }) { return .ready(cache.insert(module, for: id)) }
            let task = Task { [self] in
                defer { loading.withLock { $0[id] = nil } }
                let (record, interface, module, trial, usesState) = try await load()
                loads.add(1, ordering: .relaxed)
                logger.debug("loaded module", metadata: ["id": "\(id)"])
                return insert(record: record, interface: interface, module: module, trial: trial, usesState: usesState)
            }
            inFlight[id] = task
            return .loading(task)
        }
        switch found {
        case .ready(let module): return module
        case .loading(let task): return try await task.value
        }
    }

    /// A module found in memory, or the load that will make it.
    private enum Lookup {
        case ready(LoadedModule)
        case loading(Task<LoadedModule, any Error>)
    }

    /// Caches a module Add has just parsed, with the instance that validated it.
    @discardableResult
    func insert(record: ModuleRecord, interface: ModuleInterface, module: WapcModule, trial: WapcInstance, usesState: Bool = false)
        -> LoadedModule
    {
        let instances = InstancePool(
            module: module, configuration: configuration.wapc(for: record.id), router: router, maxInstances: configuration.instancesPerModule,
            acquireTimeout: configuration.wapc.timeout ?? .seconds(1), idleBudget: idleInstances)
        instances.adopt(trial)
        let usesState = usesState || stateful.withLock { $0.contains(record.id) }
        let barred = configuration.inlineCalls == 0 || barredFromInline.withLock { $0.contains(record.id) }
        let loaded = LoadedModule(
            record: record, interface: interface, instances: instances, pace: CallPace(streak: configuration.inlineStreak, barred: barred),
            usesState: usesState)
        let stored = held.withLock { held -> LoadedModule in
            // One per module: one that calls still hold wins over a new one.
            if let existing = held[record.id]?.module { return existing }
            held[record.id] = Held(module: loaded)
            // Forget modules nothing holds any more, so that this table follows the modules alive.
            if held.count > 2 * configuration.loadedModules { held = held.filter { $0.value.module != nil } }
            return loaded
        }
        return cache.insert(stored, for: record.id)
    }

    /// Records that `module` uses world state: its calls run as transactions (on the workers) or
    /// queries from now on.
    func markUsesState(_ module: LoadedModule) {
        module.markUsesState()
        stateful.withLock { _ = $0.insert(module.record.id) }
    }

    /// Bars `module` from running on callers' threads for the runtime's lifetime.
    func barFromInline(_ module: LoadedModule) {
        module.pace.bar()
        barredFromInline.withLock { _ = $0.insert(module.record.id) }
        logger.info(
            "a call that ran on a caller's thread was not short; the module's calls go to the workers from now on",
            metadata: ["id": "\(module.record.id)"])
    }
}
