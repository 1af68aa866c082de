import ArgumentParser
import Foundation
import ListenerLimits
import NIOCore
import Server

/// The per-invocation and per-server limits of `serve`. Each flag falls back to an environment
/// variable (`--max-module-bytes` ← `WASMRPC_MAX_MODULE_BYTES`), then to the default shown.
struct ServeLimits: ParsableArguments {
    @Option(help: "Wall-clock limit of one guest call; the client's deadline may shorten it [WASMRPC_TIMEOUT, 1s].")
    var timeout: DurationArgument?

    @Option(help: "Fuel (wasm instructions, roughly) per call, 0 for none [WASMRPC_FUEL, 2000000000].")
    var fuel: UInt64?

    @Option(help: "Linear memory limit of one instance [WASMRPC_MEMORY_LIMIT, 64MiB].")
    var memoryLimit: ByteCountArgument?

    @Option(help: "Largest request payload a guest is handed [WASMRPC_MAX_REQUEST_BYTES, 16MiB].")
    var maxRequestBytes: ByteCountArgument?

    @Option(help: "Largest response a guest may return [WASMRPC_MAX_RESPONSE_BYTES, 16MiB].")
    var maxResponseBytes: ByteCountArgument?

    @Option(help: "Host calls per invocation [WASMRPC_MAX_HOST_CALLS, 1000].")
    var maxHostCalls: Int?

    @Option(help: "Payload of one host call [WASMRPC_MAX_HOST_CALL_BYTES, 4MiB].")
    var maxHostCallBytes: ByteCountArgument?

    @Option(help: "Guest log lines (console and WASI writes, wasmrpc:log host calls) one call may write; the rest are dropped, 0 drops them all [WASMRPC_MAX_LOG_LINES_PER_CALL, 100].")
    var maxLogLinesPerCall: Int?

    @Option(help: "Guest log lines per second one module may write, all its calls together; the rest are dropped and counted in a warning, 0 drops them all [WASMRPC_LOG_LINES_PER_SECOND, 100].")
    var logLinesPerSecond: Int?

    @Option(help: "Largest module Add accepts [WASMRPC_MAX_MODULE_BYTES, 32MiB].")
    var maxModuleBytes: ByteCountArgument?

    @Option(help: "Largest descriptor set Add accepts [WASMRPC_MAX_DESCRIPTOR_BYTES, 8MiB].")
    var maxDescriptorBytes: ByteCountArgument?

    @Option(help: "Threads running guests: the most calls running at once, in total [WASMRPC_WORKERS, cores, at least 2].")
    var workers: Int?

    @Option(help: "Instances of one module, i.e. its calls running at once; more callers wait (without a worker) up to their deadline or --max-wait, then DEADLINE_EXCEEDED/RESOURCE_EXHAUSTED [WASMRPC_MAX_INSTANCES_PER_MODULE, half the workers].")
    var maxInstancesPerModule: Int?

    @Option(help: "How long a call without a deadline may wait for one of its module's instances [WASMRPC_MAX_WAIT, 10s].")
    var maxWait: DurationArgument?

    @Option(help: "Instances kept warm across all modules; at most workers + this many are alive [WASMRPC_MAX_IDLE_INSTANCES, 64].")
    var maxIdleInstances: Int?

    @Option(help: "Calls that may wait for a worker before more are refused with RESOURCE_EXHAUSTED [WASMRPC_MAX_QUEUED_CALLS, 1024].")
    var maxQueuedCalls: Int?

    @Option(help: "Calls that may run at once on the thread that received them instead of a worker, for modules whose last 32 calls were short (under 1,000,000 fuel and 50 ms); one that then is not bars its module from it; 0 for never [WASMRPC_INLINE_CALLS, 1].")
    var inlineCalls: Int?

    @Option(help: "Modules kept loaded with their instances [WASMRPC_LOADED_MODULES, 64].")
    var loadedModules: Int?

    @Option(help: "Longest world-state key a guest may use [WASMRPC_STATE_MAX_KEY_BYTES, 1KiB].")
    var stateMaxKeyBytes: ByteCountArgument?

    @Option(help: "Largest world-state value a guest may write [WASMRPC_STATE_MAX_VALUE_BYTES, 1MiB].")
    var stateMaxValueBytes: ByteCountArgument?

    @Option(help: "Keys one transaction may write [WASMRPC_STATE_MAX_WRITES, 1000].")
    var stateMaxWrites: Int?

    @Option(help: "World state one module may hold, keys and values [WASMRPC_STATE_MAX_BYTES, 64MiB].")
    var stateMaxBytes: ByteCountArgument?

    @Option(help: "How long a transaction runs again after conflicts (after a jittered wait each time; its deadline may end it sooner) before it fails as ABORTED, having committed nothing [WASMRPC_STATE_CONFLICT_RETRY, 10s].")
    var stateConflictRetry: DurationArgument?

    @Option(help: "How long a transaction's idempotency key is honoured: a retry with the key answers that transaction instead of running [WASMRPC_IDEMPOTENCY_RETENTION, 24h].")
    var idempotencyRetention: DurationArgument?

    @Option(help: "Connections each listener (gRPC, HTTP) keeps open at once; more are closed as they come [WASMRPC_MAX_CONNECTIONS, 4096].")
    var maxConnections: Int?

    @Option(help: "How long a connection's TLS handshake may take [WASMRPC_TLS_HANDSHAKE_TIMEOUT, 10s].")
    var tlsHandshakeTimeout: DurationArgument?

    @Option(help: "How long an HTTP/1.1 request head may take from its first byte [WASMRPC_HEADER_TIMEOUT, 30s].")
    var headerTimeout: DurationArgument?

    @Option(help: "How long a connection may stay with no call under way (and an HTTP request's body between two reads) before it is closed [WASMRPC_IDLE_TIMEOUT, 5m].")
    var idleTimeout: DurationArgument?

    /// `flag`, else the environment variable parsed like the flag, else nil.
    static func value<T: ExpressibleByArgument>(_ flag: T?, _ variable: String, _ environment: [String: String]) throws -> T? {
        if let flag { return flag }
        guard let text = environment[variable], !text.isEmpty else { return nil }
        guard let value = T(argument: text) else { throw ValidationError("\(variable)=\"\(text)\" is not a valid value") }
        return value
    }

    func apply(to configuration: inout WasmRPCServer.Configuration, environment: [String: String]) throws {
        var runtime = configuration.runtime
        func count(_ flag: Int?, _ name: String, _ variable: String, minimum: Int = 1) throws -> Int? {
            guard let value = try Self.value(flag, variable, environment) else { return nil }
            guard value >= minimum else { throw ValidationError("\(name) (\(variable)) must be at least \(minimum), not \(value)") }
            return value
        }
        if let value = try Self.value(timeout, "WASMRPC_TIMEOUT", environment) { runtime.wapc.timeout = value.duration }
        if let value = try Self.value(maxWait, "WASMRPC_MAX_WAIT", environment) { runtime.maxWait = value.duration }
        if let value = try Self.value(fuel, "WASMRPC_FUEL", environment) { runtime.wapc.fuel = value == 0 ? nil : value }
        if let value = try Self.value(memoryLimit, "WASMRPC_MEMORY_LIMIT", environment) { runtime.wapc.memoryLimit = value.bytes }
        if let value = try Self.value(maxRequestBytes, "WASMRPC_MAX_REQUEST_BYTES", environment) { runtime.wapc.maxRequestBytes = value.bytes }
        if let value = try Self.value(maxResponseBytes, "WASMRPC_MAX_RESPONSE_BYTES", environment) { runtime.wapc.maxResponseBytes = value.bytes }
        if let value = try count(maxHostCalls, "--max-host-calls", "WASMRPC_MAX_HOST_CALLS", minimum: 0) { runtime.wapc.maxHostCalls = value }
        if let value = try Self.value(maxHostCallBytes, "WASMRPC_MAX_HOST_CALL_BYTES", environment) {
            runtime.wapc.maxHostCallPayloadBytes = value.bytes
        }
        if let value = try count(maxLogLinesPerCall, "--max-log-lines-per-call", "WASMRPC_MAX_LOG_LINES_PER_CALL", minimum: 0) {
            runtime.wapc.maxLogLinesPerCall = value
        }
        if let value = try count(logLinesPerSecond, "--log-lines-per-second", "WASMRPC_LOG_LINES_PER_SECOND", minimum: 0) {
            runtime.wapc.logLinesPerSecond = value
        }
        if let value = try Self.value(maxModuleBytes, "WASMRPC_MAX_MODULE_BYTES", environment) { runtime.maxModuleBytes = value.bytes }
        if let value = try Self.value(maxDescriptorBytes, "WASMRPC_MAX_DESCRIPTOR_BYTES", environment) { runtime.maxDescriptorBytes = value.bytes }
        if let value = try count(workers, "--workers", "WASMRPC_WORKERS") { runtime.workerThreads = value }
        if let value = try count(maxInstancesPerModule, "--max-instances-per-module", "WASMRPC_MAX_INSTANCES_PER_MODULE") {
            runtime.maxInstancesPerModule = value
        }
        if let value = try count(maxIdleInstances, "--max-idle-instances", "WASMRPC_MAX_IDLE_INSTANCES", minimum: 0) {
            runtime.maxIdleInstances = value
        }
        if let value = try count(maxQueuedCalls, "--max-queued-calls", "WASMRPC_MAX_QUEUED_CALLS", minimum: 0) { runtime.maxQueuedCalls = value }
        if let value = try count(inlineCalls, "--inline-calls", "WASMRPC_INLINE_CALLS", minimum: 0) { runtime.inlineCalls = value }
        if let value = try count(loadedModules, "--loaded-modules", "WASMRPC_LOADED_MODULES") { runtime.loadedModules = value }
        if let value = try Self.value(stateMaxKeyBytes, "WASMRPC_STATE_MAX_KEY_BYTES", environment) { runtime.state.maxKeyBytes = value.bytes }
        if let value = try Self.value(stateMaxValueBytes, "WASMRPC_STATE_MAX_VALUE_BYTES", environment) {
            runtime.state.maxValueBytes = value.bytes
        }
        if let value = try count(stateMaxWrites, "--state-max-writes", "WASMRPC_STATE_MAX_WRITES") { runtime.state.maxWritesPerTransaction = value }
        if let value = try Self.value(stateMaxBytes, "WASMRPC_STATE_MAX_BYTES", environment) { runtime.state.maxStateBytes = Int64(value.bytes) }
        if let value = try Self.value(stateConflictRetry, "WASMRPC_STATE_CONFLICT_RETRY", environment) {
            runtime.state.conflictRetry = value.duration
        }
        if let value = try Self.value(idempotencyRetention, "WASMRPC_IDEMPOTENCY_RETENTION", environment) {
            runtime.state.idempotencyRetention = value.duration
        }
        configuration.runtime = runtime
        var listener = configuration.listenerLimits
        func time(_ value: DurationArgument) throws -> TimeAmount {
            guard value.duration >= .milliseconds(1) else { throw ValidationError("connection timeouts are at least 1ms") }
            return TimeAmount(value.duration)
        }
        if let value = try count(maxConnections, "--max-connections", "WASMRPC_MAX_CONNECTIONS") { listener.maxConnections = value }
        if let value = try Self.value(tlsHandshakeTimeout, "WASMRPC_TLS_HANDSHAKE_TIMEOUT", environment) { listener.handshakeTimeout = try time(value) }
        if let value = try Self.value(headerTimeout, "WASMRPC_HEADER_TIMEOUT", environment) { listener.headerTimeout = try time(value) }
        if let value = try Self.value(idleTimeout, "WASMRPC_IDLE_TIMEOUT", environment) { listener.idleTimeout = try time(value) }
        configuration.listenerLimits = listener
    }
}
