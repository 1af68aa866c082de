import CallCore
import GRPCCore
import ModuleRuntime
import Synchronization
import WasmRPCProto
import WasmRPCCore
import WasmRPCGRPC

/// `grpc.health.v1.Health`, for stock health checkers (grpc_health_probe, Kubernetes probes,
/// grpcio-health-checking): the server as a whole ("") and each built-in service are SERVING until
/// shutdown begins, then NOT_SERVING. Watch sends the current status at once and again when it
/// changes; at shutdown it sends NOT_SERVING and ends, so that a graceful shutdown is not held up by
/// open watches. The services of uploaded modules are known from the moment Add stored them (they
/// are routable at their own paths then); a Watch on a service that is not known yet answers
/// SERVICE_UNKNOWN and changes to SERVING when a module defining it is added. A server on a shared
/// database that cannot reach it (`storeReachable(false)`) is NOT_SERVING until it can again, so
/// that an active health check takes it out of a load balancer meanwhile.
final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    /// Fully qualified names of the built-in services.
    let services: Set<String>
    let directory: ServiceDirectory

    private struct State {
        var shuttingDown = false
        var storeUnreachable = false
        var watchers: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextWatcher = 0
    }

    private let state = Mutex(State())

    init(services: Set<String>, directory: ServiceDirectory) {
        self.services = services.union([Grpc_Health_V1_Health.descriptor.fullyQualifiedService])
        self.directory = directory
    }

    /// `service`'s status now; nil if the server does not know it.
    func status(of service: String) -> Status? {
        guard service.isEmpty || services.contains(service) || directory.definesService(service) else { return nil }
        return state.withLock { $0.shuttingDown || $0.storeUnreachable } ? .notServing : .serving
    }

    /// Whether the store answers; watches are told of a change.
    func storeReachable(_ reachable: Bool) {
        let changed = state.withLock { state in
            defer { state.storeUnreachable = !reachable }
            return state.storeUnreachable == reachable
        }
        if changed { servicesChanged() }
    }

    /// From now on everything is NOT_SERVING; open watches are told so and end.
    func beginShutdown() {
        state.withLock { $0.shuttingDown = true }
        servicesChanged()
    }

    /// Wakes the open watches to look at their service's status again (after an Add).
    func servicesChanged() {
        for watcher in state.withLock({ Array($0.watchers.values) }) { watcher.yield() }
    }

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "this server has no service \(EchoedText.quote(request.service))")
        }
        return .with { $0.status = status }
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>, context: ServerContext
    ) async throws {
        let (changes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextWatcher += 1
            state.watchers[state.nextWatcher] = continuation
            return state.nextWatcher
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        var sent: Status?
        var iterator = changes.makeAsyncIterator()
        repeat {
            let current = status(of: request.service) ?? .serviceUnknown
            if current != sent {
                try await response.write(.with { $0.status = current })
                sent = current
            }
            if state.withLock({ $0.shuttingDown }) { return }
        } while await iterator.next() != nil
    }
}
