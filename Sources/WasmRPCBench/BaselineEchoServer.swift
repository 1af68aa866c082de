import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCFrontDoor

/// The library floor `wasmrpc bench` measures against: a plain grpc-swift-2 server with one unary
/// method, `/wasmrpc.bench.Baseline/Echo`, that answers every request with its own bytes, on
/// grpc-swift-2's own plaintext HTTP/2 transport: no interceptors, no routing wrapper, no guest —
/// what a gRPC service written with grpc-swift costs on this machine. (`WasmRPCServer` has its own
/// transport, `HTTP2Transport`; `gload -serve`, a grpc-go echo server, is the machine's floor.)
public final class BaselineEchoServer: Sendable {
    public static let method = GRPCCore.MethodDescriptor(fullyQualifiedService: "wasmrpc.bench.Baseline", method: "Echo")

    private let lifecycle: ServerLifecycle

    /// Listens on `host:port` (0 picks a free port) once `run()` is called.
    public init(host: String = "127.0.0.1", port: Int = 0, maxRequestBytes: Int = 64 << 20) {
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: .plaintext, config: .defaults { $0.rpc.maxRequestPayloadSize = maxRequestBytes })
        var router = RPCRouter<HTTP2ServerTransport.Posix>()
        router.registerHandler(forMethod: Self.method, deserializer: EchoBytes(), serializer: EchoBytes()) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: single.message))
        }
        lifecycle = ServerLifecycle(server: GRPCServer(transport: transport, router: router), transport: transport)
    }

    /// Serves until `shutdown()`.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            defer { lifecycle.ended() }
            _ = try await lifecycle.start(in: &group)
            try await group.waitForAll()
        }
    }

    /// The port it listens on, once it does (waits for `run()` to bind it); throws if it failed to,
    /// or was stopped before it did.
    public func listeningPort() async throws -> Int {
        try await lifecycle.port
    }

    public func shutdown() {
        lifecycle.stop()
    }
}

/// Message bytes as they are.
private struct EchoBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}
