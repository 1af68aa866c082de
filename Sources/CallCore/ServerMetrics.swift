import ContentStore
import ModuleRuntime
import Prometheus
import Synchronization

/// The server's Prometheus metrics (served as text by `MetricsEndpoint` on `--metrics-listen`).
/// Counters and histograms move as calls finish; gauges are read from the runtime at each scrape.
///
/// Labels: `module` is the full module id (one series per module that was called, so the number of
/// series grows with the number of modules used, not with traffic or with what clients send);
/// `function` the method path (`complex.Calculator/mul`); `code` the call status's label (`CallStatus`: `ok`,
/// `notFound`, …); `method` a gRPC method path the server serves.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Seconds, from 100 µs to 10 s: a warm call takes well under a millisecond, a cold load a few.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    // MetricNameDescriptor is a struct of `let` strings that swift-prometheus does not mark Sendable.
    nonisolated(unsafe) private static let invocations = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "invocations", unitName: "total",
        helpText: "Function calls (Invoke, InvokeStream messages and native routes) by module, function and status code.")
    nonisolated(unsafe) private static let latency = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "invocation_duration", unitName: "seconds",
        helpText: "Time from a call's arrival to its answer, including waits for an instance and a worker.")
    nonisolated(unsafe) private static let fuel = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "fuel_used", unitName: "total",
        helpText: "Fuel (about one unit per wasm operator) used by successful calls.")
    nonisolated(unsafe) private static let adds = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "modules_added", unitName: "total",
        helpText: "Successful Add calls; new=false when the module was already stored.")
    nonisolated(unsafe) private static let httpRequests = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "http_requests", unitName: "total",
        helpText: "Finished requests of the HTTP listener (--http-listen) by route and HTTP status code.")
    nonisolated(unsafe) private static let rpcs = MetricNameDescriptor(
        namespace: "wasmrpc", metricName: "grpc_calls", unitName: "total",
        helpText: "Finished gRPC calls of every service by method and status code.")

    /// The series of each (module, function), and of each (method, code): swift-prometheus finds a
    /// series by building its name and checking its help text on every lookup, which cost more than
    /// the rest of a call's bookkeeping, so each is looked up once and kept.
    private final class FunctionSeries: Sendable {
        let latency: DurationHistogram
        let fuel: Counter
        let calls = Mutex<[String: Counter]>([:])

        init(latency: DurationHistogram, fuel: Counter) {
            self.latency = latency
            self.fuel = fuel
        }
    }

    private let functions = Mutex<[String: FunctionSeries]>([:])
    private let calls = Mutex<[String: Counter]>([:])
    private let httpCalls = Mutex<[String: Counter]>([:])

    private let loadedModules: Gauge
    private let idleInstances: Gauge
    private let pendingWork: Gauge
    private let logSize: Gauge
    private let inlineCalls: Counter
    /// The runtime's inline call count at the last scrape (the counter moves by the difference).
    private let inlineCallsSeen = Mutex<Int>(0)

    public init() {
        loadedModules = registry.makeGauge(
            descriptor: .init(
                namespace: "wasmrpc", metricName: "loaded_modules", unitName: "",
                helpText: "Modules parsed, linked and kept with an instance pool."))
        idleInstances = registry.makeGauge(
            descriptor: .init(
                namespace: "wasmrpc", metricName: "idle_instances", unitName: "",
                helpText: "Warm instances across all loaded modules."))
        pendingWork = registry.makeGauge(
            descriptor: .init(
                namespace: "wasmrpc", metricName: "pending_work", unitName: "",
                helpText: "Jobs running on the worker threads or queued for one."))
        logSize = registry.makeGauge(
            descriptor: .init(
                namespace: "wasmrpc", metricName: "log_size", unitName: "entries",
                helpText: "Entries in the transparency log (one per stored module)."))
        inlineCalls = registry.makeCounter(
            descriptor: .init(
                namespace: "wasmrpc", metricName: "inline_calls", unitName: "total",
                helpText: "Function calls run on the thread that received them instead of a worker thread (--inline-calls)."))
    }

    /// A finished function call: `fuel` is known for successful calls. Module
    /// and function are "" when the call named no stored module or function.
    package func invocation(module: String, function: String, code: CallStatus, duration: Duration, fuel: UInt64?) {
        let labels = [("module", module), ("function", function)]
        let key = module + "\u{0}" + function
        let series = Self.cached(key, in: functions) {
            FunctionSeries(
                latency: registry.makeDurationHistogram(descriptor: Self.latency, labels: labels, buckets: Self.latencyBuckets),
                fuel: registry.makeCounter(descriptor: Self.fuel, labels: labels))
        }
        let codeName = code.description
        Self.cached(codeName, in: series.calls) {
            registry.makeCounter(descriptor: Self.invocations, labels: labels + [("code", codeName)])
        }.increment()
        series.latency.record(duration)
        if let fuel { series.fuel.increment(by: Int64(clamping: fuel)) }
    }

    /// A successful Add.
    package func added(created: Bool) {
        registry.makeCounter(descriptor: Self.adds, labels: [("new", "\(created)")]).increment()
    }

    /// A finished gRPC call of any method.
    package func call(method: String, code: CallStatus) {
        let codeName = code.description
        Self.cached(method + "\u{0}" + codeName, in: calls) {
            registry.makeCounter(descriptor: Self.rpcs, labels: [("method", method), ("code", codeName)])
        }.increment()
    }

    /// A finished request of the HTTP listener: `route` is its route's template
    /// (`POST /v1/modules/{id}/functions/{function}`), never the path a client sent.
    package func httpRequest(route: String, status: Int) {
        let key = route + "\u{0}" + String(status)
        Self.cached(key, in: httpCalls) {
            registry.makeCounter(descriptor: Self.httpRequests, labels: [("route", route), ("code", String(status))])
        }.increment()
    }

    /// `map[key]`, made by `make` (outside the lock) and kept the first time.
    private static func cached<Value: Sendable>(_ key: String, in map: borrowing Mutex<[String: Value]>, _ make: () -> Value) -> Value {
        if let value = map.withLock({ $0[key] }) { return value }
        let new = make()
        return map.withLock { map in
            if let raced = map[key] { return raced }
            map[key] = new
            return new
        }
    }

    /// Reads the gauges from `runtime` (the log size from the store), then renders everything in the
    /// Prometheus text format.
    package func scrape(_ runtime: ModuleRuntime) async -> [UInt8] {
        loadedModules.set(Int64(runtime.loadedModuleCount))
        idleInstances.set(Int64(runtime.idleInstanceCount))
        pendingWork.set(Int64(runtime.pendingWork))
        inlineCalls.increment(by: Int64(inlineCallsSeen.withLock { seen in
            let now = runtime.inlineCallCount
            defer { seen = max(seen, now) }
            return max(0, now - seen)
        }))
        if let size = try? await runtime.withStore({ try await $0.logSize() }) { logSize.set(size) }
        return registry.emitToBuffer()
    }
}
