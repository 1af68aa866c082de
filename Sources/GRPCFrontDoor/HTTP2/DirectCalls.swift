import CallCore
import GRPCCore
import ModuleRuntime
import NIOCore
import NIOHPACK
import WasmRPCCore
import WasmRPCGRPC

/// The unary calls the HTTP/2 transport answers itself, on the event loop that read them, rather
/// than through grpc-swift's server: `Invoker.Invoke`, and the unary native routes of loaded
/// modules. They go through the same core as every other call (`CallCore`: access, deadline,
/// inline or worker, metrics, log line); what they skip is the per-call machinery between the
/// socket and the guest (a task, async sequences and thread hand-offs for each call). The guest
/// runs right there when `CallCore.runNow` can run it at once; otherwise the call goes to the
/// runtime as usual, and its answer comes back to the event loop.
struct DirectCalls: Sendable {
    static let invokeMethod = Wasmrpc_V1_Invoker.Method.Invoke.descriptor.fullyQualifiedMethod

    let routes: NativeRoutes
    var core: CallCore { routes.core }

    /// The direct call a stream's request headers open; nil when grpc-swift serves the stream
    /// (every other method, streaming native routes, and modules not loaded yet, whose first call
    /// loads them there). A call the core refuses is a direct call too, refused at once.
    func call(method: Substring, headers: GRPCWire.RequestHeaders, peer: String) -> DirectCall? {
        let target: DirectCall.Target
        let call: Call
        if method == Self.invokeMethod {
            call = core.begin(.invoke, headers.call, peer: peer)
            target = .invoke
        } else {
            let path = String(method)
            guard routes.answers(path) else { return nil }
            call = core.begin(.call(path), headers.call, peer: peer)
            if call.refusal == nil {
                guard let resolved = try? core.target(method: path, for: call), let ready = core.ready(resolved),
                    !ready.function.clientStreaming, !ready.function.serverStreaming
                else { return nil }
                target = .native(resolved, ready)
            } else {
                target = .refused
            }
        }
        return DirectCall(target: target, method: String(method), call: call, core: core)
    }
}

/// How a direct call ends: its response headers and message, or its error and the metadata that
/// goes with it in the trailers.
enum DirectOutcome {
    case answer(headers: HPACKHeaders, message: [UInt8])
    case failure(CallError, trailers: HPACKHeaders)
}

/// One unary call answered by the transport (`DirectCalls`). Used on its stream's event loop only.
final class DirectCall {
    enum Target {
        /// A native route whose function is ready.
        case native(CallTarget, ReadyFunction)
        case invoke
        /// The core refused the call from its headers.
        case refused
    }

    let target: Target
    /// `package.Service/method`, as logs and metrics name it.
    let method: String
    let call: Call
    private let core: CallCore
    /// The call, when it runs in a task rather than on the event loop.
    private var task: Task<Void, Never>?

    fileprivate init(target: Target, method: String, call: Call, core: CallCore) {
        self.target = target
        self.method = method
        self.call = call
        self.core = core
    }

    /// Why the call is refused before its request is read, if it is.
    var refusal: CallError? { call.refusal }

    /// The call failed before it ran (refused, or the request stream was not one message): logged
    /// and counted as a call like any other.
    func fail(_ error: CallError) -> DirectOutcome {
        finish(error: error, answer: nil)
    }

    /// Answers `request`: `respond` gets the outcome on `loop`, now or later.
    func answer(_ request: [UInt8], on loop: any EventLoop, respond: @escaping (DirectOutcome) -> Void) {
        let (core, call) = (core, call)
        switch target {
        case .refused:
            respond(fail(call.refusal ?? CallError(.internalError, "the call was refused")))
        case .native(let resolved, let ready):
            run(
                now: { core.runNow(call, resolved, ready: ready, input: request) },
                later: { () async throws(CallError) -> Invocation in try await core.run(call, resolved, ready: nil, input: request) },
                on: loop
            ) { [self] result in
                respond(finish(result) { $0.output })
            }
        case .invoke:
            let invoke: (target: CallTarget, typeURL: String, input: [UInt8])
            do {
                invoke = try InvokeWire.call(request)
            } catch {
                return respond(fail(error))
            }
            run(
                now: { core.ready(invoke.target).flatMap { core.runNow(call, invoke.target, ready: $0, typeURL: invoke.typeURL, input: invoke.input) } },
                later: { () async throws(CallError) -> Invocation in
                    try await core.run(call, invoke.target, ready: nil, typeURL: invoke.typeURL, input: invoke.input)
                },
                on: loop
            ) { [self] result in
                respond(finish(result) { try InvokeWire.response($0) })
            }
        }
    }

    /// The client went away: a call still waiting in the runtime does not run for nobody (unless
    /// the server is draining, when calls in flight finish).
    func cancel() {
        if !core.draining.isSet { task?.cancel() }
    }

    /// Runs `now`; if it cannot run at once, `later` in a task (which waits: `now` was the try at
    /// running at once), whose result comes back on `loop`.
    private func run(
        now: () -> Result<Invocation, CallError>?, later: @escaping @Sendable () async throws(CallError) -> Invocation, on loop: any EventLoop,
        done: @escaping (Result<Invocation, CallError>) -> Void
    ) {
        if let result = now() { return done(result) }
        let finish = NIOLoopBound(done, eventLoop: loop)
        task = Task {
            let result: Result<Invocation, CallError>
            do {
                result = .success(try await later())
            } catch {
                result = .failure(CallError(for: error))
            }
            loop.execute { finish.value(result) }
        }
    }

    /// The outcome of a call that ran (its response message from `message`), logged.
    private func finish(_ result: Result<Invocation, CallError>, message: (Invocation) throws -> [UInt8]) -> DirectOutcome {
        do {
            let invocation = try result.get()
            return finish(error: nil, answer: (try message(invocation), invocation.transaction?.record.id, invocation.replayed))
        } catch {
            return finish(error: CallError(for: error), answer: nil)
        }
    }

    /// Logs the call and makes its outcome: the answer with its headers, or the error with them as
    /// trailers (`x-request-id`; for a native route the answering module, and the transaction of
    /// a call that changed state).
    private func finish(error: CallError?, answer: (message: [UInt8], transaction: String?, replayed: Bool)?) -> DirectOutcome {
        var module: ModuleID?
        if case .native(let resolved, _) = target { module = resolved.module }
        core.finished(call, method: method, error: error, module: module)
        var headers = HPACKHeaders()
        // A new value every call: not worth a place in the client's HPACK table.
        headers.add(name: CallLog.requestIDHeader, value: call.requestID, indexing: .nonIndexable)
        if let module { headers.add(name: Wire.moduleIDHeader, value: module.hex) }
        if let transaction = answer?.transaction { headers.add(name: Wire.transactionHeader, value: transaction, indexing: .nonIndexable) }
        if answer?.replayed == true { headers.add(name: Wire.replayedHeader, value: "true") }
        if let answer, error == nil { return .answer(headers: headers, message: answer.message) }
        return .failure(error ?? CallError(.internalError, "the call ended without an answer"), trailers: headers)
    }
}
