import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2

/// How a `WasmRPCClient` reaches its server: HTTP/2 over a socket (`WasmRPCClient.withClient(to:)`),
/// or grpc-swift's in-process transport to a server in the same process
/// (`WasmRPCClient.withClient(inProcess:)`, which tests use). Both carry the same parts (GRPCCore
/// puts the call's remaining time in the `grpc-timeout` header either way); the in-process one
/// hands messages over as plain byte arrays, which this type converts.
public struct WasmRPCTransport: ClientTransport {
    public typealias Bytes = GRPCNIOTransportBytes

    private enum Base: Sendable {
        case http2(HTTP2ClientTransport.Posix)
        case inProcess(InProcessTransport.Client)
    }

    private let base: Base

    init(http2 transport: HTTP2ClientTransport.Posix) { base = .http2(transport) }
    init(inProcess transport: InProcessTransport.Client) { base = .inProcess(transport) }

    public var retryThrottle: RetryThrottle? {
        switch base {
        case .http2(let transport): transport.retryThrottle
        case .inProcess(let transport): transport.retryThrottle
        }
    }

    public func connect() async throws {
        switch base {
        case .http2(let transport): try await transport.connect()
        case .inProcess(let transport): try await transport.connect()
        }
    }

    public func beginGracefulShutdown() {
        switch base {
        case .http2(let transport): transport.beginGracefulShutdown()
        case .inProcess(let transport): transport.beginGracefulShutdown()
        }
    }

    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? {
        switch base {
        case .http2(let transport): transport.config(forMethod: descriptor)
        case .inProcess(let transport): transport.config(forMethod: descriptor)
        }
    }

    public func withStream<T: Sendable>(
        descriptor: MethodDescriptor, options: CallOptions, _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
    ) async throws -> T {
        switch base {
        case .http2(let transport):
            return try await transport.withStream(descriptor: descriptor, options: options, closure)
        case .inProcess(let transport):
            return try await transport.withStream(descriptor: descriptor, options: options) { stream, context in
                let inbound = stream.inbound.map { @Sendable part -> RPCResponsePart<Bytes> in
                    switch part {
                    case .metadata(let metadata): .metadata(metadata)
                    case .message(let bytes): .message(Bytes(bytes))
                    case .status(let status, let metadata): .status(status, metadata)
                    }
                }
                let outbound = BytesCopyingWriter(base: stream.outbound)
                return try await closure(
                    RPCStream(descriptor: stream.descriptor, inbound: RPCAsyncSequence(wrapping: inbound), outbound: RPCWriter.Closable(wrapping: outbound)),
                    context)
            }
        }
    }
}

/// Writes a call's request parts to the in-process transport, messages as plain bytes.
private struct BytesCopyingWriter: ClosableRPCWriterProtocol {
    let base: RPCWriter<RPCRequestPart<[UInt8]>>.Closable

    func write(_ element: RPCRequestPart<GRPCNIOTransportBytes>) async throws {
        switch element {
        case .metadata(let metadata):
            try await base.write(.metadata(metadata))
        case .message(let bytes):
            try await base.write(.message(bytes.withUnsafeBytes { Array($0) }))
        }
    }

    func write(contentsOf elements: some Sequence<RPCRequestPart<GRPCNIOTransportBytes>>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async { await base.finish() }
    func finish(throwing error: any Error) async { await base.finish(throwing: error) }
}
