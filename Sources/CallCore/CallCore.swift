import ContentStore
import DynamicProto
import Logging
import ModuleRuntime
import Synchronization
import WasmRPCCore

/// The one call pipeline under every front door (docs/ARCHITECTURE.md, "One call pipeline"): the
/// gRPC services, the native routes and the HTTP/2 transport's direct calls, and the HTTP API with
/// its event-loop fast path all take their calls through here. It owns, once: the access policy
/// and the request ids (`begin`), the choice of the module that answers a method path and its pin
/// (`target`), the deadline, running a guest at once or on a worker (`runNow`, `run`), the
/// invocation metrics, the call log line (`finished`), status mapping (`CallError`), and the
/// registry, log and state operations the doors translate to and from their wire.
public final class CallCore: Sendable {
    public let runtime: ModuleRuntime
    public let directory: ServiceDirectory
    public let policy: AccessPolicy
    public let log: CallLog
    public let limits: RequestLimits
    /// Set when the graceful shutdown begins: calls in flight then finish even if their client
    /// goes away.
    public let draining = Flag()

    public var metrics: ServerMetrics { log.metrics }
    public var store: ContentStore { runtime.store }

    public init(runtime: ModuleRuntime, directory: ServiceDirectory, policy: AccessPolicy, log: CallLog, limits: RequestLimits) {
        self.runtime = runtime
        self.directory = directory
        self.policy = policy
        self.log = log
        self.limits = limits
    }

    public final class Flag: Sendable {
        private let value = Atomic(false)
        public func set() { value.store(true, ordering: .relaxed) }
        public var isSet: Bool { value.load(ordering: .relaxed) }
    }

    // MARK: - Calls

    /// Opens a call of `operation` from its headers: its request id (the client's if usable), its
    /// deadline, and its refusal, if the access policy or a malformed pin or idempotency key refuses
    /// it. Nothing here reads a body.
    public func begin(_ operation: CallOperation, _ headers: CallHeaders, peer: String) -> Call {
        let started = ContinuousClock.now
        var refusal: CallError?
        var pinned: ModuleID?
        var key: IdempotencyKey?
        do throws(CallError) {
            try policy.check(operation, authorization: headers.authorization)
            switch operation {
            case .invoke, .call:
                key = try IdempotencyKey.fromHeader(values: headers.idempotencyKeys)
                if case .call = operation, let text = headers.moduleIDs.first {
                    guard let id = ModuleID(hex: text) else {
                        throw CallError(
                            .invalidArgument,
                            "the \(Wire.moduleIDHeader) header \(EchoedText.quote(text)) is not a module id (64 lowercase hex digits)")
                    }
                    pinned = id
                }
            default:
                break
            }
        } catch {
            refusal = error
        }
        return Call(
            operation: operation, requestID: CallLog.requestID(given: headers.requestID), peer: peer, started: started,
            deadline: headers.timeout.map { started + $0 }, pinned: pinned, idempotencyKey: key, refusal: refusal)
    }

    /// The function a call of uploaded method `path` runs: the pinned module's, or the newest
    /// one's that defines it.
    public func target(method path: String, for call: Call) throws(CallError) -> CallTarget {
        CallTarget(module: try directory.provider(of: path, pinned: call.pinned), function: path)
    }

    /// The target's function if its module is loaded and the name resolves (for `runNow`).
    public func ready(_ target: CallTarget) -> ReadyFunction? {
        runtime.readyFunction(target.function, of: target.module)
    }

    /// The target's method, loading its module if needed, checked callable (client-streaming
    /// methods are UNIMPLEMENTED).
    public func method(_ target: CallTarget) async throws(CallError) -> DynamicProto.MethodDescriptor {
        try await mappingErrors {
            let function = try await runtime.function(target.function, of: target.module)
            try ModuleInterface.checkCallable(function)
            return function
        }
    }

    /// Runs the call on the calling thread if the runtime can start it at once
    /// (`ModuleRuntime.invokeNow`); nil when it must wait (then `run` it). A result is counted in
    /// the invocation metrics.
    public func runNow(
        _ call: Call, _ target: CallTarget, ready: ReadyFunction, typeURL: String = "", input: [UInt8]
    ) -> Result<Invocation, CallError>? {
        let started = ContinuousClock.now
        let result: Result<Invocation, any Error>
        do {
            guard let invocation = try runtime.invokeNow(ready, typeURL: typeURL, parameters: input, deadline: call.deadline) else { return nil }
            result = .success(invocation)
        } catch {
            result = .failure(error)
        }
        return count(target, result, started: started)
    }

    /// Runs the call: at once when it can (`runNow`), else waiting for an instance and a worker;
    /// bounded by the call's deadline, answered from the ledger when its idempotency key was seen.
    /// Counted in the invocation metrics.
    public func run(_ call: Call, _ target: CallTarget, typeURL: String = "", input: [UInt8]) async throws(CallError) -> Invocation {
        try await run(call, target, ready: ready(target), typeURL: typeURL, input: input)
    }

    /// `run` for a caller that looked the function up already (`ready`: the target's, or nil when
    /// it is not ready or `runNow` was tried already, so that the call goes straight to waiting).
    public func run(
        _ call: Call, _ target: CallTarget, ready: ReadyFunction?, typeURL: String = "", input: [UInt8]
    ) async throws(CallError) -> Invocation {
        if let ready, let now = runNow(call, target, ready: ready, typeURL: typeURL, input: input) {
            return try now.get()
        }
        let started = ContinuousClock.now
        let result: Result<Invocation, any Error>
        do {
            result = .success(
                try await runtime.invoke(
                    module: target.module, function: target.function, typeURL: typeURL, parameters: input, deadline: call.deadline,
                    idempotencyKey: call.idempotencyKey))
        } catch {
            result = .failure(error)
        }
        return try count(target, result, started: started).get()
    }

    /// Counts a call of `target` that failed before its guest ran (an input the door could not
    /// read), as `run` counts the others.
    public func countFailure(_ target: CallTarget, _ error: any Error, started: ContinuousClock.Instant) -> CallError {
        guard case .failure(let failure) = count(target, .failure(error), started: started) else { return CallError(for: error) }
        return failure
    }

    /// Counts a finished invocation. A failed call is labelled with its module and function only
    /// when they exist (the module is loaded and the name resolves), so that ids and names clients
    /// make up cannot add series.
    private func count(_ target: CallTarget, _ result: Result<Invocation, any Error>, started: ContinuousClock.Instant) -> Result<
        Invocation, CallError
    > {
        switch result {
        case .success(let invocation):
            metrics.invocation(
                module: "\(target.module)", function: invocation.function.methodPath.qualified, code: .ok,
                duration: started.duration(to: .now), fuel: invocation.fuelUsed)
            return .success(invocation)
        case .failure(let error):
            let failure = CallError(for: error)
            let path = runtime.loadedFunctionPath(module: target.module, name: target.function)
            metrics.invocation(
                module: path == nil ? "" : "\(target.module)", function: path ?? "", code: failure.status,
                duration: started.duration(to: .now), fuel: nil)
            return .failure(failure)
        }
    }

    // MARK: - The log line

    /// Logs and counts a finished gRPC call (`method` its path; `module` the module that answered
    /// a native route).
    public func finished(_ call: Call, method: String, error: CallError?, module: ModuleID? = nil) {
        log.finished(method: method, requestID: call.requestID, peer: call.peer, started: call.started, error: error, module: module)
    }

    /// Logs and counts a finished HTTP request (`route` its template, `status` the HTTP status).
    public func finished(_ call: Call, route: String, status: Int, error: CallError?) {
        log.finishedHTTP(route: route, requestID: call.requestID, status: status, started: call.started, error: error)
    }
}

/// The largest request each kind of operation takes, in bytes of its protobuf request message
/// (the HTTP door allows its JSON `jsonFactor` times as much): a module to add is not a function's
/// input, and neither is a query.
public struct RequestLimits: Sendable {
    /// An Add: the module, its descriptor and the envelope.
    public var add: Int
    /// A function call's input (the guest's request limit); an Invoke adds `envelopeBytes` for
    /// the module id, function name and type URL around it.
    public var call: Int
    /// Every other request (Get, List, log and state queries, reflection, health).
    public var query = 64 << 10

    public static let envelopeBytes = 64 << 10
    /// A call's JSON may be several times its binary form (base64, field names, number text).
    public static let jsonFactor = 4

    public init(add: Int, call: Int) {
        self.add = add
        self.call = call
    }

    /// The request limit of `operation`.
    public func bytes(for operation: CallOperation) -> Int {
        switch operation {
        case .add: add
        case .invoke: call + Self.envelopeBytes
        case .call: call
        case .get, .list, .log, .state, .reflection, .health, .page: query
        }
    }
}
