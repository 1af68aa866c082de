import NIOCore
import NIOTLS
import Synchronization

/// Bounds on a listener's connections, the same for the gRPC port and the HTTP listener: how many
/// may be open, how long a TLS handshake may take, how long a client may take to send a request
/// head, and how long a connection may stay with nothing under way.
public struct ListenerLimits: Sendable {
    /// Connections open at once; one more is closed as soon as it is accepted.
    public var maxConnections = 4_096
    /// From the connection's opening to the end of its TLS handshake.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// From the first byte of an HTTP/1.1 request head to its end (a head sent a byte at a time
    /// cannot hold a connection).
    public var headerTimeout: TimeAmount = .seconds(30)
    /// With nothing under way: no HTTP/2 stream open, no HTTP/1.1 request read or answered (and,
    /// while an HTTP/1.1 request's body arrives, between two of its reads).
    public var idleTimeout: TimeAmount = .minutes(5)

    public init() {}
}

/// The open connections of one listener, for `ListenerLimits.maxConnections`.
public final class ConnectionCount: Sendable {
    private let count = Atomic(0)

    public init() {}

    public var value: Int { count.load(ordering: .relaxed) }

    /// Counts a new connection; false (and not counted) if `limit` are open already.
    func admit(limit: Int) -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}

/// The handler right after TLS (first without it) of every accepted connection: it closes the
/// connection when it is one too many, when its TLS handshake takes too long (TLS tells the
/// handlers after it when the handshake is done), when a request head takes too long, when a
/// request stops arriving, or when it has been idle too long (or calls `onIdleTimeout`). The
/// protocol's handler says when a request is under way (`busy`, `reading` while it still
/// arrives) and when nothing is (`idle`): `HTTP2Connection` by its streams, `DirectJSONCalls` by
/// HTTP/1.1 requests and answers. Used on its connection's event loop only.
public final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        /// Nothing under way.
        case idle
        /// An HTTP/1.1 request head is arriving (its first bytes came).
        case readingHead
        /// A request is under way; `reading`: its body is still arriving.
        case busy(reading: Bool)
    }

    private let limits: ListenerLimits
    private let connections: ConnectionCount
    /// Whether bytes that arrive while idle begin a request head (HTTP/1.1; HTTP/2 clients also
    /// send pings and settings between requests).
    private let bytesBeginRequests: Bool
    private var state = State.idle
    private var started = false
    private var counted = false
    private var handshaking: Bool
    /// When the connection closes unless something moves it on; nil: no limit now.
    private var deadline: NIODeadline?
    private var handshakeDeadline: NIODeadline?
    private var timer: Scheduled<Void>?
    /// When `timer` fires.
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?
    /// Ends a connection whose idle time ran out, instead of closing it (HTTP/2: a GOAWAY first);
    /// set on its event loop.
    public var onIdleTimeout: (() -> Void)?

    public init(limits: ListenerLimits, connections: ConnectionCount, tls: Bool, bytesBeginRequests: Bool) {
        self.limits = limits
        self.connections = connections
        self.bytesBeginRequests = bytesBeginRequests
        handshaking = tls
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        // One too many: closed before the handlers after this one start on it.
        guard start(context) else { return }
        context.fireChannelActive()
    }

    /// Counts the connection (or closes it, one too many: false) and starts its clocks; once.
    @discardableResult
    private func start(_ context: ChannelHandlerContext) -> Bool {
        guard !started else { return counted }
        started = true
        guard connections.admit(limit: limits.maxConnections) else {
            context.close(promise: nil)
            return false
        }
        counted = true
        if handshaking { handshakeDeadline = context.eventLoop.now + limits.handshakeTimeout }
        idle()
        return true
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        if counted { connections.release() }
        counted = false
        timer?.cancel()
        timer = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .idle where bytesBeginRequests && !handshaking:
            state = .readingHead
            arm(context.eventLoop.now + limits.headerTimeout)
        case .busy(reading: true):
            deadline = context.eventLoop.now + limits.idleTimeout
        default:
            break
        }
        context.fireChannelRead(data)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            handshaking = false
            handshakeDeadline = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A request is under way: its head has arrived, and `reading` while its body still does.
    public func busy(reading: Bool = false) {
        state = .busy(reading: reading)
        if reading, let context {
            arm(context.eventLoop.now + limits.idleTimeout)
        } else {
            deadline = nil
        }
    }

    /// Nothing is under way any more.
    public func idle() {
        state = .idle
        guard let context else { return }
        arm(context.eventLoop.now + limits.idleTimeout)
    }

    /// Sets the deadline, and makes sure a timer will look at it in time.
    private func arm(_ new: NIODeadline) {
        deadline = new
        if let timerDeadline, new < timerDeadline {
            timer?.cancel()
            timer = nil
        }
        schedule()
    }

    private func schedule() {
        guard timer == nil, let context else { return }
        // On HTTP/1.1 the timer looks at least every header timeout, so that a head beginning
        // (every request of a kept-alive connection) never has to move it earlier.
        let soonest = bytesBeginRequests && deadline != nil ? context.eventLoop.now + limits.headerTimeout : nil
        guard let next = [deadline, handshakeDeadline, soonest].compactMap({ $0 }).min() else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timerDeadline = next
        timer = context.eventLoop.scheduleTask(deadline: next) { bound.value.check() }
    }

    /// The timer fired: closes the connection if a deadline passed, else waits for the next one.
    private func check() {
        timer = nil
        timerDeadline = nil
        guard let context else { return }
        let now = context.eventLoop.now
        if let handshakeDeadline, handshakeDeadline <= now {
            context.close(promise: nil)
            return
        }
        if let deadline, deadline <= now {
            if case .idle = state, let onIdleTimeout {
                self.deadline = nil
                onIdleTimeout()
            } else {
                context.close(promise: nil)
            }
            return
        }
        schedule()
    }
}
