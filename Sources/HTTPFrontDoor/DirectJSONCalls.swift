import CallCore
import Foundation
import HTTPTypes
import ListenerLimits
import ModuleRuntime
import NIOCore
import NIOHTTPTypes
import Synchronization
import WasmRPCCore

/// Function calls of the JSON API answered on the event loop that read them, as `DirectCalls`
/// answers gRPC calls: a handler in each HTTP/1.1 connection's pipeline, in front of Hummingbird's
/// (which runs every request in a Swift task, two thread hops per request). It takes a `POST
/// /v1/modules/{id}/functions/{function}` or `POST /v1/services/{service}/{method}` of a loaded
/// module that the core admits (`CallCore.begin`) and `JSONAPI`'s checks allow (`Host`, `Origin`,
/// `Content-Type`), reads its body, and if the runtime can run the guest at once
/// (`CallCore.runNow`) answers right there, counted and logged through the core as `JSONAPI`
/// does. Everything else (other requests, a call refused or that must wait for an instance or a
/// worker, a body that is not valid JSON of the input or is over the limit, a request with a
/// `Connection` or `Expect` header) goes on to Hummingbird unchanged, which answers it the same way more slowly. While
/// Hummingbird has a request of the connection, later ones go to it too, so that answers keep the
/// requests' order. It also answers `Expect: 100-continue` with `100 Continue`, for every request.
final class DirectJSONCalls: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let api: JSONAPI
    /// Requests passed on to Hummingbird whose answer has not ended.
    private var passedOn = 0
    /// The connection's guard, told when requests are under way.
    private var connectionGuard: ConnectionGuard?
    private var lookedForGuard = false
    /// Requests whose head arrived and whose answer has not ended.
    private var inFlight = 0
    /// The call whose body is being read.
    private var reading: Pending?

    private struct Pending {
        let head: HTTPRequest
        let route: String
        let call: Call
        let target: CallTarget
        let ready: ReadyFunction
        /// Whether the answer names the module (a call by method path).
        let namesModule: Bool
        var body: ByteBuffer
    }

    init(api: JSONAPI) {
        self.api = api
    }

    /// The connection's guard: added after this handler (it goes right after TLS, once the
    /// pipeline is built), so looked up with the first request.
    private func findGuard(_ context: ChannelHandlerContext) {
        guard !lookedForGuard else { return }
        lookedForGuard = true
        connectionGuard = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head:
            findGuard(context)
            inFlight += 1
            connectionGuard?.busy(reading: true)
        case .end:
            // Still to be answered (an early answer, a refusal say, may have gone already).
            if inFlight > 0 { connectionGuard?.busy(reading: false) }
        case .body:
            break
        }
        if var call = reading {
            switch part {
            case .body(var buffer):
                guard call.body.readableBytes + buffer.readableBytes <= api.maxCallBodyBytes else {
                    // Hummingbird answers 413.
                    reading = nil
                    passOn(call, context: context, ended: false)
                    context.fireChannelRead(data)
                    return
                }
                call.body.writeBuffer(&buffer)
                reading = call
            case .end:
                reading = nil
                answer(call, context: context)
            case .head:
                reading = nil
                passOn(call, context: context, ended: false)
                passedOn += 1
                context.fireChannelRead(data)
            }
            return
        }
        if case .head(let head) = part {
            if head.headerFields[.expect]?.lowercased() == "100-continue", mayContinue(head) {
                // The client waits for this before it sends the body (curl does for bodies over
                // 1 KiB, e.g. a module to add), and Hummingbird does not send it. A request that
                // will be refused is not invited to send its body.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            if passedOn == 0, let call = call(head, allocator: context.channel.allocator) {
                reading = call
                return
            }
            passedOn += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            passedOn = max(0, passedOn - 1)
            answered()
        }
        context.write(data, promise: promise)
    }

    /// An answer ended: the connection is idle once every request has its answer.
    private func answered() {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0 { connectionGuard?.idle() }
    }

    /// Whether a request that asks before sending its body may send it: an Add or a call that the
    /// `Host`, `Origin`, `Content-Type` and token rules let through (no other route takes a body).
    private func mayContinue(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, let path = head.path,
            api.origins.problem(host: head.authority, origin: head.headerFields[JSONAPI.originHeader]) == nil
        else { return false }
        let parts = path.prefix { $0 != "?" }.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].isEmpty, parts[1] == "v1", parts[2] == "modules" || parts[2] == "services" else { return false }
        let operation: CallOperation
        switch parts.count {
        case 3 where parts[2] == "modules": operation = .add
        case 6 where parts[2] == "modules" && parts[4] == "functions": operation = .invoke
        case 5 where parts[2] == "services": operation = .call("\(parts[3])/\(parts[4])")
        default: return false
        }
        if operation != .add, !JSONAPI.isJSON(head.headerFields[.contentType]) { return false }
        return api.core.begin(operation, CallHeaders(head.headerFields), peer: "").refusal == nil
    }

    /// The call `head` asks for, if this handler may answer it.
    private func call(_ head: HTTPRequest, allocator: ByteBufferAllocator) -> Pending? {
        guard head.method == .post, let path = head.path, !path.contains("?"), !path.contains("%"),
            head.headerFields[.connection] == nil, head.headerFields[.expect] == nil, JSONAPI.isJSON(head.headerFields[.contentType]),
            api.origins.problem(host: head.authority, origin: head.headerFields[JSONAPI.originHeader]) == nil
        else { return nil }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count >= 5, components[0].isEmpty, components[1] == "v1" else { return nil }
        let core = api.core
        let route: String
        let call: Call
        let target: CallTarget
        var namesModule = false
        if components.count == 6, components[2] == "modules", components[4] == "functions", let module = ModuleID(hex: String(components[3])) {
            route = "POST /v1/modules/{id}/functions/{function}"
            call = core.begin(.invoke, CallHeaders(head.headerFields), peer: "")
            target = CallTarget(module: module, function: String(components[5]))
        } else if components.count == 5, components[2] == "services", !components[3].isEmpty, !components[4].isEmpty {
            route = "POST /v1/services/{service}/{method}"
            let method = "\(components[3])/\(components[4])"
            call = core.begin(.call(method), CallHeaders(head.headerFields), peer: "")
            guard call.refusal == nil, let provider = try? core.target(method: method, for: call) else { return nil }
            (target, namesModule) = (provider, true)
        } else {
            return nil
        }
        // A refusal is answered by the API's route.
        guard call.refusal == nil, let ready = core.ready(target), !ready.function.clientStreaming else { return nil }
        return Pending(
            head: head, route: route, call: call, target: target, ready: ready, namesModule: namesModule,
            body: allocator.buffer(capacity: 0))
    }

    /// Runs `call` now and answers it, or passes it on.
    private func answer(_ call: Pending, context: ChannelHandlerContext) {
        let interface = call.ready.interface
        guard let input = try? JSONAPI.input(call.body, of: call.ready.function, in: interface) else {
            // Hummingbird reports what is wrong with the body.
            return passOn(call, context: context)
        }
        guard let result = api.core.runNow(call.call, call.target, ready: call.ready, input: input) else {
            return passOn(call, context: context)
        }
        var status = 200
        var headers: HTTPFields
        var body: ByteBuffer
        var failure: CallError?
        do {
            (headers, body) = try JSONAPI.answer(try result.get(), in: interface)
            if call.namesModule { headers[JSONAPI.moduleIDHeader] = call.target.module.hex }
        } catch {
            let mapped = CallError(for: error)
            failure = mapped
            (status, headers, body) = JSONAPI.errorParts(mapped)
        }
        headers[JSONAPI.requestIDHeader] = call.call.requestID
        if api.core.policy.isProtected(call.call.operation) { JSONAPI.keepPrivate(&headers) }
        headers[.contentLength] = String(body.readableBytes)
        headers[.server] = "wasmrpc"
        headers[.date] = HTTPDate.now()
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: status), headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        answered()
        api.core.finished(call.call, route: call.route, status: status, error: failure)
    }

    /// Hands a call read here on to Hummingbird as it came: its head, the body read so far, and
    /// its end if it `ended` (else the rest follows from the connection).
    private func passOn(_ call: Pending, context: ChannelHandlerContext, ended: Bool = true) {
        passedOn += 1
        context.fireChannelRead(wrapInboundOut(.head(call.head)))
        if call.body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(call.body))) }
        if ended { context.fireChannelRead(wrapInboundOut(.end(nil))) }
    }
}

/// The `Date` header's text (IMF-fixdate, `Mon, 07 Dec 2026 15:04:05 GMT`), as Hummingbird sends it
/// with its answers: formatted at most once a second.
enum HTTPDate {
    private static let latest = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        let second = Int(Date().timeIntervalSince1970)
        if let text = latest.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = format(second)
        latest.withLock { $0 = (second, text) }
        return text
    }

    static func format(_ second: Int) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
