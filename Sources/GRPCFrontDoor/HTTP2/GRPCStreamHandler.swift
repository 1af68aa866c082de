import CallCore
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// What every stream of one transport shares: where direct calls go, where other streams go, and
/// the request limits of each operation.
struct StreamSettings: Sendable {
    let direct: DirectCalls?
    let acceptor: StreamAcceptor
    let limits: RequestLimits
}

/// A stream grpc-swift's server answers (everything but direct calls, which `HTTP2Connection`
/// answers itself): this handler, in the stream's child channel, turns frames into request parts
/// for the `NIOAsyncChannel` behind it (added when the request headers arrive) and response parts
/// back into frames, and `StreamAcceptor` hands the channel to the transport's `listen`. The
/// connection has checked the request headers already. A stream that arrives while the server is
/// shutting down is refused as UNAVAILABLE; request messages larger than the limit of the
/// method's operation (`RequestLimits`) are refused before their bytes arrive.
final class GRPCStreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = RPCRequestPart<[UInt8]>
    typealias OutboundIn = RPCResponsePart<[UInt8]>
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum Mode {
        /// Waiting for the request headers.
        case opening
        case serving(StreamCancellation)
        /// Refused; what else arrives is dropped.
        case refused
    }

    private let settings: StreamSettings
    private let peers: (remote: String, local: String)
    private var mode = Mode.opening
    private var decoder: GRPCWire.MessageDecoder
    private var requestEnded = false
    private var responseStarted = false
    private var responseEnded = false

    init(settings: StreamSettings, peers: (remote: String, local: String)) {
        self.settings = settings
        self.peers = peers
        decoder = GRPCWire.MessageDecoder(maxMessageBytes: settings.limits.query)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if case .opening = mode {
                open(headers.headers, context: context)
            }
            if headers.endStream { requestDidEnd(context: context) }
        case .data(let data):
            if case .serving = mode, case .byteBuffer(let bytes) = data.data {
                decoder.append(bytes)
                do {
                    while let message = try decoder.next() {
                        context.fireChannelRead(wrapInboundOut(.message(message)))
                    }
                } catch {
                    fail(error, context: context)
                }
            }
            if data.endStream { requestDidEnd(context: context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !responseEnded, case .serving(let cancellation) = mode { cancellation.cancel() }
        context.fireChannelInactive()
    }

    /// Hands the stream to the server, whose method its path names (`HTTP2Connection` refused the
    /// requests that are not gRPC calls before this channel was made).
    private func open(_ headers: HPACKHeaders, context: ChannelHandlerContext) {
        let path = headers.first(name: ":path")
        guard let path, let descriptor = GRPCWire.method(path) else {
            let status = Status(code: .unimplemented, message: "no method \(path ?? "")")
            return refuse(with: GRPCWire.trailers(status, trailersOnly: true), context: context)
        }
        let operation = GRPCOperations.operation(for: descriptor.fullyQualifiedMethod)
        if let core = settings.direct?.core {
            // Refused from the headers, before any of the request is read (the server's
            // interceptor would refuse it too, once the stream reached it).
            let call = core.begin(operation, GRPCWire.RequestHeaders(headers).call, peer: peers.remote)
            if let refusal = call.refusal {
                core.finished(call, method: descriptor.fullyQualifiedMethod, error: refusal)
                var trailers = GRPCWire.trailers(Status(code: Status.Code(RPCError.code(refusal.status)), message: refusal.message), trailersOnly: true)
                trailers.add(name: CallLog.requestIDHeader, value: call.requestID)
                return refuse(with: trailers, context: context)
            }
        }
        decoder = GRPCWire.MessageDecoder(maxMessageBytes: settings.limits.bytes(for: operation))
        let cancellation = StreamCancellation()
        let channel: NIOAsyncChannel<RPCRequestPart<[UInt8]>, RPCResponsePart<[UInt8]>>
        do {
            channel = try NIOAsyncChannel(wrappingChannelSynchronously: context.channel)
        } catch {
            return refuse(with: GRPCWire.trailers(Status(code: .internalError, message: "the stream closed"), trailersOnly: true), context: context)
        }
        let accepted = AcceptedStream(
            channel: channel, descriptor: descriptor, cancellation: cancellation, remotePeer: peers.remote, localPeer: peers.local)
        guard settings.acceptor.accept(accepted) else {
            let status = Status(code: .unavailable, message: "the server is shutting down")
            return refuse(with: GRPCWire.trailers(status, trailersOnly: true), context: context)
        }
        mode = .serving(cancellation)
        context.fireChannelRead(wrapInboundOut(.metadata(GRPCWire.metadata(headers))))
    }

    private func requestDidEnd(context: ChannelHandlerContext) {
        guard !requestEnded else { return }
        requestEnded = true
        guard case .serving = mode else { return }
        guard !decoder.hasPartialMessage else {
            return fail(CallError(.internalError, "the request stream ended inside a message"), context: context)
        }
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }

    /// Ends the call because its requests broke the protocol or a limit: the status goes to the
    /// client (unless the response has ended) and the error to the server.
    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        let failure = error as? RPCError ?? RPCError(CallError(for: error))
        context.fireErrorCaught(failure)
        if !responseEnded {
            let status = Status(code: Status.Code(failure.code), message: failure.message)
            end(with: GRPCWire.trailers(status, trailersOnly: !responseStarted), context: context)
        }
    }

    private func refuse(with trailers: HPACKHeaders, context: ChannelHandlerContext) {
        mode = .refused
        end(with: trailers, context: context)
    }

    // MARK: Outbound

    /// Sends `trailers` with END_STREAM, which ends the response; resets the stream after them if
    /// the request has not ended (the client learns the status and stops sending).
    private func end(with trailers: HPACKHeaders, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        responseEnded = true
        let written = promise ?? context.eventLoop.makePromise()
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: written)
        if !requestEnded {
            // Completed on this event loop, where the context may be used.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// Response parts from grpc-swift's server, as frames.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !responseEnded else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .metadata(let metadata):
            responseStarted = true
            context.write(wrapOutboundOut(.headers(.init(headers: GRPCWire.responseHeaders(metadata)))), promise: promise)
        case .message(let message):
            if !responseStarted {
                responseStarted = true
                context.write(wrapOutboundOut(.headers(.init(headers: GRPCWire.responseHeaders()))), promise: nil)
            }
            let frame = GRPCWire.frame(message, allocator: context.channel.allocator)
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(frame)))), promise: promise)
        case .status(let status, let metadata):
            end(with: GRPCWire.trailers(status, metadata: metadata, trailersOnly: !responseStarted), context: context, promise: promise)
        }
    }
}

/// Cancels the call of a stream grpc-swift serves when the stream closes before its response
/// ended (the client reset it or went away); the handle comes from the task that serves it.
final class StreamCancellation: Sendable {
    private struct State {
        var handle: ServerContext.RPCCancellationHandle?
        var cancelled = false
    }
    private let state = Mutex(State())

    func attach(_ handle: ServerContext.RPCCancellationHandle) {
        let cancelled = state.withLock { state in
            state.handle = handle
            return state.cancelled
        }
        if cancelled { handle.cancel() }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.handle
        }?.cancel()
    }
}

/// A stream for grpc-swift's server, as `listen` receives it.
struct AcceptedStream: Sendable {
    let channel: NIOAsyncChannel<RPCRequestPart<[UInt8]>, RPCResponsePart<[UInt8]>>
    let descriptor: MethodDescriptor
    let cancellation: StreamCancellation
    let remotePeer: String
    let localPeer: String
}

/// Passes streams from the event loops to the transport's `listen`; refuses them once it is closed.
final class StreamAcceptor: Sendable {
    let streams: AsyncStream<AcceptedStream>
    private let continuation: AsyncStream<AcceptedStream>.Continuation

    init() {
        (streams, continuation) = AsyncStream.makeStream()
    }

    func accept(_ stream: AcceptedStream) -> Bool {
        if case .terminated = continuation.yield(stream) { return false }
        return true
    }

    func close() {
        continuation.finish()
    }
}
