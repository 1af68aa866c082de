import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore

/// Several servers that serve the same system (replicas on one database), for a client that
/// spreads its calls over them without a proxy in front: one connection to each, and calls handed
/// out round-robin among those that are ready (grpc-swift's round-robin load balancer). A server
/// that cannot be reached is skipped until its connection comes back.
extension ResolvableTargets {
    public struct WasmRPCServers: ResolvableTarget, Sendable {
        public var servers: [ServerAddress]

        public init(_ servers: [ServerAddress]) {
            self.servers = servers
        }
    }
}

extension NameResolvers {
    /// Resolves `WasmRPCServers` once, when the client starts: an endpoint per server, holding
    /// its IP literal or the addresses its name resolves to.
    public struct WasmRPCServers: NameResolverFactory, Sendable {
        public typealias Target = ResolvableTargets.WasmRPCServers

        public init() {}

        public func resolver(for target: Target) -> NameResolver {
            let result: Result<NameResolutionResult, any Error>
            do {
                let endpoints = try target.servers.map(Self.endpoint(of:))
                result = .success(NameResolutionResult(endpoints: endpoints, serviceConfig: nil))
            } catch {
                result = .failure(error)
            }
            return NameResolver(names: RPCAsyncSequence(wrapping: Constant(result: result)), updateMode: .pull)
        }

        private static func endpoint(of server: ServerAddress) throws -> Endpoint {
            let resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(server.host, port: server.port)
            switch resolved {
            case .v4: return Endpoint(addresses: [.ipv4(host: resolved.ipAddress ?? server.host, port: server.port)])
            case .v6: return Endpoint(addresses: [.ipv6(host: resolved.ipAddress ?? server.host, port: server.port)])
            default: throw RPCError(code: .unavailable, message: "\(server) is not an IP address or host name")
            }
        }

        /// The same answer at each pull.
        private struct Constant: AsyncSequence, Sendable {
            typealias Element = NameResolutionResult
            let result: Result<NameResolutionResult, any Error>

            struct AsyncIterator: AsyncIteratorProtocol {
                let result: Result<NameResolutionResult, any Error>
                mutating func next() async throws -> NameResolutionResult? { try result.get() }
            }

            func makeAsyncIterator() -> AsyncIterator { AsyncIterator(result: result) }
        }
    }
}
