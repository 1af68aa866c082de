import ContentStore
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ModuleRuntime
import WasmRPCProto

/// The wasmrpc gRPC server: Registry, Invoker and Log over HTTP/2 (plaintext or TLS) on one port,
/// backed by one data directory.
///
/// `run()` serves until `shutdown()` is called (or the task is cancelled), then finishes the calls
/// in flight and stops the runtime's workers.
public final class WasmRPCServer: Sendable {
    public struct Configuration: Sendable {
        /// The address to listen on: an IPv4 or IPv6 literal, or `localhost`.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one (see `listeningPort()`).
        public var port = 50051
        public var dataDirectory: String
        public var runtime = RuntimeConfiguration()
        /// The largest request message the transport accepts; nil means room for the largest module
        /// plus the largest descriptor Add accepts.
        public var maxRequestBytes: Int?
        /// The transparency log's origin line (its checkpoints name it).
        public var logOrigin = LogIdentity.defaultOrigin
        /// The log's signing key (`PRIVATE+KEY+…`); nil reads or creates `log.key` in the data directory.
        public var logKey: String?
        /// Who may write (and, optionally, read); open by default.
        public var access = AccessPolicy.open
        /// TLS (and optionally mutual TLS) for the port; nil serves plaintext HTTP/2.
        public var tls: ServerTLS?

        public init(dataDirectory: String) {
            self.dataDirectory = dataDirectory
        }
    }

    public let configuration: Configuration
    public let runtime: ModuleRuntime
    private let transport: HTTP2ServerTransport.Posix
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let health: HealthService
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "wasmrpc.server")) throws {
        self.configuration = configuration
        self.logger = logger
        // TLS files first: a wrong path should not leave a data directory behind.
        let security = try configuration.tls?.transportSecurity() ?? .plaintext
        let store = try ContentStore(
            directory: configuration.dataDirectory, logOrigin: configuration.logOrigin, logKey: configuration.logKey)
        runtime = ModuleRuntime(store: store, configuration: configuration.runtime, logger: logger)
        let host = configuration.host == "localhost" ? "127.0.0.1" : configuration.host
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: configuration.port) : .ipv4(host: host, port: configuration.port)
        transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: security,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize =
                    configuration.maxRequestBytes ?? configuration.runtime.maxModuleBytes + configuration.runtime.maxDescriptorBytes + (1 << 20)
            })
        let services: [any RegistrableRPCService] = [
            RegistryService(runtime: runtime), InvokerService(runtime: runtime), LogService(runtime: runtime),
        ]
        health = HealthService(services: [
            Wasmrpc_V1_Registry.descriptor.fullyQualifiedService, Wasmrpc_V1_Invoker.descriptor.fullyQualifiedService,
            Wasmrpc_V1_Log.descriptor.fullyQualifiedService,
        ])
        server = GRPCServer(
            transport: transport, services: services + [health],
            interceptors: [AuthorizationInterceptor(policy: configuration.access)])
    }

    /// Serves until `shutdown()`; then stops the runtime.
    public func run() async throws {
        defer { logger.info("stopped") }
        do {
            try await server.serve()
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }

    /// The port the server listens on, once it is bound (waits for `run()` to bind it).
    public func listeningPort() async throws -> Int {
        let address = try await transport.listeningAddress
        if let ipv4 = address.ipv4 { return ipv4.port }
        if let ipv6 = address.ipv6 { return ipv6.port }
        throw ModuleRuntimeError(.unavailable, "the server is not listening on an IP address: \(address)")
    }

    /// Reports NOT_SERVING to health checkers (ending their watches), stops accepting calls; `run()`
    /// returns once the calls in flight finished.
    public func shutdown() {
        health.beginShutdown()
        server.beginGracefulShutdown()
    }
}
