import CallCore
import GRPCCore
import GRPCInProcessTransport
import ListenerLimits
import NIOSSL
import WasmRPCGRPC

/// The gRPC front door over a `CallCore`: the built-in services (Registry, Invoker, Log, State,
/// Health, reflection v1 and v1alpha) behind `CallInterceptor`, every uploaded method at its own
/// path (`NativeRoutes`), and the server's own HTTP/2 transport with its direct calls
/// (`HTTP2Transport`, `DirectCalls`) or, for tests, grpc-swift's in-process transport.
package final class GRPCDoor: Sendable {
    let core: CallCore
    let health: HealthService
    package let reflection: ReflectionIndex
    let routes: NativeRoutes
    private let services: [any RegistrableRPCService]

    /// The built-in services' names.
    static let builtInServices = [
        Wasmrpc_V1_Registry.descriptor, Wasmrpc_V1_Invoker.descriptor, Wasmrpc_V1_Log.descriptor, Wasmrpc_V1_State.descriptor,
        Grpc_Health_V1_Health.descriptor,
        Grpc_Reflection_V1_ServerReflection.descriptor, Grpc_Reflection_V1alpha_ServerReflection.descriptor,
    ].map(\.fullyQualifiedService)

    package init(core: CallCore, reflectionCacheBytes: Int) throws {
        self.core = core
        let health = HealthService(services: Set(Self.builtInServices), directory: core.directory)
        core.directory.observe { health.servicesChanged() }
        self.health = health
        reflection = try ReflectionIndex(
            builtInServices: Self.builtInServices, directory: core.directory, runtime: core.runtime, cacheBytes: reflectionCacheBytes)
        routes = NativeRoutes(core: core)
        services = [
            RegistryService(core: core), InvokerService(core: core), LogService(core: core), StateService(core: core), health,
            ReflectionService(index: reflection), ReflectionServiceV1Alpha(index: reflection),
        ]
    }

    private var interceptors: [any ServerInterceptor] { [CallInterceptor(core: core)] }

    /// A server on HTTP/2 at `host:port` (TLS with `tls`; its connections bounded by `listener`),
    /// whose lifecycle knows the bound port.
    package func network(host: String, port: Int, tls: NIOSSLContext?, listener: ListenerLimits) -> ServerLifecycle {
        let transport = HTTP2Transport(
            configuration: .init(
                host: host, port: port, tls: tls, limits: core.limits, direct: DirectCalls(routes: routes), listener: listener))
        let server = GRPCServer(transport: NativeRoutingTransport(base: transport, routes: routes), services: services, interceptors: interceptors)
        return ServerLifecycle(server: server) { try await transport.port }
    }

    /// A server on grpc-swift's in-process transport: it takes calls as soon as it serves, and
    /// has no port to report.
    package func inProcess(_ transport: InProcessTransport.Server) -> ServerLifecycle {
        let server = GRPCServer(transport: NativeRoutingTransport(base: transport, routes: routes), services: services, interceptors: interceptors)
        return ServerLifecycle(server: server) { 0 }
    }

    /// Whether the store answers (health reports NOT_SERVING while it does not).
    package func storeReachable(_ reachable: Bool) {
        health.storeReachable(reachable)
    }

    /// Health reports NOT_SERVING from now on, and its watches end.
    package func beginShutdown() {
        health.beginShutdown()
    }
}
