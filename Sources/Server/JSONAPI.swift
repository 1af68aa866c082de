import ContentStore
import DynamicProto
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import ModuleRuntime
import NIOCore
import SwiftProtobuf
import WasmRPCCore
import WasmRPCProto

/// The JSON API of the HTTP listener, under `/v1/` (described by `Web/openapi.yaml`, served at
/// `/openapi.yaml`): the wire API for clients without gRPC. Registry, log and state requests run
/// the same service code as their gRPC methods; a function call (`POST
/// /v1/modules/{id}/functions/{function}`, or by method path `POST /v1/services/{service}/{method}`
/// as a native gRPC call routes it) reads its input as proto3 JSON, runs the guest in the runtime
/// directly, and answers with the output as proto3 JSON, its fuel and transaction in headers.
///
/// Every answer of the listener (the API's, the page's and the tiles', through `add`) carries
/// `x-request-id` (the client's, if usable, else a new one); every request is counted in
/// `wasmrpc_http_requests_total` by route and status and logged like a gRPC call (`CallLog`); errors are `{"error": {"code", "status", "message"}}` with the gRPC status name and
/// message, and the HTTP status of `APIStatus`. Access follows the gRPC method each route stands
/// for (`AccessPolicy`).
struct JSONAPI: Sendable {
    let runtime: ModuleRuntime
    let registry: RegistryService
    let logService: LogService
    let state: StateService
    let routes: NativeRoutes
    let callLog: CallLog
    let policy: AccessPolicy
    /// The largest request body of a function call (its JSON) and of an Add (the form).
    let maxCallBodyBytes: Int
    let maxAddBodyBytes: Int

    static let fuelHeader = HTTPField.Name("wasmrpc-fuel")!
    static let transactionHeader = HTTPField.Name(Wire.transactionHeader)!
    static let transactionSequenceHeader = HTTPField.Name("wasmrpc-transaction-sequence")!
    static let moduleIDHeader = HTTPField.Name(Wire.moduleIDHeader)!
    static let requestIDHeader = HTTPField.Name(CallLog.requestIDHeader)!
    static let idempotencyKeyHeader = HTTPField.Name(Wire.idempotencyKeyHeader)!
    static let replayedHeader = HTTPField.Name(Wire.replayedHeader)!

    /// A route: its method and template (the metrics label), and the gRPC method whose access rule it follows.
    private struct Route {
        let method: HTTPRequest.Method
        let template: String
        let grpcMethod: String?
        var label: String { "\(method) \(template)" }
    }

    func register(on router: Router<BasicRequestContext>) {
        add(.get, "/v1/modules", "wasmrpc.v1.Registry/List", router) { request, _ in try await list(request) }
        add(.post, "/v1/modules", "wasmrpc.v1.Registry/Add", router) { request, _ in try await addModule(request) }
        add(.get, "/v1/modules/{id}", "wasmrpc.v1.Registry/Get", router) { _, context in
            try await module(try Self.moduleID(context))
        }
        add(.get, "/v1/modules/{id}/wasm", "wasmrpc.v1.Registry/Get", router) { _, context in
            try await download(try Self.moduleID(context), descriptor: false)
        }
        add(.get, "/v1/modules/{id}/descriptor", "wasmrpc.v1.Registry/Get", router) { _, context in
            try await download(try Self.moduleID(context), descriptor: true)
        }
        add(.get, "/v1/modules/{id}/functions/{function}/example", "wasmrpc.v1.Registry/Get", router) { request, context in
            try await example(try Self.moduleID(context), function: try Self.parameter("function", context), request)
        }
        add(.post, "/v1/modules/{id}/functions/{function}", "wasmrpc.v1.Invoker/Invoke", router) { request, context in
            let id = try Self.moduleID(context)
            return try await call(id, function: try Self.parameter("function", context), request)
        }
        add(.post, "/v1/services/{service}/{method}", nil, router) { request, context in
            let path = try Self.parameter("service", context) + "/" + Self.parameter("method", context)
            try policy.check(method: path, authorization: request.headers[.authorization])
            let id: ModuleID
            do {
                id = try routes.provider(of: path, pinned: request.headers[Self.moduleIDHeader])
            } catch let error as RPCError where error.code == .unimplemented {
                // gRPC's answer to an unknown method; here it is an unknown resource.
                throw RPCError(code: .notFound, message: error.message)
            }
            var response = try await call(id, function: path, request)
            response.headers[Self.moduleIDHeader] = id.hex
            return response
        }
        add(.get, "/v1/log/checkpoint", "wasmrpc.v1.Log/GetCheckpoint", router) { _, _ in
            let answer = try await logService.getCheckpoint(request: .init(), context: Self.context)
            return try Self.json(APIModel.Checkpoint(checkpoint: answer.checkpoint, verifierKey: answer.verifierKey))
        }
        add(.get, "/v1/log/inclusion", "wasmrpc.v1.Log/GetInclusionProof", router) { request, _ in
            let query = request.uri.queryParameters
            let proofRequest = try Wasmrpc_V1_GetInclusionProofRequest.with {
                if let index = query["leaf_index"] {
                    $0.leafIndex = try Self.number(index, "leaf_index")
                    guard query["module_id"] == nil else {
                        throw RPCError(code: .invalidArgument, message: "name a leaf_index or a module_id, not both")
                    }
                } else if let id = query["module_id"] {
                    $0.moduleID = String(id)
                }
                $0.treeSize = try query["tree_size"].map { try Self.number($0, "tree_size") } ?? 0
            }
            let proof = try await logService.getInclusionProof(request: proofRequest, context: Self.context)
            return try Self.json(APIModel.InclusionProof(leafIndex: proof.leafIndex, treeSize: proof.treeSize, leaf: proof.leaf, hashes: proof.hashes))
        }
        add(.get, "/v1/log/consistency", "wasmrpc.v1.Log/GetConsistencyProof", router) { request, _ in
            let query = request.uri.queryParameters
            let proofRequest = try Wasmrpc_V1_GetConsistencyProofRequest.with {
                $0.first = try Self.number(query["first"] ?? "", "first")
                $0.second = try query["second"].map { try Self.number($0, "second") } ?? 0
            }
            let proof = try await logService.getConsistencyProof(request: proofRequest, context: Self.context)
            return try Self.json(
                APIModel.ConsistencyProof(
                    first: proof.first, second: proof.second, hashes: proof.hashes, firstRoot: proof.firstRoot, secondRoot: proof.secondRoot))
        }
        add(.get, "/v1/log/entries", "wasmrpc.v1.Log/GetEntries", router) { request, _ in
            let query = request.uri.queryParameters
            let entriesRequest = try Wasmrpc_V1_GetEntriesRequest.with {
                $0.start = try query["start"].map { try Self.number($0, "start") } ?? 0
                $0.count = try query["count"].map { try Self.number($0, "count", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let entries = try await logService.getEntries(request: entriesRequest, context: Self.context)
            return try Self.json(APIModel.Entries(start: entriesRequest.start, leaves: entries.leaves))
        }
        add(.get, "/v1/modules/{id}/state", "wasmrpc.v1.State/Range", router) { request, context in
            let query = request.uri.queryParameters
            let rangeRequest = try Wasmrpc_V1_RangeStateRequest.with {
                $0.moduleID = try Self.moduleID(context).hex
                $0.startKey = try query["start_key"].map { try Self.bytes($0, "start_key") } ?? Data()
                $0.endKey = try query["end_key"].map { try Self.bytes($0, "end_key") } ?? Data()
                $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let range = try await state.range(request: rangeRequest, context: Self.context)
            return try Self.json(
                APIModel.StateRange(entries: range.entries.map { APIModel.StateEntry(key: $0.key, value: $0.value) }, more: range.more))
        }
        add(.get, "/v1/modules/{id}/transactions", "wasmrpc.v1.State/ListTransactions", router) { request, context in
            let query = request.uri.queryParameters
            let listRequest = try Wasmrpc_V1_ListTransactionsRequest.with {
                $0.moduleID = try Self.moduleID(context).hex
                $0.afterSequence = try query["after_sequence"].map { try Self.number($0, "after_sequence") } ?? 0
                $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            }
            let page = try await state.listTransactions(request: listRequest, context: Self.context)
            return try Self.json(APIModel.TransactionList(transactions: page.transactions.map(APIModel.Transaction.init), more: page.more))
        }
        add(.get, "/v1/transactions/{id}", "wasmrpc.v1.State/GetTransaction", router) { _, context in
            let answer = try await state.getTransaction(
                request: .with { $0.id = (try? Self.parameter("id", context)) ?? "" }, context: Self.context)
            return try Self.json(
                APIModel.TransactionWithReceipt(transaction: APIModel.Transaction(answer.transaction), receipt: APIModel.LogReceipt(answer.receipt)))
        }
    }

    /// Answers requests that no route takes, once every route is registered (router middleware
    /// added then wraps only the not-found answer): under `/v1/` with the error document, a
    /// request id, a log line and the metric (route `unmatched`).
    func registerNotFound(on router: Router<BasicRequestContext>) {
        router.add(middleware: NotFound(callLog: callLog))
    }

    private struct NotFound: RouterMiddleware {
        let callLog: CallLog

        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as HTTPError where error.status == .notFound && request.uri.path.hasPrefix("/v1/") {
                let started = ContinuousClock.now
                let requestID = CallLog.requestID(given: request.headers[JSONAPI.requestIDHeader])
                let failure = RPCError(
                    code: .notFound, message: "no \(request.method) \(EchoedText.quote(request.uri.path)) in this API (see /openapi.yaml)")
                var response = JSONAPI.error(failure)
                response.headers[JSONAPI.requestIDHeader] = requestID
                callLog.finishedHTTP(route: "unmatched", requestID: requestID, status: 404, started: started, error: failure)
                return response
            }
        }
    }

    /// Registers `handler` for `method template`, wrapped in the access check (for routes that
    /// stand for one gRPC method), the request id, the error document (for what it throws), the log
    /// line and the metric. Every route of the HTTP listener is registered this way.
    func add(
        _ method: HTTPRequest.Method, _ template: String, _ grpcMethod: String?, _ router: Router<BasicRequestContext>,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        let route = Route(method: method, template: template, grpcMethod: grpcMethod)
        router.on(RouterPath(template), method: method) { (request: Request, context: BasicRequestContext) async -> Response in
            let started = ContinuousClock.now
            let requestID = CallLog.requestID(given: request.headers[Self.requestIDHeader])
            var response: Response
            var failure: RPCError?
            do {
                if let grpcMethod = route.grpcMethod {
                    try policy.check(method: grpcMethod, authorization: request.headers[.authorization])
                }
                response = try await handler(request, context)
            } catch let error as BodyTooLarge {
                failure = error.error
                response = Self.error(error.error, status: 413)
            } catch let error as AnswerAfterCommit {
                failure = error.error
                response = Self.error(error.error)
                response.headers[Self.transactionHeader] = error.transaction.id
                response.headers[Self.transactionSequenceHeader] = String(error.transaction.sequence)
            } catch {
                let mapped = StatusMapping.rpcError(for: error)
                failure = mapped
                response = Self.error(mapped)
            }
            response.headers[Self.requestIDHeader] = requestID
            callLog.finishedHTTP(route: route.label, requestID: requestID, status: response.status.code, started: started, error: failure)
            return response
        }
    }

    // MARK: - Registry

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let listRequest = try Wasmrpc_V1_ListRequest.with {
            $0.pageSize = try query["page_size"].map { try Self.number($0, "page_size", max: UInt64(UInt32.max)) }.map(UInt32.init) ?? 0
            $0.pageToken = query["page_token"].map(String.init) ?? ""
        }
        let page = try await registry.list(request: listRequest, context: Self.context)
        return try Self.json(APIModel.ModuleList(modules: page.modules.map(APIModel.Module.init), nextPageToken: page.nextPageToken))
    }

    /// A module with its functions' message schemas and its log receipt.
    private func module(_ id: ModuleID) async throws -> Response {
        try Self.json(try await detail(id, metadata: nil))
    }

    private func detail(_ id: ModuleID, metadata given: (Wasmrpc_V1_Metadata, Wasmrpc_V1_LogReceipt)?) async throws -> APIModel.Module {
        let (metadata, receipt): (Wasmrpc_V1_Metadata, Wasmrpc_V1_LogReceipt)
        if let given {
            (metadata, receipt) = given
        } else {
            let answer = try await registry.get(request: .with { $0.id = id.hex; $0.metadataOnly = true }, context: Self.context)
            (metadata, receipt) = (answer.metadata, answer.receipt)
        }
        let interface = try await runtime.interface(of: id)
        var module = APIModel.Module(metadata)
        module.schemas = interface.pool.jsonSchemas(of: interface.functions.flatMap { [$0.input, $0.output] })
        module.receipt = APIModel.LogReceipt(receipt)
        return module
    }

    /// The module's bytes, or its descriptor set, as stored (the id verified).
    private func download(_ id: ModuleID, descriptor: Bool) async throws -> Response {
        let answer = try await registry.get(request: .with { $0.id = id.hex; $0.metadataOnly = descriptor }, context: Self.context)
        var headers = HTTPFields()
        headers[.contentType] = descriptor ? "application/x-protobuf" : "application/wasm"
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        let bytes = descriptor ? try answer.metadata.descriptor.serializedBytes() : Array(answer.wasm)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Add from a `multipart/form-data` form: `wasm` (required), `descriptor` (a serialized
    /// FileDescriptorSet; without it the module's embedded one) and `name`. 201 when the module is
    /// new, 200 when it was stored already.
    private func addModule(_ request: Request) async throws -> Response {
        var request = request
        let body = try await Self.collect(&request, upTo: maxAddBodyBytes)
        let parts = try MultipartForm.parse(Array(buffer: body), contentType: request.headers[.contentType])
        guard let wasm = parts["wasm"] else {
            throw RPCError(code: .invalidArgument, message: "the form has no `wasm` part (the module's bytes)")
        }
        let addRequest = try Wasmrpc_V1_AddRequest.with {
            $0.wasm = Data(wasm)
            $0.name = String(decoding: parts["name"] ?? [], as: UTF8.self)
            if let descriptor = parts["descriptor"], !descriptor.isEmpty {
                do {
                    $0.descriptor = try Google_Protobuf_FileDescriptorSet(serializedBytes: descriptor)
                } catch {
                    throw RPCError(code: .invalidArgument, message: "the `descriptor` part is not a serialized FileDescriptorSet: \(error)")
                }
            }
        }
        let added = try await registry.add(request: addRequest, context: Self.context)
        let id = try RegistryService.moduleID(added.metadata.id)
        let module = try await detail(id, metadata: (added.metadata, added.receipt))
        return try Self.json(APIModel.Added(created: added.created, module: module), status: added.created ? .created : .ok)
    }

    /// A random valid request of `function` (the same generator as `wasmrpc invoke --random`),
    /// as proto3 JSON; `seed` makes it repeatable.
    private func example(_ id: ModuleID, function name: String, _ request: Request) async throws -> Response {
        let interface = try await runtime.interface(of: id)
        let function = try interface.resolve(name)
        let seed = try request.uri.queryParameters["seed"].map { try Self.number($0, "seed") } ?? UInt64.random(in: 0 ... .max)
        var generator = SeededRandom(seed: seed)
        let message = DynamicMessage.random(type: function.input, pool: interface.pool, using: &generator)
        return Self.jsonText(try message.jsonString())
    }

    // MARK: - Calls

    /// Runs `function` of module `id` with the request's body (proto3 JSON of its input; empty
    /// means `{}`): on the handler's thread when the runtime can run it at once
    /// (`ModuleRuntime.invokeNow`: a loaded module whose recent calls were short and a free inline
    /// slot), else on a worker.
    private func call(_ id: ModuleID, function name: String, _ request: Request) async throws -> Response {
        var request = request
        let started = ContinuousClock.now
        let key = try IdempotencyKey.fromHeader(request.headers[Self.idempotencyKeyHeader])
        let body = try await Self.collect(&request, upTo: maxCallBodyBytes)
        let invocation: Invocation
        let interface: ModuleInterface
        do {
            let ready = runtime.readyFunction(name, of: id)
            if let ready { interface = ready.interface } else { interface = try await runtime.interface(of: id) }
            let function = try ready?.function ?? interface.resolve(name)
            let input = try Self.input(body, of: function, in: interface)
            if let ready, let now = try runtime.invokeNow(ready, typeURL: "", parameters: input, deadline: nil) {
                invocation = now
            } else {
                invocation = try await runtime.invoke(module: id, function: name, typeURL: "", parameters: input, idempotencyKey: key)
            }
        } catch {
            InvokerService.count(module: id, function: name, .failure(error), started: started, runtime: runtime, metrics: callLog.metrics)
            throw error
        }
        InvokerService.count(module: id, function: name, .success(invocation), started: started, runtime: runtime, metrics: callLog.metrics)
        let headers: HTTPFields
        let output: ByteBuffer
        do {
            (headers, output) = try Self.answer(invocation, in: interface)
        } catch {
            guard let transaction = invocation.transaction?.record else { throw error }
            // Committed: the error answer must say so.
            throw AnswerAfterCommit(
                error: RPCError(
                    code: .internalError,
                    message: "transaction \(transaction.id) committed, but its output cannot be written as proto3 JSON: \(error)"),
                transaction: transaction)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: output))
    }

    /// A call's input: the body as proto3 JSON of the function's input type (empty means `{}`),
    /// in protobuf binary.
    static func input(_ body: ByteBuffer, of function: DynamicProto.MethodDescriptor, in interface: ModuleInterface) throws(RPCError) -> [UInt8] {
        let text = body.readableBytes == 0 ? "{}" : String(buffer: body)
        do {
            return try DynamicMessage(jsonString: text, type: function.input, pool: interface.pool).serializedBytes()
        } catch {
            throw RPCError(code: .invalidArgument, message: "the body is not a JSON \(interface.pool[function.input].fullName): \(error.message)")
        }
    }

    /// A call's answer: the output as proto3 JSON, with its fuel and transaction in headers.
    static func answer(_ invocation: Invocation, in interface: ModuleInterface) throws -> (HTTPFields, ByteBuffer) {
        let output = try DynamicMessage(serializedBytes: invocation.output, type: invocation.function.output, pool: interface.pool)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[Self.fuelHeader] = String(invocation.fuelUsed)
        if let transaction = invocation.transaction {
            headers[Self.transactionHeader] = transaction.record.id
            headers[Self.transactionSequenceHeader] = String(transaction.record.sequence)
        }
        if invocation.replayed { headers[Self.replayedHeader] = "true" }
        return (headers, ByteBuffer(string: try output.jsonString()))
    }

    // MARK: - Helpers

    /// The context the gRPC service code gets (none of it reads the context).
    private static var context: ServerContext {
        ServerContext(
            descriptor: GRPCCore.MethodDescriptor(fullyQualifiedService: "wasmrpc.v1.http", method: "request"), remotePeer: "http",
            localPeer: "http", cancellation: .init())
    }

    private static func collect(_ request: inout Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw BodyTooLarge(error: RPCError(code: .resourceExhausted, message: "the request body is larger than the \(limit) bytes allowed"))
        }
    }

    /// A body over the limit: RESOURCE_EXHAUSTED, as gRPC says it, with HTTP's own status 413.
    private struct BodyTooLarge: Error {
        let error: RPCError
    }

    /// A call whose transaction committed but whose answer cannot be made: its error answer names
    /// the transaction.
    private struct AnswerAfterCommit: Error {
        let error: RPCError
        let transaction: TransactionRecord
    }

    static func parameter(_ name: String, _ context: BasicRequestContext) throws(RPCError) -> String {
        guard let raw = context.parameters.get(name), let text = raw.removingPercentEncoding else {
            throw RPCError(code: .invalidArgument, message: "the path's \(name) is not valid percent-encoded text")
        }
        return text
    }

    static func moduleID(_ context: BasicRequestContext) throws(RPCError) -> ModuleID {
        try RegistryService.moduleID(try parameter("id", context))
    }

    /// A decimal query parameter from 0 to `max`.
    static func number(_ text: Substring, _ name: String, max: UInt64 = UInt64(Int64.max)) throws(RPCError) -> UInt64 {
        guard let value = UInt64(text), value <= max, text.allSatisfy(\.isASCII) else {
            throw RPCError(code: .invalidArgument, message: "\(name) must be a whole number from 0 to \(max), not \(EchoedText.quote(String(text)))")
        }
        return value
    }

    /// A base64 (standard or URL-safe, padding optional) query parameter.
    static func bytes(_ text: Substring, _ name: String) throws(RPCError) -> Data {
        var standard = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: standard) else {
            throw RPCError(code: .invalidArgument, message: "\(name) must be base64, not \(EchoedText.quote(String(text)))")
        }
        return data
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APIModel.encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func jsonText(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The error document of `error`, with its HTTP status.
    static func error(_ error: RPCError, status override: Int? = nil) -> Response {
        let (status, headers, body) = errorParts(error, status: override)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
    }

    static func errorParts(_ error: RPCError, status override: Int? = nil) -> (status: Int, headers: HTTPFields, body: ByteBuffer) {
        var (status, name) = APIStatus.http(error.code)
        status = override ?? status
        let document = APIModel.ErrorDocument(error: .init(code: status, status: name, message: error.message))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = (try? APIModel.encoder.encode(document)) ?? Data("{}".utf8)
        return (status, headers, ByteBuffer(bytes: data))
    }
}

/// gRPC status codes as HTTP statuses and names, the usual way (as google.rpc.Code documents and
/// grpc-gateway maps them).
enum APIStatus {
    static func http(_ code: RPCError.Code) -> (status: Int, name: String) {
        switch code {
        case .cancelled: (499, "CANCELLED")
        case .invalidArgument: (400, "INVALID_ARGUMENT")
        case .deadlineExceeded: (504, "DEADLINE_EXCEEDED")
        case .notFound: (404, "NOT_FOUND")
        case .alreadyExists: (409, "ALREADY_EXISTS")
        case .permissionDenied: (403, "PERMISSION_DENIED")
        case .resourceExhausted: (429, "RESOURCE_EXHAUSTED")
        case .failedPrecondition: (400, "FAILED_PRECONDITION")
        case .aborted: (409, "ABORTED")
        case .outOfRange: (400, "OUT_OF_RANGE")
        case .unimplemented: (501, "UNIMPLEMENTED")
        case .unavailable: (503, "UNAVAILABLE")
        case .dataLoss: (500, "DATA_LOSS")
        case .unauthenticated: (401, "UNAUTHENTICATED")
        case .internalError: (500, "INTERNAL")
        default: (500, "UNKNOWN")
        }
    }
}
