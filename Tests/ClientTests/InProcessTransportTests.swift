import GRPCCore
import GRPCInProcessTransport
import Synchronization
import Testing
import Client
import TestSupport
import WasmRPCProto
import WasmRPCGRPC

/// `WasmRPCTransport`'s in-process case against a bare grpc-swift server: messages arrive whole, and
/// a call's timeout reaches the server as the `grpc-timeout` header, as over HTTP/2.
@Suite(.timeLimit(.minutes(10))) struct InProcessTransportTests {
    /// A health service that answers SERVING for the service name it is asked about and keeps the
    /// `grpc-timeout` header of every call.
    final class HeaderRecorder: Grpc_Health_V1_Health.ServiceProtocol {
        let timeouts = Mutex<[String?]>([])

        func check(request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext) async throws
            -> ServerResponse<Grpc_Health_V1_HealthCheckResponse>
        {
            let header = request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true })
            timeouts.withLock { $0.append(header) }
            return ServerResponse(message: .with { $0.status = request.message.service == "echo" ? .serving : .unknown })
        }

        func watch(request: ServerRequest<Grpc_Health_V1_HealthCheckRequest>, context: ServerContext) async throws
            -> StreamingServerResponse<Grpc_Health_V1_HealthCheckResponse>
        {
            throw RPCError(code: .unimplemented, message: "not here")
        }
    }

    @Test func messagesAndTimeoutsReachTheServerAsOverTheWire() async throws {
        let recorder = HeaderRecorder()
        let transport = InProcessTransport()
        let server = GRPCServer(transport: transport.server, services: [recorder])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            try await WasmRPCClient.withClient(inProcess: transport.client) { client in
                let answer = try await client.health.check(.with { $0.service = "echo" })
                #expect(answer.status == .serving)
                // Far above what the call needs even on a loaded machine: the test is about the header.
                var options = CallOptions.defaults
                options.timeout = .seconds(60)
                _ = try await client.health.check(.with { $0.service = "other" }, options: options)
            }
        }
        // GRPCCore sends what is left of the 60 s, in microseconds (the finest unit that fits the
        // header's 8 digits), as it does over HTTP/2.
        let timeouts = recorder.timeouts.withLock { $0 }
        #expect(timeouts.count == 2 && timeouts[0] == nil, "\(timeouts)")
        let header = try #require(timeouts.last ?? nil)
        #expect(header.hasSuffix("u"), "\(header)")
        let left = try #require(Int(header.dropLast()), "\(header)")
        #expect((1...60_000_000).contains(left), "\(header)")
    }
}
