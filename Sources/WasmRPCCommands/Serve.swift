import ArgumentParser
import Foundation
import Logging
import Client
import ContentStore
import CallCore
import Server
import ServiceLifecycle
import WasmRPCCore

/// `wasmrpc serve`: the registry and invoker on one gRPC port.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the Registry and Invoker over gRPC.",
        discussion: """
            Besides the built-in services (Registry, Invoker, Log, grpc.health.v1.Health, server reflection v1 and \
            v1alpha), every method of every stored module's services is served at its own path, e.g. \
            /complex.Calculator/mul: stock gRPC clients call it with the plain request message.

            Stops gracefully on SIGINT or SIGTERM: health turns NOT_SERVING, new calls are refused, calls in \
            flight finish.
            """)

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free port).")
    var listen = "127.0.0.1:50051"

    @Option(help: "Data directory (default: $XDG_DATA_HOME/wasmrpc or ~/.local/share/wasmrpc).")
    var data: String?

    @Option(
        help: ArgumentHelp(
            "Store everything in this PostgreSQL database instead of the data directory (default: $WASMRPC_DATABASE).",
            discussion: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]. Any number of servers may share one database; give them all the same --log-key-file.",
            valueName: "url"))
    var database: String?

    @Option(help: "With --database: how often to list the modules other servers added, in case a notification was missed.")
    var catchUpInterval = DurationArgument(argument: "5s")!

    @OptionGroup(title: "Limits") var limits: ServeLimits

    @Option(help: "The transparency log's origin (the first line of its checkpoints).")
    var logOrigin = Wire.defaultLogOrigin

    @Option(
        help:
            "A file with the log's signing key (PRIVATE+KEY+…), mode 600; default: log.key in the data directory, created on first start.")
    var logKeyFile: String?

    @Option(help: "Require `authorization: Bearer <token>` (the file's content) for Add; default: $WASMRPC_AUTH_TOKEN, else open.")
    var authTokenFile: String?

    @Flag(help: "Require the token for everything but health checks and the explorer page: reads, calls, the log, state, reflection, tiles.")
    var protectReads = false

    @Option(help: "Serve TLS with this certificate chain (PEM); needs --tls-key.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Require mutual TLS: clients must present a certificate signed by a CA in this PEM file.")
    var tlsClientCa: String?

    @Option(
        help:
            "Serve HTTP/1.1 on HOST:PORT: the explorer page at /, the JSON API under /v1/ (described at /openapi.yaml), the log as C2SP tlog-tiles under /log/ (TLS and token rules as the gRPC port; default: off)."
    )
    var httpListen: String?

    @Option(
        parsing: .upToNextOption,
        help:
            "Origins (SCHEME://HOST[:PORT]) whose web pages may call the HTTP listener, besides its own; their hosts are accepted in Host too. * allows any (default: the listener's own origin, and Host an IP address or localhost)."
    )
    var httpAllowedOrigins: [String] = []

    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (plaintext, no token; default: off).")
    var metricsListen: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (debug logs every call with its request id).")
    var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level \"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let server = try await makeServer()
        let logger = Logger(label: "wasmrpc.server")
        // SIGTERM and SIGINT shut the server down gracefully (instead of killing it mid-write).
        let services = ServiceGroup(
            configuration: .init(services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            let port = try await server.listeningPort()
            // Every port bound before the lines below, so that a script waiting for "listening on"
            // never sees it from a server that then fails on its metrics or HTTP port.
            let metricsPort = try await server.metricsPort()
            let httpPort = try await server.httpPort()
            if server.configuration.metrics != nil && metricsPort == nil || server.configuration.http != nil && httpPort == nil {
                try await group.waitForAll()  // run() ended: its error, or a signal came first
                return
            }
            let access = server.configuration.access
            let auth = !access.requiresToken ? "open" : access.protectReads ? "token for reads and writes" : "token for writes"
            let tls = server.configuration.tls.map { $0.clientCAFile == nil ? "on" : "mutual" } ?? "off"
            logger.info(
                "serving",
                metadata: [
                    "address": "\(server.configuration.host):\(port)", "store": "\(server.runtime.store.engine.location)", "auth": "\(auth)",
                    "tls": "\(tls)",
                ])
            if access.requiresToken, server.configuration.tls == nil, !Self.isLoopback(server.configuration.host) {
                logger.warning("the bearer token travels in cleartext: serve TLS (--tls-cert, --tls-key) on addresses other than loopback")
            }
            // A line on stdout for scripts that wait for the server (and learn the port).
            FileHandle.standardOutput.write(Data("listening on \(server.configuration.host):\(port)\n".utf8))
            if let metricsPort, let metrics = server.configuration.metrics {
                logger.info("metrics", metadata: ["address": "http://\(metrics.host):\(metricsPort)/metrics"])
                FileHandle.standardOutput.write(Data("metrics on \(metrics.host):\(metricsPort)\n".utf8))
            }
            if let httpPort, let http = server.configuration.http {
                let origin = "\(server.configuration.tls == nil ? "http" : "https")://\(http.host):\(httpPort)"
                logger.info("http", metadata: ["explorer": "\(origin)/", "api": "\(origin)/openapi.yaml", "log tiles": "\(origin)/log/"])
                FileHandle.standardOutput.write(Data("http on \(http.host):\(httpPort)\n".utf8))
            }
            try await group.waitForAll()
        }
    }

    func makeServer() async throws -> WasmRPCServer {
        guard let address = ServerAddress(listen) else {
            throw ValidationError("--listen \"\(listen)\" is not HOST:PORT")
        }
        var configuration = WasmRPCServer.Configuration(dataDirectory: data ?? DataDirectory.standard())
        configuration.database = database ?? ProcessInfo.processInfo.environment["WASMRPC_DATABASE"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.moduleCatchUp = catchUpInterval.duration
        configuration.host = address.host
        configuration.port = address.port
        try limits.apply(to: &configuration, environment: ProcessInfo.processInfo.environment)
        configuration.logOrigin = logOrigin
        let token = try AuthToken.read(file: authTokenFile)
        if token == nil, protectReads { throw ValidationError("--protect-reads needs a token (--auth-token-file or WASMRPC_AUTH_TOKEN)") }
        configuration.access = AccessPolicy(token: token, protectReads: protectReads)
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            if tlsClientCa != nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        case (let cert?, let key?):
            configuration.tls = ServerTLS(certificateChainFile: cert, privateKeyFile: key, clientCAFile: tlsClientCa)
        default:
            throw ValidationError("TLS needs both --tls-cert and --tls-key")
        }
        if let httpListen {
            guard let address = ServerAddress(httpListen) else {
                throw ValidationError("--http-listen \"\(httpListen)\" is not HOST:PORT")
            }
            configuration.http = (address.host, address.port)
        }
        for origin in httpAllowedOrigins where origin != "*" {
            guard let scheme = origin.range(of: "://"), ["http", "https"].contains(origin[..<scheme.lowerBound].lowercased()),
                !origin[scheme.upperBound...].isEmpty, !origin[scheme.upperBound...].contains("/")
            else {
                throw ValidationError("--http-allowed-origins \"\(origin)\" is not an origin: SCHEME://HOST[:PORT], e.g. https://explorer.example.com")
            }
        }
        configuration.httpAllowedOrigins = httpAllowedOrigins
        if let metricsListen {
            guard let address = ServerAddress(metricsListen) else {
                throw ValidationError("--metrics-listen \"\(metricsListen)\" is not HOST:PORT")
            }
            configuration.metrics = (address.host, address.port)
        }
        if let logKeyFile {
            let key: String?
            do {
                key = try LogIdentity.readKeyFile(logKeyFile)
            } catch {
                throw ValidationError("--log-key-file: \(error.message)")
            }
            guard let key else { throw ValidationError("--log-key-file \(logKeyFile) does not exist") }
            configuration.logKey = key
        }
        do {
            return try await WasmRPCServer(configuration: configuration)
        } catch {
            throw CommandFailure("cannot start the server: \(error)")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
