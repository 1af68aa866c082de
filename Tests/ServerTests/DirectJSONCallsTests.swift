import CallCore
import Foundation
import HTTPTypes
import ListenerLimits
@testable import HTTPFrontDoor
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import TestSupport
import Testing
import WasmRPCCore

/// The HTTP listener's event-loop fast path (`DirectJSONCalls`), part by part on an embedded
/// channel: the calls it answers itself, and everything it hands to Hummingbird unchanged.
@Suite(.timeLimit(.minutes(5))) struct DirectJSONCallsTests {
    static let body = #"{"a":{"real":1,"imag":2},"b":{"real":3,"imag":4}}"#

    static func channel(_ core: CallCore, origins: OriginPolicy = OriginPolicy()) -> EmbeddedChannel {
        EmbeddedChannel(handler: DirectJSONCalls(api: JSONAPI(core: core, origins: origins)))
    }

    static func request(_ path: String, _ fields: [(HTTPField.Name, String)]) -> HTTPRequest {
        var headers = HTTPFields()
        for (name, value) in fields { headers[name] = value }
        return HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1:8080", path: path, headerFields: headers)
    }

    /// Sends a whole request; what came out towards the client, and what went on to Hummingbird.
    static func send(_ channel: EmbeddedChannel, _ head: HTTPRequest, body: String = body) throws -> (out: [HTTPResponsePart], on: [HTTPRequestPart]) {
        try channel.writeInbound(HTTPRequestPart.head(head))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body)))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        var out: [HTTPResponsePart] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) { out.append(part) }
        var on: [HTTPRequestPart] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { on.append(part) }
        return (out, on)
    }

    @Test func aWarmCallIsAnsweredOnTheEventLoop() async throws {
        try await withCallCore { core in
            let id = try await addWarmComplex(core)
            let channel = Self.channel(core)
            let (out, on) = try Self.send(
                channel,
                Self.request("/v1/modules/\(id.hex)/functions/mul", [(.contentType, "application/json"), (JSONAPI.requestIDHeader, "json-1")]))
            #expect(on.isEmpty, "\(on)")
            guard case .head(let head)? = out.first, case .body(let body)? = out.dropFirst().first else {
                Issue.record("no answer: \(out)")
                return
            }
            #expect(head.status == .ok && head.headerFields[JSONAPI.requestIDHeader] == "json-1")
            #expect(String(buffer: body) == #"{"result":{"real":-5.0,"imag":10.0}}"#)
            // By method path: the answer names the module.
            let (byPath, _) = try Self.send(channel, Self.request("/v1/services/complex.Calculator/mul", [(.contentType, "application/json")]))
            guard case .head(let pathHead)? = byPath.first else {
                Issue.record("no answer by path: \(byPath) \(String(describing: try? channel.readInbound(as: HTTPRequestPart.self)))")
                return
            }
            #expect(pathHead.headerFields[JSONAPI.moduleIDHeader] == id.hex)
            _ = try channel.finish()
        }
    }

    @Test func whatItMayNotAnswerGoesOnUnchanged() async throws {
        try await withCallCore(policy: AccessPolicy(token: "s3cret", protectReads: true)) { core in
            let id = try await addWarmComplex(core)
            let path = "/v1/modules/\(id.hex)/functions/mul"
            let cases: [(String, [(HTTPField.Name, String)])] = [
                ("no token", [(.contentType, "application/json")]),
                ("not JSON", [(.contentType, "text/plain"), (.authorization, "Bearer s3cret")]),
                ("another site's page", [(.contentType, "application/json"), (.authorization, "Bearer s3cret"), (JSONAPI.originHeader, "http://evil.example")]),
            ]
            for (what, fields) in cases {
                let channel = Self.channel(core)
                let (out, on) = try Self.send(channel, Self.request(path, fields))
                #expect(out.isEmpty, "\(what): \(out)")
                guard case .head(let head)? = on.first, case .end = on.last else {
                    Issue.record("\(what) did not go on whole: \(on)")
                    continue
                }
                #expect(head.path == path, "\(what)")
                _ = try channel.finish()
            }
        }
    }

    @Test func expectContinueIsAnswered() async throws {
        try await withCallCore { core in
            let channel = Self.channel(core)
            try channel.writeInbound(HTTPRequestPart.head(Self.request("/v1/modules", [(.expect, "100-continue")])))
            guard case .head(let head)? = try channel.readOutbound(as: HTTPResponsePart.self) else {
                Issue.record("no 100 Continue")
                return
            }
            #expect(head.status == .continue)
            #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)
            _ = try channel.finish()
        }
    }
}

/// What `DirectJSONCalls` tells the connection's guard.
@Suite(.timeLimit(.minutes(5))) struct DirectJSONCallsGuardTests {
    @Test func aBodyThatComesAfterItsAnswerCannotHoldTheConnection() async throws {
        try await withCallCore { core in
            var limits = ListenerLimits()
            limits.idleTimeout = .seconds(300)
            let channel = EmbeddedChannel()
            // As in the listener: the guard is put in front once the rest of the pipeline is built.
            try channel.pipeline.syncOperations.addHandler(DirectJSONCalls(api: JSONAPI(core: core, origins: OriginPolicy())))
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(limits: limits, connections: ConnectionCount(), tls: false, bytesBeginRequests: true), position: .first)
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
            var head = HTTPRequest(method: .get, scheme: nil, authority: "127.0.0.1", path: "/")
            head.headerFields[.contentLength] = "1"
            try channel.writeInbound(HTTPRequestPart.head(head))
            // The router answers at once (the page), before the body came.
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "x")))
            try channel.writeInbound(HTTPRequestPart.end(nil))
            channel.embeddedEventLoop.advanceTime(by: .seconds(301))
            #expect(!channel.isActive, "an answered connection is idle, whatever came after")
        }
    }
}

/// Which hosts and origins the HTTP listener serves.
struct OriginPolicyTests {
    @Test func hostsAndOrigins() {
        let own = OriginPolicy()
        #expect(own.problem(host: "127.0.0.1:8080", origin: nil) == nil)
        #expect(own.problem(host: "localhost:8080", origin: "http://localhost:8080") == nil)
        #expect(own.problem(host: "[::1]:8080", origin: nil) == nil)
        #expect(own.problem(host: nil, origin: nil) == nil)
        #expect(own.problem(host: "attacker.example:8080", origin: nil) != nil)
        #expect(own.problem(host: "attacker.example:8080", origin: "http://attacker.example:8080") != nil)
        #expect(own.problem(host: "127.0.0.1:8080", origin: "http://evil.example") != nil)
        #expect(own.problem(host: "127.0.0.1:8080", origin: "null") != nil)
        #expect(own.problem(host: "127.0.0.1:8080", origin: "http://127.0.0.1:8081") != nil)
        #expect(own.problem(host: "999.0.0.1:8080", origin: nil) != nil)
        let allowed = OriginPolicy(allowedOrigins: ["https://Explorer.example"])
        #expect(allowed.problem(host: "explorer.example", origin: "https://explorer.example") == nil)
        #expect(allowed.problem(host: "127.0.0.1:1", origin: "https://explorer.example") == nil)
        #expect(allowed.problem(host: "other.example", origin: nil) != nil)
        let any = OriginPolicy(allowedOrigins: ["*"])
        #expect(any.problem(host: "anything", origin: "http://anywhere") == nil)
    }
}
