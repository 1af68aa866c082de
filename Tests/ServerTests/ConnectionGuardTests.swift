import ListenerLimits
import NIOCore
import NIOEmbedded
import NIOTLS
import Testing

/// A listener's connection bounds (`ConnectionGuard`), on embedded channels whose clock the test
/// moves: no test waits for real time.
struct ConnectionGuardTests {
    static func limits() -> ListenerLimits {
        var limits = ListenerLimits()
        limits.maxConnections = 2
        limits.handshakeTimeout = .seconds(10)
        limits.headerTimeout = .seconds(30)
        limits.idleTimeout = .seconds(300)
        return limits
    }

    static func channel(_ count: ConnectionCount, tls: Bool = false, http1: Bool = true) throws -> (EmbeddedChannel, ConnectionGuard) {
        let channel = EmbeddedChannel()
        let connectionGuard = ConnectionGuard(limits: limits(), connections: count, tls: tls, bytesBeginRequests: http1)
        try channel.pipeline.syncOperations.addHandler(connectionGuard)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, connectionGuard)
    }

    @Test func oneConnectionTooManyIsClosedAtOnce() throws {
        let count = ConnectionCount()
        let (first, _) = try Self.channel(count)
        let (second, _) = try Self.channel(count)
        let (third, _) = try Self.channel(count)
        #expect(first.isActive && second.isActive && !third.isActive)
        #expect(count.value == 2)
        _ = try first.finish(acceptAlreadyClosed: true)
        #expect(count.value == 1)
        let (fourth, _) = try Self.channel(count)
        #expect(fourth.isActive)
        _ = try second.finish(acceptAlreadyClosed: true)
        _ = try fourth.finish(acceptAlreadyClosed: true)
    }

    @Test func aHalfSentRequestHeadIsClosedAfterTheHeaderTimeout() throws {
        let (channel, _) = try Self.channel(ConnectionCount())
        try channel.writeInbound(ByteBuffer(string: "POST /v1/modules HTTP/1.1\r\nHost: x\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        // A byte at a time does not extend it.
        try channel.writeInbound(ByteBuffer(string: "X"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func aRequestUnderWayIsNotCutAndIdleTimeFollows() throws {
        let (channel, connectionGuard) = try Self.channel(ConnectionCount())
        try channel.writeInbound(ByteBuffer(string: "POST / HTTP/1.1\r\n\r\n"))
        connectionGuard.busy(reading: false)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive, "a call under way is bounded by its own deadline")
        connectionGuard.idle()
        channel.embeddedEventLoop.advanceTime(by: .seconds(299))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func aBodyThatStopsArrivingIsCut() throws {
        let (channel, connectionGuard) = try Self.channel(ConnectionCount())
        try channel.writeInbound(ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n"))
        connectionGuard.busy(reading: true)
        channel.embeddedEventLoop.advanceTime(by: .seconds(200))
        try channel.writeInbound(ByteBuffer(string: "part"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(200))
        #expect(channel.isActive, "each read moves the limit")
        channel.embeddedEventLoop.advanceTime(by: .seconds(101))
        #expect(!channel.isActive)
    }

    @Test func aTLSHandshakeHasItsOwnLimit() throws {
        let (slow, _) = try Self.channel(ConnectionCount(), tls: true)
        try slow.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01]))
        slow.embeddedEventLoop.advanceTime(by: .seconds(11))
        #expect(!slow.isActive)
        let (done, _) = try Self.channel(ConnectionCount(), tls: true)
        done.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        done.embeddedEventLoop.advanceTime(by: .seconds(11))
        #expect(done.isActive)
        _ = try done.finish(acceptAlreadyClosed: true)
    }

    @Test func http2PingsWhileIdleDoNotBeginAHead() throws {
        let (channel, _) = try Self.channel(ConnectionCount(), http1: false)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 8, 6, 0, 0, 0, 0, 0]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(241))
        #expect(!channel.isActive, "idle without a stream for the idle timeout")
    }
}
