@_spi(Fuzzing) import WasmKit
import Dispatch

/// One live instance of a module in its own WasmKit `Store`, ready for waPC calls.
///
/// Not thread-safe: one call at a time (use `InstancePool` to share a module between threads).
/// After any failure other than a guest error (trap, fuel, deadline, fault, limit, `proc_exit`) the
/// instance refuses further calls, since the guest's memory may be inconsistent.
///
/// `@unchecked Sendable` so that a pool can hand it from thread to thread: it is used by one thread
/// at a time, and the pool's lock orders each hand-over.
public final class WapcInstance: @unchecked Sendable {
    private let store: Store
    let state: CallState  // internal: tests watch it to see the instance freed
    private let cap: MemoryCap
    private let deadlineSlot: DeadlineWatchdog.Slot
    private let guestCall: Function
    private var stack: ExecutionStack
    /// The module's mutable globals (`Rewind`).
    private let globals: [Global]
    /// Its state after initialization, once `makeRewindable()` took it.
    private var snapshot: Rewind.Snapshot?
    /// Why the instance can no longer be used, once it failed.
    public private(set) var failure: WapcError?
    /// The size of the instance's linear memory, in bytes.
    public var memoryBytes: Int { state.memory?.memory.byteCount ?? 0 }
    /// Fuel the last call used.
    public private(set) var lastFuelUsed: UInt64 = 0

    /// Instantiates `module` on `engine` and runs its initializers (`_initialize`, `_start`, then
    /// `wapc_init`, whichever it exports), each under the per-call limits and in `context`.
    init(module: WapcModule, engine: Engine, configuration: WapcConfiguration, router: HostCallRouter, context: CallContext = .live)
        throws(WapcError)
    {
        store = Store(engine: engine)
        cap = MemoryCap(maxMemoryBytes: configuration.memoryLimit, maxTableElements: configuration.maxTableElements)
        store.resourceLimiter = cap
        state = CallState(configuration: configuration, router: router, logBudget: module.logBudget)
        stack = ExecutionStack(engine: engine)
        deadlineSlot = DeadlineWatchdog.shared.register(store: store)

        let imports = HostImports.imports(for: module.module, store: store, state: state)
        let store = self.store
        let instance: Instance
        let guestCall: Function
        do throws(WapcError) {
            instance = try Self.limited(store: store, state: state, cap: cap, slot: deadlineSlot, during: "instantiation") {
                () throws(WapcError) in
                do {
                    return try module.module.instantiate(store: store, imports: imports)
                } catch {
                    throw Self.translate(error) { .invalidModule("the module does not validate: \(WasmKitErrorText.describe($0))") }
                }
            }
            guard let function = instance.exports[function: "__guest_call"],
                function.type == FunctionType(parameters: [.i32, .i32], results: [.i32])
            else {
                throw WapcError(.missingExport, "\"__guest_call\" must be a function (i32, i32) -> i32")
            }
            guestCall = function
        } catch {
            // `deinit` does not run for an object that failed before all its properties were set.
            DeadlineWatchdog.shared.unregister(deadlineSlot)
            throw error
        }
        self.guestCall = guestCall
        globals = module.globalNames.compactMap { instance.exports[global: $0] }
        guard let memory = instance.exports[memory: "memory"] else {
            throw WapcError(.missingExport, "the module does not export its linear memory as \"memory\"")
        }
        state.memory = GuestMemory(memory: memory)
        state.context = context

        for name in ["_initialize", "_start", "wapc_init"] {
            guard let function = instance.exports[function: name] else { continue }
            guard function.type == FunctionType(parameters: [], results: []) else {
                throw WapcError(.missingExport, "\"\(name)\" must be a function () -> ()")
            }
            do {
                _ = try run(function, timeout: nil, [])
            } catch where name == "_start" && error.code == .exited && state.exitCode == 0 {
                // A WASI command's `_start` may end with proc_exit(0) once `main` returns.
                failure = nil
            } catch {
                throw WapcError(error.code, "\(name) failed: \(error.message)")
            }
        }
        state.reset()
    }

    deinit {
        DeadlineWatchdog.shared.unregister(deadlineSlot)
        // Break the cycle store → host functions → `state` → guest memory → store (WasmKit's
        // `Memory` holds its store's allocator): without this no instance whose module imports a
        // host function was ever freed, linear memory included.
        state.memory = nil
    }

    /// Keeps the instance's state as it is now (right after initialization, never called), so that
    /// `rewind()` can bring it back.
    public func makeRewindable() {
        guard let memory = state.memory?.memory else { return }
        let bytes = memory.withUnsafeBufferPointer(offset: 0, count: memory.byteCount) { Array($0) }
        snapshot = Rewind.Snapshot(memory: bytes, globals: globals.map { ($0, $0.value) })
    }

    /// Brings back the state `makeRewindable()` kept: the instance is then as if new. False (and
    /// nothing done) if there is no such state, the instance failed, or its memory grew since.
    public func rewind() -> Bool {
        guard failure == nil, let snapshot, let memory = state.memory?.memory, memory.byteCount == snapshot.memory.count else {
            return false
        }
        memory.withUnsafeMutableBufferPointer(offset: 0, count: snapshot.memory.count) { target in
            snapshot.memory.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        for (global, value) in snapshot.globals {
            do {
                try global.assign(value)
            } catch {
                return false
            }
        }
        return true
    }

    /// Runs the waPC operation `operation` with `payload` and returns the guest's response.
    public func invoke(operation: String, payload: some Collection<UInt8>) throws(WapcError) -> [UInt8] {
        try invoke(operation: operation, payload: Array(payload))
    }

    /// Runs the waPC operation `operation` with `payload` and returns the guest's response.
    ///
    /// `timeout`, when given, tightens the configured timeout for this call only (e.g. to what is
    /// left of a client's deadline); it never extends it. `context` is what the call sees of the
    /// world (clocks, random bytes, a value for host capabilities).
    public func invoke(operation: String, payload: [UInt8], timeout: Duration? = nil, context: CallContext = .live) throws(WapcError)
        -> [UInt8]
    {
        if let failure {
            throw WapcError(failure.code, "the instance was discarded after an earlier failure: \(failure.message)")
        }
        guard payload.count <= state.configuration.maxRequestBytes else {
            throw .limitExceeded(
                "a request of \(payload.count) bytes exceeds the limit of \(state.configuration.maxRequestBytes) bytes")
        }
        // The state is cleared after every call (and after start-up), so it is clean here.
        defer { state.reset() }
        state.operation = Array(operation.utf8)
        state.payload = payload
        state.context = context
        let results = try run(
            guestCall, timeout: timeout, [.i32(UInt32(truncatingIfNeeded: state.operation.count)), .i32(UInt32(truncatingIfNeeded: state.payload.count))])
        let refusedMemory = cap.takeRefusal()
        guard case .i32(1) = results.first else {
            let message = state.guestError.map { String(decoding: $0, as: UTF8.self) } ?? "the guest failed without an error message"
            if refusedMemory { throw WapcError(.memoryLimit, "the guest hit its memory limit: \(message)") }
            throw Self.isUnknownOperation(message) ? WapcError(.unknownOperation, message) : .guestError(message)
        }
        guard let response = state.guestResponse else {
            throw .guestFault("the guest reported success without calling __guest_response")
        }
        return response
    }

    /// Runs `function` with fuel and deadline armed; any failure poisons the instance.
    private func run(_ function: Function, timeout: Duration?, _ arguments: [Value]) throws(WapcError) -> [Value] {
        defer { lastFuelUsed = (state.configuration.fuel ?? .max) - (store.fuel?.remaining ?? 0) }
        do {
            return try Self.limited(store: store, state: state, cap: cap, slot: deadlineSlot, during: "call", timeout: timeout) { () throws(WapcError) in
                do {
                    return try function.invoke(arguments, on: &stack)
                } catch {
                    throw Self.translate(error) { .trapped(WasmKitErrorText.describe($0)) }
                }
            }
        } catch {
            failure = error
            throw error
        } 
    }

    /// Gives `store` a fresh fuel budget, arms the deadline, runs `body`, and turns a fuel trap
    /// caused by the watchdog into `deadlineExceeded` and a failure after refused growth into
    /// `memoryLimit`.
    private static func limited<T>(
        store: Store, state: CallState, cap: MemoryCap, slot: DeadlineWatchdog.Slot, during phase: String,
        timeout callTimeout: Duration? = nil, _ body: () throws(WapcError) -> T
    ) throws(WapcError) -> T {
        let configuration = state.configuration
        store.fuel = Fuel(remaining: configuration.fuel ?? .max)
        let timeout = [configuration.timeout, callTimeout].compactMap { $0 }.min()
        if let timeout {
            let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(clamping: timeout.nanoseconds)
            state.deadline = deadline
            slot.arm(deadline: deadline)
        }
        var expired = false
        defer { state.deadline = nil }
        do {
            let result = try body()
            if state.deadline != nil { _ = slot.disarm() }
            return result
        } catch {
            if state.deadline != nil { expired = slot.disarm() }
            if error.code == .outOfFuel, expired {
                throw WapcError(.deadlineExceeded, "the \(phase) ran past its deadline of \(timeout.map { "\($0)" } ?? "")")
            }
            if error.code == .trapped || error.code == .guestError, cap.takeRefusal() {
                throw WapcError(.memoryLimit, "the guest hit its memory limit of \(configuration.memoryLimit) bytes (\(error.message))")
            }
            throw error
        }
    }

    /// Maps what WasmKit throws: errors from our host functions pass through, traps are classified,
    /// anything else goes through `other`.
    private static func translate(_ error: any Error, other: (any Error) -> WapcError) -> WapcError {
        switch error {
        case let error as WapcError: error
        case let trap as Trap: classify(trap)
        default: other(error)
        }
    }

    private static func classify(_ trap: Trap) -> WapcError {
        var reason = trap.description
        if reason.hasPrefix("Trap: ") { reason.removeFirst(6) }
        if let newline = reason.firstIndex(of: "\n") { reason = String(reason[..<newline]) }
        if reason.hasPrefix("out of fuel") { return WapcError(.outOfFuel, "the guest ran out of fuel") }
        if reason.contains("exceeds the resource limit") { return WapcError(.memoryLimit, reason) }
        if reason.hasPrefix("call stack exhausted") { return .trapped("call stack exhausted (recursion too deep)") }
        return .trapped(reason)
    }

    /// "Unknown operation" messages of the guest SDKs: ours, Rust `wapc-guest`, TinyGo and
    /// AssemblyScript.
    static func isUnknownOperation(_ message: String) -> Bool {
        message.hasPrefix("unknown operation")
            || message.contains("No handler registered for function")
            || message.contains("Could not find function")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
