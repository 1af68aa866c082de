import ContentStore
import DynamicProto
import Logging
import NIOPosix
import SwiftProtobuf
import TransparencyLog
import Synchronization
import WapcHost
import WasmRPCCore

/// A module as Add stored it, with its interface; `created` is false when the same bytes were
/// already stored (then record and interface are the stored ones).
public struct AddedModule: Sendable {
    public let record: ModuleRecord
    public let interface: ModuleInterface
    public let created: Bool
}

/// The result of a call: the output message's bytes (validated against the output type) and its
/// type URL.
public struct Invocation: Sendable {
    public let function: MethodDescriptor
    public let typeURL: String
    public let output: [UInt8]
    /// Fuel the guest used (about one unit per wasm operator).
    public let fuelUsed: UInt64
    /// Whether it ran on the caller's thread rather than a worker's.
    public internal(set) var ranInline = false
}

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

    init(record: ModuleRecord, interface: ModuleInterface, instances: InstancePool, pace: CallPace) {
        self.record = record
        self.interface = interface
        self.instances = instances
        self.pace = pace
        gate = CallGate(limit: instances.maxInstances)
    }

    /// `interface.resolve(name)`, cached.
    func resolve(_ name: String) throws(ModuleRuntimeError) -> MethodDescriptor {
        if let function = resolved.withLock({ $0[name] }) { return function }
        let function = try interface.resolve(name)
        resolved.withLock { if $0.count < Self.maxResolvedNames { $0[name] = function } }
        return function
    }
}

/// Adds, loads and runs modules on top of the content store: validates modules and descriptors
/// before they are stored, keeps recently used modules loaded with an instance pool each, and runs
/// guests on its own worker threads so that a guest never blocks Swift's cooperative pool.
public final class ModuleRuntime: Sendable {
    public let store: ContentStore
    public let configuration: RuntimeConfiguration
    public let router: HostCallRouter
    private let workers: NIOThreadPool
    /// Jobs handed to the workers and not finished yet.
    private let pending = Atomic<Int>(0)
    private let loaded: ModuleCache<LoadedModule>
    /// Bounds the idle instances of all loaded modules together.
    private let idleInstances: IdleInstanceBudget
    private let interfaces: ModuleCache<ModuleInterface>
    /// Calls running on their caller's thread right now (at most `configuration.inlineCalls`).
    private let inlineRunning = Atomic<Int>(0)
    /// Calls that ran on their caller's thread since the runtime started.
    private let inlineTotal = Atomic<Int>(0)
    /// Modules one of whose calls was not short on a caller's thread: never inline
    /// again, even after they are evicted and loaded again.
    private let barredFromInline = Mutex<Set<ModuleID>>([])
    private let logger: Logger

    public init(
        store: ContentStore, configuration: RuntimeConfiguration = RuntimeConfiguration(), router: HostCallRouter = .standard,
        logger: Logger = Logger(label: "wasmrpc.runtime")
    ) {
        self.store = store
        self.configuration = configuration
        self.router = router
        self.logger = logger
        loaded = ModuleCache(capacity: configuration.loadedModules)
        idleInstances = IdleInstanceBudget(limit: configuration.maxIdleInstances)
        interfaces = ModuleCache(capacity: configuration.parsedDescriptors)
        workers = NIOThreadPool(numberOfThreads: max(1, configuration.workerThreads))
        workers.start()
    }

    /// Finishes queued work and stops the worker threads; later calls fail as `unavailable`.
    public func shutdown() async {
        try? await workers.shutdownGracefully()
    }

    /// How many modules are loaded right now (for tests and metrics).
    public var loadedModuleCount: Int { loaded.count }

    /// Calls of module `id` running and waiting for one of its instances; nil if it is not loaded.
    public func callCounts(of id: ModuleID) -> (running: Int, waiting: Int)? {
        loaded.peek(id)?.gate.counts
    }

    /// The path (`package.Service/method`) that `name` resolves to in module `id`, if the module is
    /// loaded (for metric labels, which must not grow with what clients send).
    public func loadedFunctionPath(module id: ModuleID, name: String) -> String? {
        guard let module = loaded.peek(id), let function = try? module.resolve(name) else { return nil }
        return function.methodPath.qualified
    }

    /// Parsed descriptors kept (for tests).
    public var parsedDescriptorCount: Int { interfaces.count }

    /// Instances kept warm across all loaded modules (for tests and metrics).
    public var idleInstanceCount: Int { idleInstances.count }

    /// Calls that ran on their caller's thread instead of a worker, since the runtime started.
    public var inlineCallCount: Int { inlineTotal.load(ordering: .relaxed) }

    /// Jobs on the worker threads or waiting for one (for tests and metrics).
    public var pendingWork: Int { pending.load(ordering: .relaxed) }

    // MARK: - Registry

    /// Validates and stores a module. The wasm must load and link against the host; the descriptor
    /// set (given, or else the module's `wasmrpc.descriptor` custom section) must be
    /// self-contained and define at least one service. An empty `name` becomes the first
    /// service's full name. Bytes that are already stored return the stored module without
    /// being validated (or their initializers run) again.
    public func add(wasm: [UInt8], descriptorSet: [UInt8]?, name: String) async throws -> AddedModule {
        guard wasm.count <= configuration.maxModuleBytes else {
            throw ModuleRuntimeError(.overloaded, "a module of \(wasm.count) bytes exceeds the limit of \(configuration.maxModuleBytes) bytes")
        }
        if let problem = ModuleLogEntry.nameProblem(name) {
            throw ModuleRuntimeError(.invalidArgument, "\(problem): \(ModuleRuntimeError.quote(name))")
        }
        return try await onWorker { [self] in
            if let record = try store.record(ModuleID(of: wasm)) {
                // Stored already: the write only restores the blob if it went missing or bad.
                try store.blobs.write(wasm)
                return AddedModule(record: record, interface: try interface(of: record), created: false)
            }
            let module: WapcModule
            let trial: WapcInstance
            do throws(WapcError) {
                (module, trial) = try WapcModule.loadKeepingInstance(bytes: wasm, configuration: configuration.wapc, router: router)
            } catch {
                throw ModuleRuntimeError(.invalidModule, "the module cannot run here: \(error.message)")
            }
            guard let set = try descriptorSet ?? module.customSections[ModuleInterface.customSectionName].map(Self.normalized) else {
                throw ModuleRuntimeError(
                    .invalidDescriptor,
                    "no descriptor: send a FileDescriptorSet with the module or embed one in a custom section named \"\(ModuleInterface.customSectionName)\"")
            }
            // Sent or embedded, one limit.
            guard set.count <= configuration.maxDescriptorBytes else {
                throw ModuleRuntimeError(
                    .overloaded, "a descriptor set of \(set.count) bytes exceeds the limit of \(configuration.maxDescriptorBytes) bytes")
            }
            let interface = try ModuleInterface(descriptorSet: set)
            let name = name.isEmpty ? interface.pool.services[0].fullName : name
            let (record, created) = try store.add(
                wasm: wasm, descriptor: set, name: name, functions: interface.signatures)
            if created {
                logger.info("added module", metadata: ["id": "\(record.id)", "name": "\(name)", "size": "\(wasm.count)"])
                let interface = self.interfaces.insert(interface, for: record.id)
                // Loaded at once with the module just parsed and the instance that validated it:
                // the first call neither reads, verifies and parses the bytes again nor makes and
                // translates an instance.
                _ = loaded.insert(makeLoaded(record: record, interface: interface, module: module, trial: trial), for: record.id)
                return AddedModule(record: record, interface: interface, created: true)
            }
            return AddedModule(record: record, interface: try self.interface(of: record), created: false)
        }
    }

    /// A module's record, interface and bytes, read from disk and verified against the id.
    public func module(_ id: ModuleID) async throws -> (record: ModuleRecord, interface: ModuleInterface, wasm: [UInt8]) {
        try await onWorker { [self] in
            let (record, wasm) = try store.module(id)
            return (record, try interface(of: record), wasm)
        }
    }

    /// A page of modules in the order they were added (`ContentStore.list`), each with its
    /// functions' signatures: from the index, or for a module stored before the index recorded
    /// them, from its parsed descriptor (the only case in which List parses one).
    public func list(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws
        -> (modules: [ModuleSummary], next: Int64?)
    {
        try await onWorker { [self] in
            var (modules, next) = try store.list(after: token, limit: limit, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
            for index in modules.indices where modules[index].signatures == nil {
                guard let record = try store.record(modules[index].id) else { continue }
                modules[index].signatures = try interface(of: record).signatures
            }
            return (modules, next)
        }
    }

    /// The descriptor set as swift-protobuf writes it, so that the stored bytes (and the digest in
    /// the log) are what any client gets by serializing the `FileDescriptorSet` it receives.
    static func normalized(_ bytes: [UInt8]) throws(ModuleRuntimeError) -> [UInt8] {
        do {
            return try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes).serializedBytes()
        } catch {
            throw ModuleRuntimeError(.invalidDescriptor, "the embedded descriptor set is not a FileDescriptorSet: \(error)")
        }
    }

    /// Runs blocking store work (log proofs, receipts) on a worker thread.
    public func withStore<T: Sendable>(_ body: @escaping @Sendable (ContentStore) throws -> T) async throws -> T {
        try await onWorker { [store] in try body(store) }
    }

    /// The parsed descriptor of a stored module (cached).
    public func interface(of record: ModuleRecord) throws(ModuleRuntimeError) -> ModuleInterface {
        if let cached = interfaces.value(record.id) { return cached }
        let interface: ModuleInterface
        do {
            interface = try ModuleInterface(descriptorSet: record.descriptor)
        } catch {
            // Add validated it, so the stored descriptor was damaged or the rules changed.
            throw ModuleRuntimeError(.invalidDescriptor, "the stored descriptor of module \(record.id) no longer parses: \(error.message)")
        }
        return interfaces.insert(interface, for: record.id)
    }

    // MARK: - Invoker

    /// Runs `function` of module `id` with `parameters` (protobuf bytes of the input type, named by
    /// `typeURL` or an empty URL). The guest gets what is left until `deadline`, capped by the
    /// configured timeout. Input and output are validated against the descriptor.
    public func invoke(
        module id: ModuleID, function name: String, typeURL: String, parameters: [UInt8],
        deadline: ContinuousClock.Instant? = nil
    ) async throws -> Invocation {
        let module = try await load(id)
        let interface = module.interface
        let function = try module.resolve(name)
        try ModuleInterface.checkCallable(function)
        guard interface.typeURL(typeURL, names: function.input) else {
            throw ModuleRuntimeError(
                .invalidArgument,
                "\(function.path) takes \(interface.pool[function.input].fullName), but the parameters are a \(ModuleRuntimeError.quote(typeURL))")
        }
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
            do throws(DynamicProtoError) {
                _ = try DynamicMessage(serializedBytes: parameters, type: function.input, pool: interface.pool)
            } catch {
                throw ModuleRuntimeError(
                    .invalidArgument, "the parameters are not a valid \(interface.pool[function.input].fullName): \(error.message)")
            }
            let (output, fuelUsed) = try module.instances.withInstance { instance throws(WapcError) in
                (try instance.invoke(operation: function.name, payload: parameters, timeout: timeout), instance.lastFuelUsed)
            }
            do throws(DynamicProtoError) {
                _ = try DynamicMessage(serializedBytes: output, type: function.output, pool: interface.pool)
            } catch {
                throw ModuleRuntimeError(
                    .invalidOutput,
                    "the guest's answer to \(function.name) is not a valid \(interface.pool[function.output].fullName): \(error.message)")
            }
            return Invocation(function: function, typeURL: interface.typeURL(of: function.output), output: output, fuelUsed: fuelUsed)
        }
        if module.pace.mayRunInline, takeInlineSlot() {
            defer { inlineRunning.subtract(1, ordering: .relaxed) }
            try Task.checkCancellation()
            inlineTotal.add(1, ordering: .relaxed)
            var invocation = try timed(call, of: module, inline: true)
            invocation.ranInline = true
            return invocation
        }
        return try await onWorker { [self] in try timed(call, of: module, inline: false) }
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
                if inline, !wasShort { barFromInline(module) }
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

    private func barFromInline(_ module: LoadedModule) {
        module.pace.bar()
        barredFromInline.withLock { _ = $0.insert(module.record.id) }
        logger.info(
            "a call that ran on a caller's thread was not short; the module's calls go to the workers from now on",
            metadata: ["id": "\(module.record.id)"])
    }

    /// One of the `inlineCalls` slots, if one is free.
    private func takeInlineSlot() -> Bool {
        if inlineRunning.add(1, ordering: .relaxed).oldValue < configuration.inlineCalls { return true }
        inlineRunning.subtract(1, ordering: .relaxed)
        return false
    }

    /// The method `name` names in module `id` (loading the module if needed).
    public func function(_ name: String, of id: ModuleID) async throws -> MethodDescriptor {
        try await load(id).resolve(name)
    }

    /// The loaded module `id`, from the cache or from the store (verified, parsed, linked).
    private func load(_ id: ModuleID) async throws -> LoadedModule {
        if let module = loaded.value(id) { return module }
        return try await onWorker { [self] in
            let (record, wasm) = try store.module(id)
            let interface = try interface(of: record)
            let (module, trial) = try WapcModule.loadKeepingInstance(bytes: wasm, configuration: configuration.wapc, router: router)
            logger.debug("loaded module", metadata: ["id": "\(id)"])
            return loaded.insert(makeLoaded(record: record, interface: interface, module: module, trial: trial), for: id)
        }
    }

    /// A loaded module whose instance pool holds `trial`, the instance that validated it (if the
    /// idle budget allows). The module's gate lets no more calls in than there are instances, so
    /// the pool never waits.
    private func makeLoaded(record: ModuleRecord, interface: ModuleInterface, module: WapcModule, trial: WapcInstance) -> LoadedModule {
        let instances = InstancePool(
            module: module, configuration: configuration.wapc, router: router, maxInstances: configuration.instancesPerModule,
            acquireTimeout: configuration.wapc.timeout ?? .seconds(1), idleBudget: idleInstances)
        instances.adopt(trial)
        let barred = configuration.inlineCalls == 0 || barredFromInline.withLock { $0.contains(record.id) }
        return LoadedModule(
            record: record, interface: interface, instances: instances,
            pace: CallPace(streak: configuration.inlineStreak, barred: barred))
    }

    /// Runs blocking `body` on a worker thread; refuses it when too much work is already waiting.
    /// A job whose task was cancelled while it waited (the client gave up) does not run.
    private func onWorker<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
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
