import CallCore
import GRPCCore
import ListenerLimits
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// The server's own gRPC transport: HTTP/2 (plaintext, or TLS with `h2` by ALPN) on
/// swift-nio-http2. Each connection's `HTTP2Connection` answers direct calls (`DirectCalls`: Invoke
/// and the unary native routes of loaded modules) on the event loop; every other stream gets a
/// stream channel with a `GRPCStreamHandler` and is handed to the `GRPCServer` through `listen`, as
/// grpc-swift's own HTTP/2 transport would hand it.
///
/// `beginGracefulShutdown` closes the listening socket and sends each connection a GOAWAY naming
/// the last stream it opened; a connection closes once its streams have ended, and `listen`
/// returns once every connection has closed and every stream it handed over has finished.
final class HTTP2Transport: ServerTransport, Sendable {
    typealias Bytes = [UInt8]

    struct Configuration: Sendable {
        var host: String
        var port: Int
        var tls: NIOSSLContext?
        /// The largest request message of each operation.
        var limits: RequestLimits
        /// Calls answered on the event loop; nil sends every stream to the server.
        var direct: DirectCalls?
        /// The flow-control window per stream and per connection.
        var windowBytes = 1 << 20
        /// Streams a client may have open on one connection.
        var maxConcurrentStreams = 1_024
        /// Connections, handshakes and idle time (`ConnectionGuard`).
        var listener = ListenerLimits()
    }

    private let configuration: Configuration
    private let acceptor = StreamAcceptor()
    private let connections: ConnectionRegistry
    private let connectionCount = ConnectionCount()
    private let boundPort = OnceValue<Result<Int, any Error>>()

    init(configuration: Configuration) {
        self.configuration = configuration
        connections = ConnectionRegistry(acceptor: acceptor)
    }

    /// The port, once `listen` has bound it; throws why it could not.
    var port: Int {
        get async throws {
            guard let bound = try await boundPort.value else {
                throw ServerError(.notListening, "the server stopped before it listened")
            }
            return try bound.get()
        }
    }

    func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        let settings = StreamSettings(direct: configuration.direct, acceptor: acceptor, limits: configuration.limits)
        let listener: any Channel
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try configure(channel, settings: settings) }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            boundPort.set(.failure(error))
            throw error
        }
        boundPort.set(.success(listener.localAddress?.port ?? configuration.port))
        connections.listening(on: listener)
        defer { connections.closeAll() }
        await withDiscardingTaskGroup { group in
            for await stream in acceptor.streams {
                group.addTask { await Self.serve(stream, with: streamHandler) }
            }
        }
    }

    func beginGracefulShutdown() {
        connections.drain()
    }

    /// An accepted connection's pipeline: TLS, its guard, HTTP/2, the connection's own handler (direct calls),
    /// the multiplexer with a stream channel for each other stream.
    private func configure(_ channel: any Channel, settings: StreamSettings) throws {
        let sync = channel.pipeline.syncOperations
        // The guard comes after TLS, which tells the handlers after it that its handshake is done.
        if let tls = configuration.tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
        let connectionGuard = ConnectionGuard(
            limits: configuration.listener, connections: connectionCount, tls: configuration.tls != nil, bytesBeginRequests: false)
        try sync.addHandler(connectionGuard)
        let peers = (remote: GRPCWire.peer(channel.remoteAddress), local: GRPCWire.peer(channel.localAddress))
        var http2Configuration = NIOHTTP2Handler.ConnectionConfiguration()
        http2Configuration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.windowBytes),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16 << 10),
        ]
        // A burst limit on PING, SETTINGS and PRIORITY frames; pings are policed by `PingPolicy`.
        http2Configuration.controlFrameRateLimit.maximumCount = Self.controlFrameBurst.count
        http2Configuration.controlFrameRateLimit.windowLength = Self.controlFrameBurst.window
        let http2 = NIOHTTP2Handler(mode: .server, connectionConfiguration: http2Configuration)
        let connection = HTTP2Connection(
            settings: settings, peer: peers.remote, windowBytes: configuration.windowBytes, connectionGuard: connectionGuard)
        // An idle connection ends with a GOAWAY, as a graceful shutdown does, not a bare close.
        connectionGuard.onIdleTimeout = { [weak connection] in connection?.drain() }
        let multiplexer = HTTP2StreamMultiplexer(mode: .server, channel: channel, targetWindowSize: configuration.windowBytes) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(GRPCStreamHandler(settings: settings, peers: peers))
            }
        }
        try sync.addHandlers([http2, connection, multiplexer])
        connections.add(channel, connection: connection)
    }

    /// Control frames a client may send within the window before NIO's handler ends the connection
    /// (ENHANCE_YOUR_CALM). Its default, 200 in 30 s, cannot tell a flood from the pings grpc-go's
    /// clients send with their calls (one per round trip while answers arrive).
    static let controlFrameBurst = (count: 1_000, window: TimeAmount.milliseconds(50))

    /// Runs the server's handler for one stream, as grpc-swift's HTTP/2 transport does.
    private static func serve(
        _ stream: AcceptedStream, with handler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async {
        try? await stream.channel.executeThenClose { inbound, outbound in
            await withServerContextRPCCancellationHandle { handle in
                stream.cancellation.attach(handle)
                let rpc = RPCStream(
                    descriptor: stream.descriptor, inbound: RPCAsyncSequence(wrapping: inbound),
                    outbound: RPCWriter.Closable(wrapping: ResponseWriter(writer: outbound, channel: stream.channel.channel)))
                let context = ServerContext(
                    descriptor: stream.descriptor, remotePeer: stream.remotePeer, localPeer: stream.localPeer, cancellation: handle)
                await handler(rpc, context)
            }
            // The trailers are written; wait for the stream to close so that closing the channel
            // here cannot drop them. A cancelled task does not wait (the channel is closed then).
            if !Task.isCancelled { try await stream.channel.channel.closeFuture.get() }
        }
    }
}

/// Response parts into a stream's `NIOAsyncChannel`; finishing with an error resets the stream.
private struct ResponseWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCResponsePart<[UInt8]>
    let writer: NIOAsyncChannelOutboundWriter<RPCResponsePart<[UInt8]>>
    let channel: any Channel

    func write(_ element: Element) async throws {
        try await writer.write(element)
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        try await writer.write(contentsOf: elements)
    }

    func finish() async {
        writer.finish()
    }

    func finish(throwing error: any Error) async {
        writer.finish()
        channel.close(promise: nil)
    }
}

/// The listening socket and the open connections, for the graceful shutdown: once it has begun
/// and the last connection has closed, no more streams can come, and the acceptor closes.
private final class ConnectionRegistry: Sendable {
    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: (channel: any Channel, connection: HTTP2Connection)] = [:]
        var draining = false
    }
    private let state = Mutex(State())
    private let acceptor: StreamAcceptor

    init(acceptor: StreamAcceptor) {
        self.acceptor = acceptor
    }

    func listening(on listener: any Channel) {
        let closeNow = state.withLock { state in
            state.listener = listener
            return state.draining
        }
        if closeNow { drain() }
    }

    func add(_ channel: any Channel, connection: HTTP2Connection) {
        let key = ObjectIdentifier(channel)
        let drainNow = state.withLock { state in
            state.connections[key] = (channel, connection)
            return state.draining
        }
        if drainNow { connection.drain() }  // on its event loop: this runs in its initializer
        channel.closeFuture.whenComplete { [self] _ in
            let last = state.withLock { state in
                state.connections[key] = nil
                return state.draining && state.connections.isEmpty
            }
            if last { acceptor.close() }
        }
    }

    /// Stops accepting connections and drains the open ones.
    func drain() {
        let (listener, connections) = state.withLock { state in
            state.draining = true
            return (state.listener, Array(state.connections.values))
        }
        listener?.close(promise: nil)
        if connections.isEmpty, listener != nil { acceptor.close() }
        for (channel, connection) in connections {
            channel.eventLoop.execute { connection.drain() }
        }
    }

    /// Closes everything (`listen` is ending).
    func closeAll() {
        let (listener, connections) = state.withLock { state in
            state.draining = true
            return (state.listener, Array(state.connections.values))
        }
        listener?.close(promise: nil)
        for (channel, _) in connections { channel.close(promise: nil) }
        acceptor.close()
    }
}
