import ContentStore
import DynamicProto
import Foundation
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
    /// The transaction that recorded the call's state changes; nil if it changed nothing.
    public internal(set) var transaction: CommittedTransaction?
    /// Whether this is the answer of an earlier call with the same idempotency key (this call did
    /// not run): `output` and `transaction` are that call's.
    public internal(set) var replayed = false
    /// A query whose reads did not hold to its end: it runs again.
    var readsChanged = false
}

/// A function of a loaded module, found by `ModuleRuntime.readyFunction`, for `invokeNow`.
public struct ReadyFunction: Sendable {
    let module: LoadedModule
    public let function: MethodDescriptor
    /// The module's parsed descriptor (its messages, for converting them).
    public var interface: ModuleInterface { module.interface }
}

/// A committed transaction and its leaf's receipt.
public struct CommittedTransaction: Sendable {
    public let record: TransactionRecord
    /// Nil only when the store committed the transaction but then failed to read its inclusion
    /// proof; `ContentStore.receipt(for:)` (State.GetTransaction) reads it later.
    public let receipt: LogReceipt?
}

/// Adds, loads and runs modules on top of the content store: validates modules and descriptors
/// before they are stored, keeps recently used modules loaded with an instance pool each, and runs
/// guests on its own worker threads so that a guest never blocks Swift's cooperative pool.
public final class ModuleRuntime: Sendable {
    public let store: ContentStore
    public let configuration: RuntimeConfiguration
    public let router: HostCallRouter
    let loader: ModuleLoader
    let scheduler: CallScheduler
    private let interfaces: ModuleCache<ModuleInterface>
    let commits: CommitQueue
    /// Names this runtime among the servers that share its store: the origin of its transactions
    /// and the owner of its module claims (`ModuleClaim`).
    let replica = UUID().uuidString
    /// What this runtime knows of module claims on a shared store.
    let claims = ClaimBook()
    let logger: Logger

    /// A runtime on `store`. Its guests reach the host capabilities of `router` and, under binding
    /// `wasmrpc`, namespace `state`, their module's world state (`StateCapability`).
    public init(
        store: ContentStore, configuration: RuntimeConfiguration = RuntimeConfiguration(), router: HostCallRouter = .standard,
        logger: Logger = Logger(label: "wasmrpc.runtime")
    ) {
        var router = router
        router.register(StateCapability(), binding: "wasmrpc", namespace: "state")
        self.store = store
        self.configuration = configuration
        self.router = router
        self.logger = logger
        commits = CommitQueue(store: store, limits: configuration.state)
        loader = ModuleLoader(configuration: configuration, router: router, logger: logger)
        scheduler = CallScheduler(configuration: configuration, loader: loader)
        interfaces = ModuleCache(capacity: configuration.parsedDescriptors)
    }

    /// Finishes queued work and stops the worker threads; later calls fail as `unavailable`.
    public func shutdown() async {
        await scheduler.shutdown()
    }

    /// How many modules are loaded right now (for tests and metrics).
    public var loadedModuleCount: Int { loader.count }

    /// Modules loaded from the store since the runtime started (for tests).
    public var loadCount: Int { loader.loadCount }

    /// Calls of module `id` running and waiting for one of its instances; nil if it is not loaded.
    public func callCounts(of id: ModuleID) -> (running: Int, waiting: Int)? {
        loader.peek(id)?.gate.counts
    }

    /// The path (`package.Service/method`) that `name` resolves to in module `id`, if the module is
    /// loaded (for metric labels, which must not grow with what clients send).
    public func loadedFunctionPath(module id: ModuleID, name: String) -> String? {
        guard let module = loader.peek(id), let function = try? module.resolve(name) else { return nil }
        return function.methodPath.qualified
    }

    /// Parsed descriptors kept (for tests).
    public var parsedDescriptorCount: Int { interfaces.count }

    /// Instances kept warm across all loaded modules (for tests and metrics).
    public var idleInstanceCount: Int { loader.idleInstances.count }

    /// Calls that ran on their caller's thread instead of a worker, since the runtime started.
    public var inlineCallCount: Int { scheduler.inlineCallCount }

    /// Jobs on the worker threads or waiting for one (for tests and metrics).
    public var pendingWork: Int { scheduler.pendingWork }

    // MARK: - Registry

    /// Validates and stores a module. The wasm must load and link against the host; the descriptor
    /// set (given, or else the module's `wasmrpc.descriptor` custom section) must be
    /// self-contained and define at least one service, none in the `grpc.*` or `wasmrpc.*`
    /// packages (`isReserved`). An empty `name` becomes the first
    /// service's full name. Bytes that are already stored return the stored module without
    /// being validated (or their initializers run) again.
    public func add(wasm: [UInt8], descriptorSet: [UInt8]?, name: String) async throws -> AddedModule {
        try await wrappingErrors {
            guard wasm.count <= configuration.maxModuleBytes else {
                throw ModuleRuntimeError(.overloaded, "a module of \(wasm.count) bytes exceeds the limit of \(configuration.maxModuleBytes) bytes")
            }
            if let problem = ModuleLogEntry.nameProblem(name) {
                throw ModuleRuntimeError(.invalidArgument, "\(problem): \(EchoedText.quote(name))")
            }
            let id = try await scheduler.onWorker { ModuleID(of: wasm) }
            if let record = try await store.record(id) {
                // Stored already: the write only restores the blob if it went missing or bad.
                try await store.blobs.put(wasm)
                return AddedModule(record: record, interface: try await scheduler.onWorker { [self] in try self.interface(of: record) }, created: false)
            }
            let (module, trial, set, interface) = try await scheduler.onWorker { [self] in
                let module: WapcModule
                let trial: WapcInstance
                do throws(WapcError) {
                    (module, trial) = try WapcModule.loadKeepingInstance(bytes: wasm, configuration: configuration.wapc(for: id), router: router)
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
                if let reserved = interface.pool.services.first(where: { Self.isReserved($0.fullName) }) {
                    throw ModuleRuntimeError(
                        .invalidDescriptor,
                        "the descriptor defines \(reserved.fullName): the grpc.* and wasmrpc.* packages are the server's own, and a module's service there could be mistaken for it")
                }
                return (module, trial, set, interface)
            }
            let name = name.isEmpty ? interface.pool.services[0].fullName : name
            let (record, created) = try await store.add(wasm: wasm, descriptor: set, name: name, functions: interface.signatures)
            guard created else {
                return AddedModule(record: record, interface: try await scheduler.onWorker { [self] in try self.interface(of: record) }, created: false)
            }
            logger.info("added module", metadata: ["id": "\(record.id)", "name": "\(name)", "size": "\(wasm.count)"])
            let cached = interfaces.insert(interface, for: record.id)
            // Loaded at once with the module just parsed and the instance that validated it: the
            // first call neither reads, verifies and parses the bytes again nor makes and translates
            // an instance.
            loader.insert(record: record, interface: cached, module: module, trial: trial)
            return AddedModule(record: record, interface: cached, created: true)
        }
    }

    /// A module's record, interface and bytes, read from disk and verified against the id.
    public func module(_ id: ModuleID) async throws -> (record: ModuleRecord, interface: ModuleInterface, wasm: [UInt8]) {
        try await wrappingErrors {
            let (record, wasm) = try await store.module(id)
            return (record, try await scheduler.onWorker { [self] in try interface(of: record) }, wasm)
        }
    }

    /// A page of modules in the order they were added (`ContentStore.list`), each with its
    /// functions' signatures: from the index, or for a module stored before the index recorded
    /// them, from its parsed descriptor (the only case in which List parses one).
    public func list(after token: Int64?, limit: Int, maxBytes: Int, includeDescriptors: Bool) async throws
        -> (modules: [ModuleSummary], next: Int64?)
    {
        try await wrappingErrors {
            var (modules, next) = try await store.list(after: token, limit: limit, maxBytes: maxBytes, includeDescriptors: includeDescriptors)
            for index in modules.indices where modules[index].signatures == nil {
                guard let record = try await store.record(modules[index].id) else { continue }
                modules[index].signatures = try await scheduler.onWorker { [self] in try interface(of: record).signatures }
            }
            return (modules, next)
        }
    }

    /// Runs store work (log proofs, receipts) with its errors as the runtime's.
    public func withStore<T: Sendable>(_ body: (ContentStore) async throws -> T) async throws -> T {
        try await wrappingErrors { try await body(store) }
    }

    /// The parsed descriptor of stored module `id` (cached; on a miss read from the store and
    /// parsed on a worker).
    public func interface(of id: ModuleID) async throws -> ModuleInterface {
        if let cached = interfaces.value(id) { return cached }
        return try await wrappingErrors {
            guard let record = try await store.record(id) else { throw ContentStoreError(.notFound, "no module \(id)") }
            return try await scheduler.onWorker { [self] in try interface(of: record) }
        }
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
    /// configured timeout. Input and output are validated against the descriptor. A transaction
    /// with `idempotencyKey` runs at most once: a call whose module recorded the key answers that
    /// transaction (docs/CHAINCODE.md, "Exactly-once calls"); other calls ignore the key.
    public func invoke(
        module id: ModuleID, function name: String, typeURL: String, parameters: [UInt8],
        deadline: ContinuousClock.Instant? = nil, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> Invocation {
        try await wrappingErrors {
            let module = try await load(id)
            let function = try Self.callable(name, typeURL: typeURL, of: module)
            if function.idempotencyLevel == .noSideEffects {
                return try await query(module, function, parameters: parameters, deadline: deadline)
            }
            if !module.usesState {
                do {
                    return try await scheduler.schedule(module, deadline: deadline, Self.statelessCall(module, function, parameters: parameters))
                } catch let error as WapcError where error.code == .endedByHost {
                    // The guest touched state: from now on its calls are transactions, this one too.
                    loader.markUsesState(module)
                }
            }
            return try await transaction(module, function, parameters: parameters, deadline: deadline, idempotencyKey: idempotencyKey)
        }
    }

    /// `invoke` on the calling thread, without waiting for anything, when the call can start at
    /// once: it is stateless or a query, its module's recent calls were short, and one of the
    /// module's instances and an inline slot are free (`CallScheduler.runNow`). nil when it cannot,
    /// before the guest ran or after a state operation ended it (then `invoke` runs it: the
    /// module's calls are transactions from now on).
    public func invokeNow(
        _ ready: ReadyFunction, typeURL: String, parameters: [UInt8], deadline: ContinuousClock.Instant?
    ) throws -> Invocation? {
        let (module, function) = (ready.module, ready.function)
        do {
            try Self.check(function, takes: typeURL, in: module)
            if function.idempotencyLevel == .noSideEffects {
                return try queryNow(module, function, parameters: parameters, deadline: deadline)
            }
            guard !module.usesState else { return nil }
            do {
                return try scheduler.runNow(module, deadline: deadline, Self.statelessCall(module, function, parameters: parameters))
            } catch let error as WapcError where error.code == .endedByHost {
                loader.markUsesState(module)
                return nil
            }
        } catch {
            throw ModuleRuntimeError.wrapping(error)
        }
    }

    /// The function `name` names in module `id`, if the module is loaded and the name resolves; for
    /// `invokeNow`.
    public func readyFunction(_ name: String, of id: ModuleID) -> ReadyFunction? {
        guard let module = loader.cached(id), let function = try? module.resolve(name) else { return nil }
        return ReadyFunction(module: module, function: function)
    }

    /// The method a call of `name` with parameters of `typeURL` runs, checked (`check`).
    private static func callable(_ name: String, typeURL: String, of module: LoadedModule) throws -> MethodDescriptor {
        let function = try module.resolve(name)
        try check(function, takes: typeURL, in: module)
        return function
    }

    /// Checks that `function` has a waPC form and takes parameters of `typeURL`.
    private static func check(_ function: MethodDescriptor, takes typeURL: String, in module: LoadedModule) throws {
        try ModuleInterface.checkCallable(function)
        let interface = module.interface
        guard interface.typeURL(typeURL, names: function.input) else {
            throw ModuleRuntimeError(
                .invalidArgument,
                "\(function.path) takes \(interface.pool[function.input].fullName), but the parameters are a \(EchoedText.quote(typeURL))")
        }
    }

    /// A call of a module not known to use state, given the time it has.
    private static func statelessCall(
        _ module: LoadedModule, _ function: MethodDescriptor, parameters: [UInt8]
    ) -> @Sendable (_ timeout: Duration?) throws -> Invocation {
        { timeout in
            try checked(function, of: module.interface, parameters: parameters) {
                try module.instances.withInstance { instance throws(WapcError) in
                    (try instance.invoke(operation: function.name, payload: parameters, timeout: timeout, context: undecided), instance.lastFuelUsed)
                }
            }
        }
    }

    /// Calls of a module not known to use state: a state operation ends the call (which then runs
    /// as a transaction).
    private static let undecided = CallContext(capability: StateAccess.undecided)

    /// The method `name` names in module `id` (loading the module if needed).
    public func function(_ name: String, of id: ModuleID) async throws -> MethodDescriptor {
        try await wrappingErrors {
            try await load(id).resolve(name)
        }
    }

    /// The loaded module `id`, from the cache or from the store (verified, parsed, linked); one
    /// load per module however many callers need it at once (`ModuleLoader`).
    private func load(_ id: ModuleID) async throws -> LoadedModule {
        try await loader.module(id) { [self] in
            let (record, wasm) = try await store.module(id)
            let usesState = try await store.hasState(id)
            return try await scheduler.onWorker { [self] in
                let interface = try interface(of: record)
                let (module, trial) = try WapcModule.loadKeepingInstance(bytes: wasm, configuration: configuration.wapc(for: id), router: router)
                return (record, interface, module, trial, usesState)
            }
        }
    }

    /// Runs `body`, throwing lower layers' errors as the runtime's own (`ModuleRuntimeError.wrapping`).
    private func wrappingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw ModuleRuntimeError.wrapping(error)
        }
    }
}
