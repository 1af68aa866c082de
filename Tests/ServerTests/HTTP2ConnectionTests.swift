import CallCore
import Foundation
@testable import GRPCFrontDoor
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import TestSupport
import Testing
import WasmRPCCore
import WasmRPCProto

/// The HTTP/2 transport's connection handler (`HTTP2Connection`) and its direct calls
/// (`DirectCalls`), frame by frame on an embedded channel: what it answers itself, when, and what
/// it passes on to grpc-swift's streams.
@Suite(.timeLimit(.minutes(5))) struct HTTP2ConnectionTests {
    static let stream = HTTP2StreamID(1)

    /// A connection handler over `core`, on an embedded channel.
    static func channel(_ core: CallCore) throws -> EmbeddedChannel {
        let settings = StreamSettings(direct: DirectCalls(routes: NativeRoutes(core: core)), acceptor: StreamAcceptor(), limits: core.limits)
        return EmbeddedChannel(handler: HTTP2Connection(settings: settings, peer: "ipv4:127.0.0.1:1", windowBytes: 1 << 20))
    }

    static func headers(_ path: String, method: String = "POST", contentType: String = "application/grpc", _ extra: [(String, String)] = [])
        -> HTTP2Frame
    {
        var headers: HPACKHeaders = [":method": method, ":scheme": "http", ":path": path, "content-type": contentType, "te": "trailers"]
        for (name, value) in extra { headers.add(name: name, value: value) }
        return HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers, endStream: false)))
    }

    static func data(_ bytes: [UInt8], end: Bool) -> HTTP2Frame {
        HTTP2Frame(streamID: stream, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: end)))
    }

    /// A gRPC message's five-byte prefix announcing `length` bytes.
    static func prefix(_ length: Int) -> [UInt8] {
        [0, UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }

    static func outbound(_ channel: EmbeddedChannel) throws -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame.payload) }
        return frames
    }

    /// The `grpc-status` of the frames' last HEADERS, if any.
    static func status(_ frames: [HTTP2Frame.FramePayload]) -> String? {
        for frame in frames.reversed() {
            if case .headers(let headers) = frame, let status = headers.headers.first(name: "grpc-status") { return status }
        }
        return nil
    }

    @Test func aCallWithoutTheTokenIsRefusedBeforeItsBody() async throws {
        try await withCallCore(policy: AccessPolicy(token: "s3cret", protectReads: true)) { core in
            let channel = try Self.channel(core)
            // Only the headers of a large Invoke: the answer comes before any of its 30 MB.
            try channel.writeInbound(Self.headers("/wasmrpc.v1.Invoker/Invoke"))
            let frames = try Self.outbound(channel)
            #expect(Self.status(frames) == "16", "\(frames)")
            #expect(frames.contains { if case .rstStream = $0 { true } else { false } }, "the stream is reset: the client stops sending")
            // What the client still had in flight is dropped, not collected.
            try channel.writeInbound(Self.data(Self.prefix(30 << 20) + [UInt8](repeating: 0, count: 16_000), end: false))
            #expect(try Self.outbound(channel).allSatisfy { if case .windowUpdate = $0 { false } else { true } })
            // A native route of a module the core does not know goes to grpc-swift as usual.
            _ = try channel.finish(acceptAlreadyClosed: true)
        }
    }

    @Test func aRequestOverItsOperationsLimitIsRefusedBeforeItsBytes() async throws {
        try await withCallCore(limits: RequestLimits(add: 64 << 20, call: 1 << 10)) { core in
            let channel = try Self.channel(core)
            try channel.writeInbound(Self.headers("/wasmrpc.v1.Invoker/Invoke"))
            #expect(try Self.outbound(channel).isEmpty)
            // Under Add's limit, over a call's: refused from the prefix alone.
            try channel.writeInbound(Self.data(Self.prefix(core.limits.bytes(for: .invoke) + 1), end: false))
            let frames = try Self.outbound(channel)
            #expect(Self.status(frames) == "8", "\(frames)")
            _ = try channel.finish(acceptAlreadyClosed: true)
        }
    }

    @Test func requestsThatAreNotGRPCCallsAreRefused() async throws {
        try await withCallCore { core in
            for (method, contentType, expected) in [("GET", "application/grpc", "405"), ("POST", "text/plain", "415")] {
                let channel = try Self.channel(core)
                try channel.writeInbound(Self.headers("/wasmrpc.v1.Invoker/Invoke", method: method, contentType: contentType))
                let frames = try Self.outbound(channel)
                guard case .headers(let headers)? = frames.first else {
                    Issue.record("no answer to \(method) \(contentType)")
                    continue
                }
                #expect(headers.headers.first(name: ":status") == expected)
                _ = try channel.finish(acceptAlreadyClosed: true)
            }
        }
    }

    @Test func anInvokeOfAWarmModuleIsAnsweredOnTheConnection() async throws {
        try await withCallCore { core in
            let id = try await addWarmComplex(core)
            let request = try Wasmrpc_V1_InvokeRequest.with {
                $0.metadata.id = id.hex
                $0.request.name = "mul"
                $0.request.parameters = try complexRequest((1, 2), (3, 4))
            }.serializedBytes() as [UInt8]
            let channel = try Self.channel(core)
            try channel.writeInbound(Self.headers("/wasmrpc.v1.Invoker/Invoke", [("x-request-id", "h2-test-1")]))
            try channel.writeInbound(Self.data(Self.prefix(request.count) + request, end: true))
            let frames = try Self.outbound(channel)
            #expect(Self.status(frames) == "0", "\(frames)")
            guard case .headers(let headers)? = frames.first, case .data(let data)? = frames.dropFirst().first,
                case .byteBuffer(var buffer) = data.data
            else {
                Issue.record("not headers, a message and trailers: \(frames)")
                return
            }
            #expect(headers.headers.first(name: "x-request-id") == "h2-test-1")
            buffer.moveReaderIndex(forwardBy: 5)
            let response = try Wasmrpc_V1_InvokeResponse(serializedBytes: Array(buffer.readableBytesView))
            #expect(try complexResult(response.response.result) == (-5, 10))
            // A native route nobody defines is not a direct call: it goes on to the stream channels.
            let other = try Self.channel(core)
            try other.writeInbound(HTTP2Frame(streamID: Self.stream, payload: Self.headers("/nobody.Defines/this").payload))
            #expect(try other.readInbound(as: HTTP2Frame.self) != nil)
            _ = try channel.finish(acceptAlreadyClosed: true)
            _ = try other.finish(acceptAlreadyClosed: true)
        }
    }
}

/// The gRPC wire's pieces: message framing, request headers, status messages.
struct GRPCWireTests {
    @Test func messagesAreReadAcrossFramesAndBounded() throws {
        var decoder = GRPCWire.MessageDecoder(maxMessageBytes: 10)
        decoder.append(ByteBuffer(bytes: [0, 0, 0, 0, 3, 7]))
        #expect(try decoder.next() == nil && decoder.hasPartialMessage)
        decoder.append(ByteBuffer(bytes: [8, 9, 0, 0, 0, 0, 0]))
        #expect(try decoder.next() == [7, 8, 9])
        #expect(try decoder.next() == [])
        decoder.append(ByteBuffer(bytes: [0, 0, 0, 0, 11]))
        #expect(throws: CallError.self) { try decoder.next() }
        var compressed = GRPCWire.MessageDecoder(maxMessageBytes: 10)
        compressed.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 0]))
        #expect(throws: CallError.self) { try compressed.next() }
    }

    @Test func requestHeadersAreReadOnce() {
        let headers = GRPCWire.RequestHeaders(
            [":method": "POST", ":path": "/a.B/c", "content-type": "application/grpc+proto", "grpc-timeout": "250m",
             "authorization": "Bearer t", "wasmrpc-module-id": "ab", "wasmrpc-idempotency-key": "k1", "wasmrpc-idempotency-key": "k2"])
        #expect(headers.refusal == nil)
        let call = headers.call
        #expect(call.timeout == .milliseconds(250) && call.authorization == "Bearer t" && call.moduleIDs == ["ab"])
        #expect(call.idempotencyKeys == ["k1", "k2"])
        let compressed = GRPCWire.RequestHeaders([":method": "POST", ":path": "/a.B/c", "content-type": "application/grpc", "grpc-encoding": "gzip"])
        #expect(compressed.refusal?.first(name: "grpc-status") == "12")
        #expect(GRPCWire.percentEncoded("100% é") == "100%25 %C3%A9")
        #expect(GRPCWire.method("/a.B/c")?.fullyQualifiedMethod == "a.B/c" && GRPCWire.method("/nothing") == nil)
    }
}
