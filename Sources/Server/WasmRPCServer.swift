import CallCore
import ContentStore
import GRPCFrontDoor
import GRPCInProcessTransport
import HTTPFrontDoor
import ListenerLimits
import Logging
import NIOSSL
import ModuleRuntime
import ServiceLifecycle
import WapcHost
import Synchronization
import WasmRPCProto
import WasmRPCCore
import PostgresEngine
import SQLiteEngine

/// The wasmrpc gRPC server, backed by one data directory or by a PostgreSQL database that other
/// servers may share, on one port over HTTP/2 (plaintext or
/// TLS) or, for tests, on grpc-swift's in-process transport: Registry, Invoker, Log, Health,
/// reflection (v1 and v1alpha), and every method of every stored module's services at its own path
/// (the native routes). Optionally Prometheus metrics on a second, HTTP/1.1 port.
///
/// `run()` serves until `shutdown()` is called, a `ServiceGroup` running it shuts down gracefully
/// (SIGTERM, SIGINT), or the task is cancelled; then it finishes the calls in flight and stops the
/// runtime's workers.
public final class WasmRPCServer: Service, Sendable {
    /// Where the server takes its calls.
    public enum Listener: Sendable {
        /// HTTP/2 on `host:port`, with `tls` if set.
        case network
        /// grpc-swift's in-process transport: calls come from clients in this process on the
        /// transport's other end (`WasmRPCClient.withClient(inProcess:)`); no socket, no port, no
        /// TLS, and no transport limit on message sizes.
        case inProcess(InProcessTransport.Server)
    }

    public struct Configuration: Sendable {
        /// Where calls come from; HTTP/2 on `host:port` unless set.
        public var listener = Listener.network
        /// The address to listen on: an IPv4 or IPv6 literal, or `localhost`.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one (see `listeningPort()`).
        public var port = 50051
        /// The data directory: the store (SQLite and blob files) unless `database` is set, and the
        /// log's key (`log.key`) unless `logKey` is.
        public var dataDirectory: String
        /// A PostgreSQL URL (`postgres://USER@HOST:PORT/DATABASE`): the store is there
        /// (`PostgresStorage`), shared with any other server on the same database.
        public var database: String?
        /// On a database: how often the server lists the modules other servers added, in case it
        /// missed a notification (it learns of each Add at once otherwise).
        public var moduleCatchUp: Duration = .seconds(5)
        public var runtime = RuntimeConfiguration()
        /// The largest Add request the server reads; nil means room for the largest module plus the
        /// largest descriptor Add accepts. (A function call's limit is the guest's,
        /// `runtime.wapc.maxRequestBytes`; every other request's is `RequestLimits.query`.)
        public var maxRequestBytes: Int?
        /// The transparency log's origin line (its checkpoints name it).
        public var logOrigin = Wire.defaultLogOrigin
        /// The log's signing key (`PRIVATE+KEY+…`); nil reads or creates `log.key` in the data directory.
        public var logKey: String?
        /// Who may write (and, optionally, read); open by default.
        public var access = AccessPolicy.open
        /// TLS (and optionally mutual TLS) for the port; nil serves plaintext HTTP/2.
        public var tls: ServerTLS?
        /// The host functions guests may call (`__host_call` bindings).
        public var hostCalls = HostCallRouter.standard
        /// Where to serve Prometheus metrics (`GET /metrics`, HTTP/1.1, plaintext): an IP literal
        /// or `localhost`, as `host`; nil: nowhere. Port 0 picks a free one (see `metricsPort()`).
        public var metrics: (host: String, port: Int)?
        /// Where to serve HTTP/1.1 (`HTTPEndpoint`: the JSON API under `/v1/`, the explorer page at
        /// `/`, the log as C2SP tlog-tiles under `/log/`): an IP
        /// literal or `localhost`, as `host`; nil: nowhere. Port 0 picks a free one (see
        /// `httpPort()`). TLS as `tls` (the same certificate, and client CA); the same token rules
        /// as gRPC.
        public var http: (host: String, port: Int)?
        /// Connections, TLS handshakes, request heads and idle time on both listeners.
        public var listenerLimits = ListenerLimits()
        /// Origins whose web pages may call the HTTP listener besides its own (`OriginPolicy`);
        /// `["*"]` allows any origin and host.
        public var httpAllowedOrigins: [String] = []
        /// Bytes of parsed module descriptors server reflection keeps (least recently used first out).
        public var reflectionCacheBytes = ReflectionIndex.defaultCacheBytes

        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }
    }

    public let configuration: Configuration
    public let runtime: ModuleRuntime
    public let metrics = ServerMetrics()
    /// The pipeline every call goes through.
    let core: CallCore
    /// The gRPC front door (its services, native routes and transport).
    private let door: GRPCDoor
    /// Server reflection's index of the uploaded modules' descriptors.
    var reflection: ReflectionIndex { door.reflection }
    private let logger: Logger
    private let boundMetricsPort = OnceValue<Int>()
    private let boundHTTPPort = OnceValue<Int>()
    /// The HTTP listener's TLS (the gRPC port's certificate), if it has one.
    private let httpTLS: TLSConfiguration?
    private let lifecycle: ServerLifecycle
    /// Held from `init` until `run()` has stopped the runtime (or the server is dropped unrun);
    /// none on a database, which other servers share.
    private let directoryLock: DirectoryLock?

    public init(configuration: Configuration, logger: Logger = Logger(label: "wasmrpc.server")) async throws {
        self.configuration = configuration
        self.logger = logger
        // TLS files first: a wrong path should not leave a data directory behind.
        let tls = try configuration.tls?.context()
        httpTLS = configuration.http == nil ? nil : try configuration.tls?.configuration(protocols: ["http/1.1"])
        if case .inProcess = configuration.listener, configuration.tls != nil {
            throw ServerError(.invalidConfiguration, "an in-process server has no TLS: leave tls unset")
        }
        let store: ContentStore
        if let database = configuration.database {
            // Other servers may write the database: no state cache.
            directoryLock = nil
            let log = try LogIdentity.load(directory: configuration.dataDirectory, origin: configuration.logOrigin, encodedKey: configuration.logKey)
            store = try await ContentStore.open(engine: PostgresStorage.open(url: database, logger: logger), log: log)
            try await store.checkSigner()
        } else {
            // The one server of its data directory, so the store may keep committed state in memory.
            directoryLock = try DirectoryLock.acquire(configuration.dataDirectory)
            store = try await ContentStore.open(
                directory: configuration.dataDirectory, logOrigin: configuration.logOrigin, logKey: configuration.logKey, cachingState: true)
        }
        runtime = ModuleRuntime(store: store, configuration: configuration.runtime, router: configuration.hostCalls, logger: logger)
        // The stored modules' methods are routable from the start.
        let directory = ServiceDirectory()
        var page: (modules: [ModuleSummary], next: Int64?) = (modules: [], next: nil)
        repeat {
            page = try await store.list(after: page.next, limit: 1000)
            for module in page.modules { directory.register(module.id, functions: module.functions) }
        } while page.next != nil
        let limits = RequestLimits(
            add: configuration.maxRequestBytes ?? configuration.runtime.maxModuleBytes + configuration.runtime.maxDescriptorBytes + (1 << 20),
            call: configuration.runtime.wapc.maxRequestBytes)
        core = CallCore(
            runtime: runtime, directory: directory, policy: configuration.access, log: CallLog(logger: logger, metrics: metrics), limits: limits)
        door = try GRPCDoor(core: core, reflectionCacheBytes: configuration.reflectionCacheBytes)
        switch configuration.listener {
        case .network:
            lifecycle = door.network(
                host: Self.bindAddress(configuration.host), port: configuration.port, tls: tls, listener: configuration.listenerLimits)
        case .inProcess(let transport):
            lifecycle = door.inProcess(transport)
        }
    }

    /// The address to bind for a configured host: `localhost` is 127.0.0.1, literals stay.
    static func bindAddress(_ host: String) -> String {
        host == "localhost" ? "127.0.0.1" : host
    }

    /// Serves until `shutdown()` or a graceful shutdown of the `ServiceGroup` running it; then
    /// stops the runtime and releases the data directory's lock or closes the database's
    /// connections.
    public func run() async throws {
        defer { logger.info("stopped") }
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    defer {
                        lifecycle.ended()
                        boundMetricsPort.set(nil)
                        boundHTTPPort.set(nil)
                    }
                    // gRPC first, so that a metrics port that fails stops a server whose port is known.
                    guard try await lifecycle.start(in: &group) != nil else { return }  // stopped before it began
                    if let (host, port) = configuration.metrics {
                        let endpoint: MetricsEndpoint
                        do {
                            endpoint = try await MetricsEndpoint.bind(host: Self.bindAddress(host), port: port)
                        } catch {
                            lifecycle.stop()
                            throw ServerError(.metricsUnavailable, "cannot serve metrics on \(host):\(port): \(error)")
                        }
                        boundMetricsPort.set(endpoint.port)
                        group.addTask { [runtime, metrics] in try await endpoint.serve { await metrics.scrape(runtime) } }
                    } else {
                        boundMetricsPort.set(nil)
                    }
                    if let (host, port) = configuration.http {
                        let origins = OriginPolicy(allowedOrigins: configuration.httpAllowedOrigins)
                        let limits = configuration.listenerLimits
                        group.addTask { [core, logger, boundHTTPPort, httpTLS] in
                            do {
                                try await HTTPEndpoint.run(
                                    host: Self.bindAddress(host), port: port, tls: httpTLS, core: core, origins: origins,
                                    limits: limits, logger: logger
                                ) { boundHTTPPort.set($0) }
                            } catch {
                                boundHTTPPort.set(nil)
                                throw ServerError(.httpUnavailable, "cannot serve HTTP on \(host):\(port): \(error)")
                            }
                        }
                    } else {
                        boundHTTPPort.set(nil)
                    }
                    if let changes = runtime.store.engine.changes(every: configuration.moduleCatchUp) {
                        group.addTask { [runtime, core, door, logger] in
                            await Self.follow(changes, store: runtime.store, directory: core.directory, door: door, logger: logger)
                        }
                    }
                    // The server returns once its calls are drained; the metrics endpoint and the
                    // follower of other servers' modules go then.
                    try await group.next()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.shutdown()
            }
        } catch {
            await runtime.shutdown()
            release()
            throw error
        }
        await runtime.shutdown()
        release()
    }

    /// The store's hold: the data directory's lock, or the database's connections.
    private func release() {
        directoryLock?.release()
        runtime.store.engine.close()
    }

    /// Registers the modules that other servers on the same database add, at each signal of
    /// `additions`, until the task is cancelled: their native routes, reflection and health follow.
    /// Each round reads the module list from the start of the last page it read before; a round
    /// that cannot read it makes the health service NOT_SERVING until one can.
    private static func follow(
        _ additions: AsyncStream<Void>, store: ContentStore, directory: ServiceDirectory, door: GRPCDoor, logger: Logger
    ) async {
        var lastPage: Int64?
        for await _ in additions {
            do {
                var after = lastPage
                while true {
                    let page = try await store.list(after: after, limit: 1000)
                    var added = false
                    for module in page.modules where directory.register(module.id, functions: module.functions) { added = true }
                    if added { directory.changed() }
                    guard let next = page.next else { break }
                    after = next
                }
                lastPage = after
                door.storeReachable(true)
            } catch {
                door.storeReachable(false)
                logger.warning("cannot read the modules other servers added", metadata: ["error": "\(error)"])
            }
        }
        // The stream ends only when this task is cancelled; wait for that, so that the task
        // group's first ending task stays the server.
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    /// The port the HTTP listener listens on (waits for `run()` to bind it); nil without one.
    public func httpPort() async throws -> Int? {
        try await boundHTTPPort.value
    }

    /// The port the metrics endpoint listens on (waits for `run()` to bind it); nil without one.
    /// Throws `CancellationError` if the waiting task is cancelled first.
    public func metricsPort() async throws -> Int? {
        try await boundMetricsPort.value
    }

    /// The port the server listens on, once it is bound (waits for `run()` to bind it); throws
    /// if it failed to, or was stopped before it did, and `CancellationError` if the waiting task
    /// is cancelled first.
    public func listeningPort() async throws -> Int {
        if case .inProcess = configuration.listener {
            throw ServerError(.notListening, "the server takes calls in process: it has no port")
        }
        return try await lifecycle.port
    }

    /// Reports NOT_SERVING to health checkers (ending their watches), stops accepting calls; `run()`
    /// returns once the calls in flight finished.
    public func shutdown() {
        door.beginShutdown()
        lifecycle.stop()
    }
}
