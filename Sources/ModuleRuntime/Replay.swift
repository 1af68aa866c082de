import ContentStore
import DynamicProto
import Synchronization
import WapcHost
import WasmRPCCore
import WasmRPCProto

/// Re-runs a module's transactions from an empty state (`wasmrpc state verify`,
/// docs/CHAINCODE.md): each one in sequence order, the way the runtime ran it — on an instance
/// rewound to its initial state, with its recorded time and nonce, reading the state the
/// transactions before it made — and compares its output, read set and write set with the record.
/// Guests reach the state and the standard log capabilities (which answer as they do live); a
/// server configured with other host capabilities runs calls a replay cannot reproduce.
public final class Replay {
    public let module: ModuleID
    private let interface: ModuleInterface
    private let wasm: WapcModule
    private let configuration: RuntimeConfiguration
    /// The module's call limits, with guest output discarded.
    private let wapc: WapcConfiguration
    private let world = ReplayState()
    private var instance: WapcInstance?
    private let router: HostCallRouter
    /// The sequence number of the last transaction replayed.
    public private(set) var sequence: Int64 = 0
    /// What did not match, one line each.
    public private(set) var problems: [String] = []

    /// A replay of module `module` (its bytes and descriptor set, already checked against its id
    /// and log leaf by the caller), under `configuration`'s limits.
    public init(module: ModuleID, wasm bytes: [UInt8], descriptorSet: [UInt8], configuration: RuntimeConfiguration = RuntimeConfiguration())
        throws
    {
        self.module = module
        self.configuration = configuration
        interface = try ModuleInterface(descriptorSet: descriptorSet)
        var wapc = configuration.wapc(for: module)
        wapc.output = .discard
        self.wapc = wapc
        // The standard capabilities answer as they do live (success, nothing), without logging.
        var router = HostCallRouter()
        router.register(StateCapability(), binding: "wasmrpc", namespace: "state")
        for namespace in ["wasmrpc:log", "complex::any"] { router.register(Quiet(), namespace: namespace) }
        self.router = router
        do {
            wasm = try WapcModule.load(bytes: bytes, configuration: wapc, router: router)
        } catch {
            throw ModuleRuntimeError(.invalidModule, "module \(module) does not load: \(error.message)")
        }
    }

    /// Replays the next transaction (its sequence number must follow the last one's).
    public func apply(_ record: TransactionRecord) {
        let label = "transaction \(record.sequence) (\(record.id))"
        guard record.module == module else { return problems.append("\(label) belongs to module \(record.module)") }
        if record.sequence != sequence + 1 { problems.append("transaction \(sequence + 1) is missing before \(label)") }
        sequence = record.sequence
        guard let function = try? interface.resolve(record.method), function.methodPath.description == record.method else {
            return problems.append("\(label): the module has no method \(record.method)")
        }
        let access = StateAccess(
            mode: .transaction, module: module, method: function.methodPath, reader: world, pending: [:], limits: configuration.state)
        let context = CallContext(
            fixedTime: UInt64(clamping: record.timeNanoseconds), random: SeededRandom(module: module, nonce: record.nonce), capability: access)
        let output: [UInt8]
        do {
            let instance = try rewoundInstance()
            output = try access.failing { try instance.invoke(operation: function.name, payload: record.input, context: context) }
        } catch {
            instance = nil
            return problems.append("\(label): the call fails when run again: \(error)")
        }
        if output != record.output { problems.append("\(label): its output differs when run again") }
        if PendingTransaction.readSet(access.reads) != record.readSet { problems.append("\(label): it reads other state when run again") }
        let writes = access.writeList
        if PendingTransaction.writeSet(writes) != record.writeSet { problems.append("\(label): it writes other state when run again") }
        world.apply(writes)
    }

    /// The state the replayed transactions made, in key order.
    public var state: [StateEntry] { world.all }

    /// Compares the replayed state with `stored` (a module's whole stored state, in key order).
    public func compare(withStored stored: [StateEntry]) {
        let replayed = world.all
        if replayed == stored { return }
        let replayedKeys = Dictionary(replayed.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let storedKeys = Dictionary(stored.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var differences: [String] = []
        for (key, value) in storedKeys.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) where replayedKeys[key] != value {
            differences.append(replayedKeys[key] == nil ? "key 0x\(Hex.lowercase(key)) is stored but no transaction wrote it" : "key 0x\(Hex.lowercase(key)) has another value")
        }
        for key in replayedKeys.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) where storedKeys[key] == nil {
            differences.append("key 0x\(Hex.lowercase(key)) is missing from the stored state")
        }
        for difference in differences.prefix(20) { problems.append("the stored state differs from the replayed one: \(difference)") }
        if differences.count > 20 { problems.append("… and \(differences.count - 20) more differences") }
    }

    private func rewoundInstance() throws -> WapcInstance {
        let pristine = try wasm.pristineInstance(
            reusing: instance, configuration: wapc, router: router, initial: ModuleRuntime.initialContext(of: module))
        instance = pristine
        return pristine
    }
}

/// Answers every host call with success and an empty payload, as the logging capabilities do.
private struct Quiet: HostCapability {
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] { [] }
}

/// The world state of a replay, in memory.
final class ReplayState: StateReader {
    private let values = Mutex<[[UInt8]: [UInt8]]>([:])

    func value(_ owner: ModuleID, key: [UInt8]) throws(ContentStoreError) -> [UInt8]? { values.withLock { $0[key] } }

    func range(_ owner: ModuleID, start: [UInt8], end: [UInt8], limit: Int) throws(ContentStoreError) -> [StateEntry] {
        Array(all.filter { StateView.contains($0.key, start: start, end: end) }.prefix(limit))
    }

    func apply(_ writes: [StateWrite]) {
        values.withLock { values in for write in writes { values[write.key] = write.value } }
    }

    var all: [StateEntry] {
        values.withLock { $0 }.map { StateEntry(key: $0.key, value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }
}
