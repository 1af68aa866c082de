import ContentStore
import CallCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import ListenerLimits
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP/1.1 listener (`serve --http-listen`; TLS with the gRPC port's certificate, and its
/// client CA if there is one), on Hummingbird 2: the JSON API under `/v1/` (`JSONAPI`), the
/// explorer page at `/` and the API's OpenAPI document (`WebAssets`), and the transparency log as C2SP
/// tlog-tiles under `/log/` (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`),
/// so that any tlog client that knows the verifier key can fetch and audit the whole log. The token
/// rules of gRPC (`AccessPolicy`, `Authorization: Bearer <token>`): adding a module needs the token
/// when one is set, and with `--protect-reads` every API and tile request does (the page and the
/// OpenAPI document stay open); every route checks `Host` and `Origin` (`OriginPolicy`).
/// Full tiles never change: they are served as immutable and kept in memory once built
/// (`LogTiles`); the checkpoint and partial tiles are read each time and not cached.
package enum HTTPEndpoint {
    /// Runs the listener on `host:port` (TLS with `tls`) until the task is cancelled, then shuts it
    /// down gracefully: requests under way are answered (Hummingbird's server, cancelled instead,
    /// logs the cancellation as an error), for up to `shutdownLimit`, after which it is cancelled
    /// all the same (a client that never finishes its request cannot hold the server). `bound`
    /// gets the port.
    package static func run(
        host: String, port: Int, tls: TLSConfiguration?, core: CallCore, origins: OriginPolicy, limits: ListenerLimits, logger: Logger,
        bound: @escaping @Sendable (Int) -> Void
    ) async throws {
        let router = Router()
        let api = JSONAPI(core: core, origins: origins)
        api.register(on: router)
        WebAssets.register(on: router, api: api)
        let tiles = LogTiles(store: core.store)
        api.add(.get, "/log/**", .fixed(.log), router) { request, _, _ -> Response in
            let components = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2)
            guard let resource = TileResource(path: Array(components)) else {
                return Self.text(.notFound, "not a tlog-tiles path: \(request.uri.path)\n")
            }
            do throws(ContentStoreError) {
                switch try await tiles.answer(resource) {
                case .checkpoint(let note):
                    var response = Self.text(.ok, note)
                    response.headers[.cacheControl] = "no-cache"
                    return response
                case .tile(let bytes):
                    var headers = HTTPFields()
                    headers[.contentType] = "application/octet-stream"
                    headers[.cacheControl] = resource.isFull ? "public, max-age=31536000, immutable" : "no-cache"
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                case .notFound(let why):
                    return Self.text(.notFound, why + "\n")
                }
            } catch {
                logger.error("cannot serve \(request.uri.path)", metadata: ["error": "\(error)"])
                return Self.text(error.code == .storage ? .serviceUnavailable : .internalServerError, error.message + "\n")
            }
        }
        api.registerNotFound(on: router)
        // Every connection: its guard first (`ListenerLimits`), TLS, HTTP/1.1, then the calls
        // answered on the event loop (`DirectJSONCalls`), which tell the guard what is under way.
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [DirectJSONCalls(api: api)])
        let connections = ConnectionCount()
        let server = HTTPServerBuilder { responder in
            let channel = HTTP1Channel(responder: responder, configuration: http1)
            guard let tls else { return GuardedChannel(base: channel, limits: limits, connections: connections, tls: false) }
            return GuardedChannel(base: try TLSChannel(channel, tlsConfiguration: tls), limits: limits, connections: connections, tls: true)
        }
        let application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "wasmrpc"),
            onServerRunning: { channel in bound(channel.localAddress?.port ?? port) }, logger: logger)
        // The server runs in a task of its own, out of reach of this task's cancellation, which
        // becomes a graceful shutdown.
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let serving = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            Task {
                await group.triggerGracefulShutdown()
                try? await Task.sleep(for: shutdownLimit)
                serving.cancel()
            }
        }
    }

    /// How long a graceful shutdown waits for the requests under way.
    static let shutdownLimit: Duration = .seconds(10)

    private static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
