import GRPCCore
import GRPCNIOTransportHTTP2
import CallCore
import Synchronization

/// Starts and stops a `GRPCServer` so that the listening port is always known or known to be
/// absent, however start and stop interleave.
///
/// grpc-swift-2's server, asked to shut down before its `serve()` began, goes straight to
/// "stopped" without telling the transport; `serve()` then throws at once, the transport never
/// listens, and its `listeningAddress` waits for as long as the transport lives. So a stop that
/// comes before the transport settled (listening, or failed to bind) is held back until it has,
/// and the port callers wait for is this type's own value, which `ended()` settles too; when the
/// transport could not bind, they get the reason.
package final class ServerLifecycle: Sendable {
    private enum Phase {
        /// `serve()` may not have begun; `stopRequested`: stop once it has.
        case starting(stopRequested: Bool)
        case started
    }

    private let serve: @Sendable () async throws -> Void
    private let beginGracefulShutdown: @Sendable () -> Void
    /// The port once the transport listens; throws if it cannot.
    private let listening: @Sendable () async throws -> Int
    private let phase = Mutex(Phase.starting(stopRequested: false))
    /// nil: stopped before it listened.
    private let boundPort = OnceValue<Result<Int, any Error>>()

    /// `server` on `transport`, the HTTP/2 transport underneath it (possibly wrapped), whose
    /// address it binds.
    package convenience init(server: GRPCServer<some ServerTransport>, transport: HTTP2ServerTransport.Posix) {
        self.init(server: server) { try await Self.port(of: transport) }
    }

    /// `server`, whose transport listens once `listening` returns (with the port to report).
    package init(server: GRPCServer<some ServerTransport>, listening: @escaping @Sendable () async throws -> Int) {
        serve = { try await server.serve() }
        beginGracefulShutdown = { server.beginGracefulShutdown() }
        self.listening = listening
    }

    /// Adds the serving task to `group` and waits until the transport listens; returns its port.
    /// Throws why it could not listen (the serving task's error, taken from `group`). A stop
    /// requested before this call means the server never serves: nil, and nothing is added.
    package func start(in group: inout ThrowingTaskGroup<Void, any Error>) async throws -> Int? {
        if case .starting(stopRequested: true) = phase.withLock({ $0 }) {
            boundPort.set(nil)
            return nil
        }
        group.addTask { [serve] in try await serve() }
        // Nothing has told the server to stop (`stop()` waits for the phase below), so `serve()`
        // gets to the transport's `listen`, which settles the address: bound, or nil on failure.
        let port = try? await listening()
        let stopNow = phase.withLock { phase in
            defer { phase = .started }
            if case .starting(stopRequested: true) = phase { return true }
            return false
        }
        guard let port else {
            // The transport did not bind (the address is taken, say): serving ends with the reason.
            let reason: any Error
            do {
                try await group.next()
                reason = ServerError(.notListening, "the server stopped before it listened")
            } catch {
                reason = error
            }
            boundPort.set(.failure(reason))
            throw reason
        }
        boundPort.set(.success(port))
        if stopNow { beginGracefulShutdown() }
        return port
    }

    /// Stops accepting calls (now, or as soon as `start` has seen the transport settle).
    package func stop() {
        let now = phase.withLock { phase in
            guard case .started = phase else {
                phase = .starting(stopRequested: true)
                return false
            }
            return true
        }
        if now { beginGracefulShutdown() }
    }

    /// Settles the port for anyone still waiting, once serving is over (or never began).
    package func ended() {
        boundPort.set(nil)
    }

    /// The port the transport listens on, once it does; throws why it did not.
    package var port: Int {
        get async throws {
            guard let bound = try await boundPort.value else {
                throw ServerError(.notListening, "the server is not listening: it was stopped before it began")
            }
            return try bound.get()
        }
    }

    private static func port(of transport: HTTP2ServerTransport.Posix) async throws -> Int {
        let address = try await transport.listeningAddress
        if let ipv4 = address.ipv4 { return ipv4.port }
        if let ipv6 = address.ipv6 { return ipv6.port }
        throw ServerError(.notListening, "the server is not listening on an IP address: \(address)")
    }
}
