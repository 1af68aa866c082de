import ContentStore
import Synchronization
import WasmRPCCore

/// Which stored modules define which gRPC methods: the table behind the native routes, and the
/// list of uploaded services that health and reflection report. Filled from the store at start and
/// by every Add, so a module's methods are routable as soon as Add answered.
///
/// A method path (`complex.Calculator/mul`) may be defined by several modules; the most recently
/// added one serves it unless a call pins another with `wasmrpc-module-id`. Adding bytes that are
/// already stored does not make that module newer.
public final class ServiceDirectory: Sendable {
    private struct State {
        /// `package.Service/method` → the modules that define it, oldest first.
        var providers: [String: [ModuleID]] = [:]
        /// The methods of each module (for pinning: does this module define the path?).
        var methods: [ModuleID: Set<String>] = [:]
        /// Modules in the order they were added, oldest first.
        var modules: [ModuleID] = []
        /// Fully qualified names of the services the modules define.
        var services: Set<String> = []
    }

    private let state = Mutex(State())
    /// Told when modules were recorded (health watches).
    private let observers = Mutex<[@Sendable () -> Void]>([])

    public init() {}

    /// Calls `observer` whenever `changed()` reports new modules.
    public func observe(_ observer: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Tells the observers that modules were recorded.
    public func changed() {
        for observer in observers.withLock({ $0 }) { observer() }
    }

    /// Records module `id`'s methods (`/package.Service/method`); a module already recorded keeps
    /// its place. Whether it was new.
    @discardableResult
    public func register(_ id: ModuleID, functions: [String]) -> Bool {
        let paths = functions.compactMap { MethodPath($0)?.qualified }
        return state.withLock { state in
            guard state.methods[id] == nil else { return false }
            state.methods[id] = Set(paths)
            state.modules.append(id)
            for path in paths {
                state.providers[path, default: []].append(id)
                state.services.insert(String(path.prefix { $0 != "/" }))
            }
            return true
        }
    }

    /// Whether some module defines `path` (`package.Service/method`).
    public func defines(_ path: String) -> Bool {
        state.withLock { $0.providers[path] != nil }
    }

    /// The module that answers `path`: `pinned` if given (and it defines the path), else the most
    /// recently added one that defines it. UNIMPLEMENTED when no module defines the path, NOT_FOUND
    /// when the pinned module is not stored or does not define it.
    public func provider(of path: String, pinned: ModuleID?) throws(CallError) -> ModuleID {
        let found: Result<ModuleID, CallError> = state.withLock { state in
            guard let providers = state.providers[path], let newest = providers.last else {
                return .failure(CallError(.unimplemented, "no module defines \(path)"))
            }
            guard let pinned else { return .success(newest) }
            guard state.methods[pinned] != nil else {
                return .failure(CallError(.notFound, "module \(pinned) is not stored on this server"))
            }
            guard providers.contains(pinned) else {
                return .failure(
                    CallError(
                        .notFound,
                        "module \(pinned) does not define \(path); these modules do: " + providers.map { "\($0)" }.joined(separator: ", ")))
            }
            return .success(pinned)
        }
        return try found.get()
    }

    /// Fully qualified names of the services that uploaded modules define, sorted.
    public var services: [String] {
        state.withLock { $0.services }.sorted()
    }

    /// Whether an uploaded module defines the service `name`.
    public func definesService(_ name: String) -> Bool {
        state.withLock { $0.services.contains(name) }
    }

    /// The recorded modules, newest first (the order in which reflection searches their files).
    public var modulesNewestFirst: [ModuleID] {
        state.withLock { $0.modules.reversed() }
    }
}
