import CallCore
import GRPCCore
import ListenerLimits
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One HTTP/2 connection's frames, between `NIOHTTP2Handler` (framing, HPACK, the protocol's state
/// and flow control) and NIO's stream multiplexer. It looks at each stream's request headers:
///
/// - a direct call (`DirectCalls`) is answered right here, without a stream channel: the one
///   request message is collected (up to its operation's limit, `RequestLimits`), the call runs,
///   and headers, message and trailers go out together, flushed once per read (or at once, for a
///   call that finished later); a call the core refuses from its headers (no token, a malformed
///   pin) is answered at once, and the stream reset, before any of its request is read;
/// - a request that is not a gRPC call this server takes (not POST, not `application/grpc`,
///   compressed) is refused here with its status;
/// - every other stream goes on to the multiplexer, whose stream channel gives it to
///   grpc-swift's server (`GRPCStreamHandler`).
///
/// It also counts the open streams for the graceful shutdown (`drain`: a GOAWAY, then close when
/// none are left) and for the connection's guard (`ConnectionGuard`: idle without streams), and polices the client's pings as gRPC servers do (`PingPolicy`). Used on its
/// connection's event loop only, hence `@unchecked Sendable` (the transport keeps it to drain it
/// there).
final class HTTP2Connection: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// A stream answered here.
    private final class DirectStream {
        let id: HTTP2StreamID
        /// nil: refused when it opened.
        let call: DirectCall?
        var decoder: GRPCWire.MessageDecoder
        var request: [UInt8]?
        var requestEnded = false
        var responseEnded = false
        /// Flow-controlled bytes received since the stream's window was last topped up.
        var unacknowledged = 0

        init(id: HTTP2StreamID, call: DirectCall?, maxRequestBytes: Int) {
            self.id = id
            self.call = call
            decoder = GRPCWire.MessageDecoder(maxMessageBytes: maxRequestBytes)
        }
    }

    private let settings: StreamSettings
    private let peer: String
    /// The connection's guard, told when streams are open (nil: no limits, in tests).
    private let connectionGuard: ConnectionGuard?
    /// The stream-level flow-control window a direct stream's request may use, kept topped up.
    private let windowBytes: Int
    private var context: ChannelHandlerContext?
    private var direct: [HTTP2StreamID: DirectStream] = [:]
    /// The newest stream the client opened (stream ids only grow).
    private var newest = HTTP2StreamID(0)
    private var openStreams = 0
    /// Streams whose request has not ended (no END_STREAM from the client yet).
    private var requestsArriving: Set<HTTP2StreamID> = []
    private var draining = false
    /// Its sending side is closed (or closing).
    private var closing = false
    /// Inside a read: flushes wait for its end.
    private var reading = false
    private var flushPending = false
    private var pings = PingPolicy()

    init(settings: StreamSettings, peer: String, windowBytes: Int, connectionGuard: ConnectionGuard? = nil) {
        self.settings = settings
        self.peer = peer
        self.connectionGuard = connectionGuard
        self.windowBytes = windowBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        if id == .rootStream {
            if case .ping(_, ack: false) = frame.payload, !pings.allows(at: .now(), callsOpen: openStreams > 0) {
                return closeForTooManyPings(context)
            }
            return context.fireChannelRead(data)
        }
        if frame.payload.endsStream, requestsArriving.remove(id) != nil { tellGuard() }
        if let stream = direct[id] { return receive(frame.payload, on: stream) }
        guard id > newest, case .headers(let headers) = frame.payload else { return context.fireChannelRead(data) }
        newest = id
        if !headers.endStream {
            requestsArriving.insert(id)
            tellGuard()
        }
        let request = GRPCWire.RequestHeaders(headers.headers)
        if let refusal = request.refusal {
            // Kept before answering: writing the answer may close the stream at once, and its
            // StreamClosedEvent (which forgets it) comes during that write.
            let stream = DirectStream(id: id, call: nil, maxRequestBytes: 0)
            stream.requestEnded = headers.endStream  // then there is nothing to reset after the answer
            direct[id] = stream
            return end(stream, with: refusal)
        }
        guard let calls = settings.direct, let call = calls.call(method: request.path!.dropFirst(), headers: request, peer: peer) else {
            return context.fireChannelRead(data)
        }
        let stream = DirectStream(id: id, call: call, maxRequestBytes: settings.limits.bytes(for: call.call.operation))
        direct[id] = stream
        if let refusal = call.refusal {
            // Decided from the headers: answered before any of the request is read.
            stream.requestEnded = headers.endStream
            return respond(call.fail(refusal), on: stream)
        }
        if headers.endStream { requestDidEnd(stream) }
    }

    /// Tells the connection's guard what is under way: a request still arriving (which must keep
    /// arriving), streams open (bounded by their calls), or nothing.
    private func tellGuard() {
        guard let connectionGuard else { return }
        if !requestsArriving.isEmpty {
            connectionGuard.busy(reading: true)
        } else if openStreams > 0 {
            connectionGuard.busy()
        } else {
            connectionGuard.idle()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is NIOHTTP2StreamCreatedEvent:
            openStreams += 1
            if openStreams == 1 { tellGuard() }
        case let closed as StreamClosedEvent:
            openStreams -= 1
            requestsArriving.remove(closed.streamID)
            tellGuard()
            if let stream = direct.removeValue(forKey: closed.streamID), !stream.responseEnded {
                stream.responseEnded = true
                stream.call?.cancel()  // the client reset the stream
            }
            if draining, openStreams == 0 { closeDrained(context) }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for stream in direct.values where !stream.responseEnded {
            stream.responseEnded = true
            stream.call?.cancel()
        }
        direct = [:]
        context.fireChannelInactive()
    }

    private func receive(_ payload: HTTP2Frame.FramePayload, on stream: DirectStream) {
        switch payload {
        case .data(let data):
            if !data.endStream, !stream.responseEnded { keepWindowOpen(stream, received: data.data.readableBytes + (data.paddingBytes ?? 0)) }
            if let call = stream.call, !stream.responseEnded, case .byteBuffer(let bytes) = data.data {
                stream.decoder.append(bytes)
                do {
                    while let message = try stream.decoder.next() {
                        guard stream.request == nil else {
                            throw CallError(.internalError, "\(call.method) takes one request message, but the client sent more")
                        }
                        stream.request = message
                    }
                } catch {
                    respond(call.fail(CallError(for: error)), on: stream)
                }
            }
            if data.endStream { requestDidEnd(stream) }
        case .headers(let trailers):
            if trailers.endStream { requestDidEnd(stream) }
        default:
            break  // a reset closes the stream (StreamClosedEvent); window updates are NIO's
        }
    }

    /// Tops up the stream's window once half of it is used, so that a request larger than the
    /// window keeps arriving (stream channels do this for theirs; the multiplexer does it for the
    /// connection's window).
    private func keepWindowOpen(_ stream: DirectStream, received: Int) {
        stream.unacknowledged += received
        guard stream.unacknowledged >= windowBytes / 2, let context else { return }
        let update = HTTP2Frame(streamID: stream.id, payload: .windowUpdate(windowSizeIncrement: stream.unacknowledged))
        stream.unacknowledged = 0
        context.write(wrapOutboundOut(update), promise: nil)
        flushSoon()
    }

    private func requestDidEnd(_ stream: DirectStream) {
        guard !stream.requestEnded else { return }
        stream.requestEnded = true
        guard let call = stream.call, !stream.responseEnded, let context else { return }
        guard !stream.decoder.hasPartialMessage else {
            return respond(call.fail(CallError(.internalError, "the request stream ended inside a message")), on: stream)
        }
        guard let request = stream.request else {
            return respond(call.fail(CallError(.internalError, "the client sent no request message to \(call.method)")), on: stream)
        }
        stream.request = nil
        call.answer(request, on: context.eventLoop) { [self] outcome in respond(outcome, on: stream) }
    }

    // MARK: Outbound

    /// Frames of the streams grpc-swift's server answers, on their way out.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data).payload {
        case .headers, .data: pings.answered()
        default: break
        }
        context.write(data, promise: promise)
    }

    /// Writes a direct call's outcome: headers, message and trailers, or trailers only.
    private func respond(_ outcome: DirectOutcome, on stream: DirectStream) {
        guard let context, !stream.responseEnded else { return }
        switch outcome {
        case .answer(let headers, let message):
            var response = GRPCWire.responseHeaders()
            response.add(contentsOf: headers)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: stream.id, payload: .headers(.init(headers: response)))), promise: nil)
            let frame = GRPCWire.frame(message, allocator: context.channel.allocator)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: stream.id, payload: .data(.init(data: .byteBuffer(frame))))), promise: nil)
            end(stream, with: GRPCWire.trailers(Status(code: .ok, message: ""), trailersOnly: false))
        case .failure(let error, let trailers):
            var headers = GRPCWire.trailers(Status(code: Status.Code(RPCError.code(error.status)), message: error.message), trailersOnly: true)
            headers.add(contentsOf: trailers)
            end(stream, with: headers)
        }
    }

    /// Sends `trailers` with END_STREAM, which ends the response; resets the stream after them if
    /// the request has not ended (the client learns the status and stops sending).
    private func end(_ stream: DirectStream, with trailers: HPACKHeaders) {
        guard let context else { return }
        stream.responseEnded = true
        pings.answered()
        context.write(wrapOutboundOut(HTTP2Frame(streamID: stream.id, payload: .headers(.init(headers: trailers, endStream: true)))), promise: nil)
        if !stream.requestEnded {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: stream.id, payload: .rstStream(.noError))), promise: nil)
        }
        flushSoon()
    }

    /// Flushes now, or at the end of the read under way.
    private func flushSoon() {
        if reading {
            flushPending = true
        } else {
            context?.flush()
        }
    }

    /// Sends GOAWAY (no new streams), and closes the connection once its streams have ended.
    func drain() {
        guard !draining, let context else { return }
        draining = true
        let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: newest, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        if openStreams == 0 { closeDrained(context) }
    }

    /// Closes a drained connection: flushes what was written (a stream closes when its trailers
    /// are written, which may be before the end of the read that flushes them), then closes the
    /// sending side only, so that what the client still sends (its answer to the GOAWAY, say) is
    /// read rather than answered with a TCP reset that could discard our last frames before the
    /// client reads them. The client closes its side in turn; after `lingerLimit` the connection
    /// closes anyway.
    private func closeDrained(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        flushPending = false
        context.flush()
        let closed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: closed)
        // No half-closure (TLS): close. Completed on this event loop, where the context may be used.
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closed.futureResult.whenFailure { _ in bound.value.close(promise: nil) }
        let channel = context.channel
        let linger = context.eventLoop.scheduleTask(in: Self.lingerLimit) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in linger.cancel() }
    }

    static let lingerLimit = TimeAmount.seconds(5)

    /// Ends a connection whose client pings too often: GOAWAY with ENHANCE_YOUR_CALM and
    /// "too_many_pings" (which tells a gRPC client to ping less on its next connection), then close.
    private func closeForTooManyPings(_ context: ChannelHandlerContext) {
        guard !draining else { return }
        draining = true
        let goAway = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: newest, errorCode: .enhanceYourCalm, opaqueData: context.channel.allocator.buffer(string: "too_many_pings")))
        context.write(wrapOutboundOut(goAway), promise: nil)
        closeDrained(context)
    }
}

/// When a client's pings are too many: gRPC's keepalive enforcement (gRFC A8), as grpc-go's and
/// grpc-swift's servers apply it. A ping is fine if the server has sent headers or data since the
/// last one (pings that come with calls: grpc-go's clients ping about once per round trip while
/// answers arrive, to size their flow-control windows), or if the last fine one was at least
/// 5 minutes earlier (2 hours while no call is open). Other pings are strikes; the third strike
/// ends the connection. NIO's HTTP/2 handler counts control frames too (`HTTP2Transport`), but
/// only against a burst limit: its default, 200 a connection in 30 s, closed grpc-go connections
/// every few hundred calls.
struct PingPolicy {
    static let minInterval = TimeAmount.minutes(5)
    static let minIntervalWithoutCalls = TimeAmount.hours(2)
    static let maxStrikes = 2

    private var lastFine: NIODeadline?
    private var strikes = 0
    private var answeredSinceLast = false

    /// The server sent headers or data.
    mutating func answered() {
        answeredSinceLast = true
    }

    /// Whether a ping received at `time` may be answered, or is one too many.
    mutating func allows(at time: NIODeadline, callsOpen: Bool) -> Bool {
        if answeredSinceLast {
            answeredSinceLast = false
            strikes = 0
            lastFine = time
            return true
        }
        let interval = callsOpen ? Self.minInterval : Self.minIntervalWithoutCalls
        if let lastFine, time < lastFine + interval {
            strikes += 1
            return strikes <= Self.maxStrikes
        }
        lastFine = time
        return true
    }
}

extension HTTP2Frame.FramePayload {
    /// Whether the frame ends its stream's side (END_STREAM on HEADERS or DATA).
    var endsStream: Bool {
        switch self {
        case .headers(let headers): headers.endStream
        case .data(let data): data.endStream
        default: false
        }
    }
}
