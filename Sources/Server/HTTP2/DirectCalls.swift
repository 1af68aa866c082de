import GRPCCore
import ModuleRuntime
import NIOCore
import NIOHPACK
import SwiftProtobuf
import WasmRPCCore
import WasmRPCProto
import WasmRPCGRPC

/// The unary calls the HTTP/2 transport answers itself, on the event loop that read them, rather
/// than through grpc-swift's server: `Invoker.Invoke`, and the unary native routes of loaded
/// modules. They get the same access check, deadline, limits, status mapping, metrics, log line and
/// response headers as through `InvokerService` and `NativeRoutes`; what they skip is the per-call
/// machinery between the socket and the guest (a task, async sequences and thread hand-offs for
/// each call). The guest runs right there when `ModuleRuntime.invokeNow` can run it at once (a
/// module whose calls are short, with an instance and an inline slot free); otherwise the call
/// goes to the runtime as usual, and its answer comes back to the event loop.
struct DirectCalls: Sendable {
    static let invokeMethod = Wasmrpc_V1_Invoker.Method.Invoke.descriptor.fullyQualifiedMethod

    let routes: NativeRoutes

    /// The direct call a stream's request headers open; nil when grpc-swift serves the stream
    /// (every other method, streaming native routes, and modules not loaded yet, whose first call
    /// loads them there).
    func call(method: Substring, headers: GRPCWire.RequestHeaders, peer: String) -> DirectCall? {
        let target: DirectCall.Target
        if method == Self.invokeMethod {
            target = .invoke
        } else {
            let path = String(method)
            guard routes.answers(path), let id = try? routes.provider(of: path, pinned: headers.moduleID),
                let ready = routes.runtime.readyFunction(path, of: id), !ready.function.clientStreaming, !ready.function.serverStreaming
            else { return nil }
            target = .native(id, ready)
        }
        let method = String(method)
        var refused: RPCError?
        var key: IdempotencyKey?
        do {
            try routes.policy.check(method: method, authorization: headers.authorization)
            key = try IdempotencyKey.fromHeader(values: headers.idempotencyKeys)
        } catch {
            refused = error
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = headers.timeout.flatMap(GRPCTimeout.parse) { deadline = .now + timeout }
        return DirectCall(
            target: target, method: method, requestID: CallLog.requestID(given: headers.requestID), peer: peer, deadline: deadline,
            idempotencyKey: key, refused: refused, routes: routes)
    }
}

/// How a direct call ends: its response headers and message, or its error and the metadata that
/// goes with it in the trailers.
enum DirectOutcome {
    case answer(headers: HPACKHeaders, message: [UInt8])
    case failure(RPCError, trailers: HPACKHeaders)
}

/// One unary call answered by the transport (`DirectCalls`). Used on its stream's event loop only.
final class DirectCall {
    enum Target {
        /// A native route of module `id`, whose function is ready.
        case native(ModuleID, ReadyFunction)
        case invoke
    }

    let target: Target
    /// `package.Service/method`, as logs and metrics name it.
    let method: String
    let requestID: String
    let peer: String
    let deadline: ContinuousClock.Instant?
    let idempotencyKey: IdempotencyKey?
    /// Why the call is refused (the access policy, a malformed header), if it is.
    let refused: RPCError?
    private let routes: NativeRoutes
    private let started = ContinuousClock.now
    /// The call, when it runs in a task rather than on the event loop.
    private var task: Task<Void, Never>?

    fileprivate init(
        target: Target, method: String, requestID: String, peer: String, deadline: ContinuousClock.Instant?,
        idempotencyKey: IdempotencyKey?, refused: RPCError?, routes: NativeRoutes
    ) {
        self.target = target
        self.method = method
        self.requestID = requestID
        self.peer = peer
        self.deadline = deadline
        self.idempotencyKey = idempotencyKey
        self.refused = refused
        self.routes = routes
    }

    /// The call failed before it ran (the request stream was not one message): logged and counted
    /// as a call like any other.
    func fail(_ error: any Error) -> DirectOutcome {
        finish(error: StatusMapping.rpcError(for: error), answer: nil)
    }

    /// Answers `request`: `respond` gets the outcome on `loop`, now or later.
    func answer(_ request: [UInt8], on loop: any EventLoop, respond: @escaping (DirectOutcome) -> Void) {
        if let refused {
            respond(fail(refused))
            return
        }
        let runtime = routes.runtime
        let (deadline, key) = (deadline, idempotencyKey)
        switch target {
        case .native(let id, let ready):
            let path = method
            run(
                now: { try runtime.invokeNow(ready, typeURL: "", parameters: request, deadline: deadline) },
                later: {
                    try await runtime.invoke(module: id, function: path, typeURL: "", parameters: request, deadline: deadline, idempotencyKey: key)
                },
                on: loop
            ) { [self] result in
                routes.count(id, path, result, started: started)
                respond(finish(result) { $0.output })
            }
        case .invoke:
            let call: InvokerService.Call
            do {
                call = try InvokeWire.call(request)
            } catch {
                return respond(fail(error))
            }
            run(
                now: {
                    guard let ready = runtime.readyFunction(call.function, of: call.module) else { return nil }
                    return try runtime.invokeNow(ready, typeURL: call.typeURL, parameters: call.parameters, deadline: deadline)
                },
                later: {
                    try await runtime.invoke(
                        module: call.module, function: call.function, typeURL: call.typeURL, parameters: call.parameters, deadline: deadline,
                        idempotencyKey: key)
                },
                on: loop
            ) { [self] result in
                InvokerService.count(call, result, started: started, runtime: runtime, metrics: routes.log.metrics)
                respond(finish(result) { try InvokeWire.response($0) })
            }
        }
    }

    /// The client went away: a call still waiting in the runtime does not run for nobody (unless
    /// the server is draining, when calls in flight finish).
    func cancel() {
        if !routes.draining.isSet { task?.cancel() }
    }

    /// Runs `now`; if it cannot run at once, `later` in a task, whose result comes back on `loop`.
    private func run(
        now: () throws -> Invocation?, later: @escaping @Sendable () async throws -> Invocation, on loop: any EventLoop,
        done: @escaping (Result<Invocation, any Error>) -> Void
    ) {
        do {
            if let invocation = try now() { return done(.success(invocation)) }
        } catch {
            return done(.failure(error))
        }
        let finish = NIOLoopBound(done, eventLoop: loop)
        task = Task {
            let result: Result<Invocation, any Error>
            do {
                result = .success(try await later())
            } catch {
                result = .failure(error)
            }
            loop.execute { finish.value(result) }
        }
    }

    /// The outcome of a call that ran (its response message from `message`), logged.
    private func finish(_ result: Result<Invocation, any Error>, message: (Invocation) throws -> [UInt8]) -> DirectOutcome {
        do {
            let invocation = try result.get()
            return finish(error: nil, answer: (try message(invocation), invocation.transaction?.record.id, invocation.replayed))
        } catch {
            return finish(error: StatusMapping.rpcError(for: error), answer: nil)
        }
    }

    /// Logs the call and makes its outcome: the answer with its headers, or the error with them as
    /// trailers (`x-request-id`; for a native route the answering module, and the transaction of
    /// a call that changed state).
    private func finish(error: RPCError?, answer: (message: [UInt8], transaction: String?, replayed: Bool)?) -> DirectOutcome {
        var module: ModuleID?
        if case .native(let id, _) = target { module = id }
        routes.log.finished(method: method, requestID: requestID, peer: peer, started: started, error: error, module: module)
        var headers = HPACKHeaders()
        // A new value every call: not worth a place in the client's HPACK table.
        headers.add(name: CallLog.requestIDHeader, value: requestID, indexing: .nonIndexable)
        if let module { headers.add(name: Wire.moduleIDHeader, value: module.hex) }
        if let transaction = answer?.transaction { headers.add(name: Wire.transactionHeader, value: transaction, indexing: .nonIndexable) }
        if answer?.replayed == true { headers.add(name: Wire.replayedHeader, value: "true") }
        if let answer, error == nil { return .answer(headers: headers, message: answer.message) }
        var failure = error ?? RPCError(code: .internalError, message: "the call ended without an answer")
        failure.metadata = [:]
        return .failure(failure, trailers: headers)
    }
}
