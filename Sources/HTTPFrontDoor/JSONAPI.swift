import CallCore
import Foundation
import HTTPTypes
import Hummingbird
import WasmRPCCore
import WasmRPCProto

/// The JSON API of the HTTP listener, under `/v1/` (described by `Web/openapi.yaml`, served at
/// `/openapi.yaml`): the wire API for clients without gRPC, over the same core as the gRPC door
/// (`CallCore`). Registry, log and state requests are the core's operations, their messages
/// written as JSON (`APIModel`); a function call (`POST /v1/modules/{id}/functions/{function}`, or
/// by method path `POST /v1/services/{service}/{method}` as a native gRPC call routes it) reads its
/// input as proto3 JSON (`Content-Type: application/json`), runs the guest, and answers with the
/// output as proto3 JSON, its fuel and transaction in headers.
///
/// Every route of the listener (the API's, the page's and the tiles') goes through one wrapper
/// (`add`): the `Host` and `Origin` check (`OriginPolicy`), the core's access check from the
/// headers (before any body is read), `x-request-id` (the client's, if usable, else a new one),
/// `Cache-Control: private` on answers for token holders only, the error document
/// `{"error": {"code", "status", "message"}}` with the status's name and the HTTP status of
/// `APIStatus`, and the log line and `wasmrpc_http_requests_total` by route and status.
struct JSONAPI: Sendable {
    let core: CallCore
    let origins: OriginPolicy

    static let fuelHeader = HTTPField.Name("wasmrpc-fuel")!
    static let transactionHeader = HTTPField.Name(Wire.transactionHeader)!
    static let transactionSequenceHeader = HTTPField.Name("wasmrpc-transaction-sequence")!
    static let moduleIDHeader = HTTPField.Name(Wire.moduleIDHeader)!
    static let requestIDHeader = HTTPField.Name(CallLog.requestIDHeader)!
    static let idempotencyKeyHeader = HTTPField.Name(Wire.idempotencyKeyHeader)!
    static let replayedHeader = HTTPField.Name(Wire.replayedHeader)!
    static let originHeader = HTTPField.Name("origin")!

    /// The largest body of a function call (its JSON) and of an Add (the form).
    var maxCallBodyBytes: Int { RequestLimits.jsonFactor * core.limits.call }
    var maxAddBodyBytes: Int { core.limits.add }

    /// What a route does, as the core sees it: one operation, or a call of the method its path names.
    enum RouteOperation: Sendable {
        case fixed(CallOperation)
        /// `/v1/services/{service}/{method}`.
        case method
    }

    typealias Handler = @Sendable (Request, BasicRequestContext, Call) async throws -> Response

    func register(on router: Router<BasicRequestContext>) {
        add(.get, "/v1/modules", .fixed(.list), router) { request, _, _ in try await list(request) }
        add(.post, "/v1/modules", .fixed(.add), router) { request, _, _ in try await addModule(request) }
        add(.get, "/v1/modules/{id}", .fixed(.get), router) { _, context, _ in try Self.json(try await detail(try Self.moduleID(context))) }
        add(.get, "/v1/modules/{id}/wasm", .fixed(.get), router) { _, context, _ in
            try await download(try Self.moduleID(context), descriptor: false)
        }
        add(.get, "/v1/modules/{id}/descriptor", .fixed(.get), router) { _, context, _ in
            try await download(try Self.moduleID(context), descriptor: true)
        }
        add(.get, "/v1/modules/{id}/functions/{function}/example", .fixed(.get), router) { request, context, _ in
            try await example(try Self.moduleID(context), function: try Self.parameter("function", context), request)
        }
        add(.post, "/v1/modules/{id}/functions/{function}", .fixed(.invoke), router) { request, context, call in
            let target = CallTarget(module: try Self.moduleID(context), function: try Self.parameter("function", context))
            return try await self.call(target, call, request)
        }
        add(.post, "/v1/services/{service}/{method}", .method, router) { request, context, call in
            let path = try Self.parameter("service", context) + "/" + Self.parameter("method", context)
            let target: CallTarget
            do {
                target = try core.target(method: path, for: call)
            } catch let error as CallError where error.status == .unimplemented {
                // gRPC's answer to an unknown method; here it is an unknown resource.
                throw CallError(.notFound, error.message)
            }
            var response = try await self.call(target, call, request)
            response.headers[Self.moduleIDHeader] = target.module.hex
            return response
        }
        registerLog(on: router)
        registerState(on: router)
    }

    /// Registers `handler` for `method template`, wrapped as the type's documentation says.
    /// Every route of the HTTP listener is registered this way.
    func add(
        _ method: HTTPRequest.Method, _ template: String, _ operation: RouteOperation, _ router: Router<BasicRequestContext>,
        _ handler: @escaping Handler
    ) {
        let label = "\(method) \(template)"
        router.on(RouterPath(template), method: method) { (request: Request, context: BasicRequestContext) async -> Response in
            let call = core.begin(Self.operation(operation, context), CallHeaders(request.headers), peer: "")
            var response: Response
            var failure: CallError?
            do {
                if let problem = origins.problem(host: request.head.authority, origin: request.headers[Self.originHeader]) {
                    throw CallError(.permissionDenied, problem)
                }
                try call.admit()
                response = try await handler(request, context, call)
            } catch let error as HTTPRefusal {
                failure = error.error
                response = Self.error(error.error, status: error.status)
            } catch let error as AnswerAfterCommit {
                failure = error.error
                response = Self.error(error.error)
                response.headers[Self.transactionHeader] = error.transaction.id
                response.headers[Self.transactionSequenceHeader] = String(error.transaction.sequence)
            } catch {
                let mapped = CallError(for: error)
                failure = mapped
                response = Self.error(mapped)
            }
            response.headers[Self.requestIDHeader] = call.requestID
            if core.policy.isProtected(call.operation) { Self.keepPrivate(&response.headers) }
            core.finished(call, route: label, status: response.status.code, error: failure)
            return response
        }
    }

    /// The operation of a request of a route.
    private static func operation(_ operation: RouteOperation, _ context: BasicRequestContext) -> CallOperation {
        switch operation {
        case .fixed(let operation): return operation
        case .method:
            // A path that does not decode is refused by the handler; the access rule is a call's.
            let service = try? parameter("service", context)
            let method = try? parameter("method", context)
            return .call("\(service ?? "")/\(method ?? "")")
        }
    }

    /// Marks an answer for token holders only: no shared cache (a proxy, a CDN) may keep it.
    static func keepPrivate(_ headers: inout HTTPFields) {
        if let cache = headers[.cacheControl], cache.contains("public") {
            headers[.cacheControl] = cache.replacingOccurrences(of: "public", with: "private")
        } else if let cache = headers[.cacheControl] {
            headers[.cacheControl] = "private, " + cache
        } else {
            headers[.cacheControl] = "private"
        }
    }

    /// Answers requests that no route takes, once every route is registered (router middleware
    /// added then wraps only the not-found answer): under `/v1/` with the error document, a
    /// request id, a log line and the metric (route `unmatched`).
    func registerNotFound(on router: Router<BasicRequestContext>) {
        router.add(middleware: NotFound(core: core))
    }

    private struct NotFound: RouterMiddleware {
        let core: CallCore

        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as HTTPError where error.status == .notFound && request.uri.path.hasPrefix("/v1/") {
                let call = core.begin(.page, CallHeaders(requestID: request.headers[JSONAPI.requestIDHeader]), peer: "")
                let failure = CallError(.notFound, "no \(request.method) \(EchoedText.quote(request.uri.path)) in this API (see /openapi.yaml)")
                var response = JSONAPI.error(failure)
                response.headers[JSONAPI.requestIDHeader] = call.requestID
                core.finished(call, route: "unmatched", status: 404, error: failure)
                return response
            }
        }
    }
}

extension CallHeaders {
    /// The headers the core reads, from an HTTP request's.
    init(_ fields: HTTPFields) {
        self.init(
            authorization: fields[.authorization], requestID: fields[JSONAPI.requestIDHeader],
            moduleIDs: fields[values: JSONAPI.moduleIDHeader], idempotencyKeys: fields[values: JSONAPI.idempotencyKeyHeader])
    }
}
