import ContentStore
import GRPCCore
import Logging
import ModuleRuntime
import Synchronization
import WasmRPCCore

/// The seam for native routes (docs/ARCHITECTURE.md, "Native routes"): grpc-swift's router is fixed
/// when the server starts, but every stream passes through the transport first. This transport
/// wraps the real one and answers the paths of uploaded services itself; every other stream (the
/// built-in services, and paths nobody defines, which the router answers UNIMPLEMENTED) goes to the
/// `GRPCServer` unchanged. Built-in methods always win: an uploaded module cannot shadow them.
struct NativeRoutingTransport<Base: ServerTransport>: ServerTransport {
    typealias Bytes = Base.Bytes

    let base: Base
    let routes: NativeRoutes

    init(base: Base, routes: NativeRoutes) {
        self.base = base
        self.routes = routes
    }

    func configure(context: GRPCServerContext) {
        routes.builtIn.set(context.methods.map(\.fullyQualifiedMethod))
        base.configure(context: context)
    }

    func listen(
        streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
    ) async throws {
        try await base.listen { [routes] stream, context in
            let path = stream.descriptor.fullyQualifiedMethod
            if routes.answers(path) {
                await routes.serve(stream, context: context)
            } else {
                await streamHandler(stream, context)
            }
        }
    }

    func beginGracefulShutdown() {
        routes.draining.set()
        base.beginGracefulShutdown()
    }
}

/// The methods the `GRPCServer`'s router serves, learned in `configure(context:)`.
final class BuiltInMethods: Sendable {
    private let paths = Mutex<Set<String>>([])
    func set(_ new: [String]) { paths.withLock { $0 = Set(new) } }
    func contains(_ path: String) -> Bool { paths.withLock { $0.contains(path) } }
}

/// Answers a call to an uploaded service's method (`/complex.Calculator/mul`) by running the
/// module's waPC function: the request message's bytes go to the guest as they came, the guest's
/// answer is the response message. The same access check, deadline, limits, status mapping,
/// metrics and log line as `Invoker.Invoke`. The answering module's id comes back in the
/// `wasmrpc-module-id` response header. Client-streaming methods have no waPC form and are
/// UNIMPLEMENTED (`ModuleInterface.checkCallable` says why).
struct NativeRoutes: Sendable {
    /// Pins a call to one of the modules that define its method.

    let runtime: ModuleRuntime
    let directory: ServiceDirectory
    let policy: AccessPolicy
    let log: CallLog
    /// Set when the graceful shutdown begins (calls in flight then finish).
    let draining = Flag()
    /// The methods the `GRPCServer` serves itself (set when it starts).
    let builtIn = BuiltInMethods()

    /// Whether `path` (`package.Service/method`) is an uploaded method this type answers: some module
    /// defines it, and no built-in method has that path.
    func answers(_ path: String) -> Bool {
        !builtIn.contains(path) && directory.defines(path)
    }

    final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    func serve<Bytes: GRPCContiguousBytes & Sendable>(
        _ stream: RPCStream<RPCAsyncSequence<RPCRequestPart<Bytes>, any Error>, RPCWriter<RPCResponsePart<Bytes>>.Closable>,
        context: ServerContext
    ) async {
        let started = ContinuousClock.now
        var call = Call(path: stream.descriptor.fullyQualifiedMethod)
        let error: RPCError?
        do {
            try await answer(stream, call: &call)
            error = nil
        } catch let failure {
            error = StatusMapping.rpcError(for: failure)
        }
        if let error {
            // Trailers only (the status with the headers) unless the headers went out already.
            let trailers = call.headersSent ? [:] : call.headers
            try? await stream.outbound.write(.status(Status(code: Status.Code(error.code), message: error.message), trailers))
        } else {
            try? await stream.outbound.write(.status(Status(code: .ok, message: ""), [:]))
        }
        await stream.outbound.finish()
        log.finished(
            method: call.path, requestID: call.requestID, peer: context.remotePeer, started: started, error: error,
            module: call.module)
    }

    /// What a call has learned so far, for its status and log line.
    private struct Call {
        let path: String
        var requestID = ""
        var module: ModuleID?
        var headersSent = false
        /// The transaction of a unary (or server-streaming) call that changed state.
        var transaction: String?
        /// Whether the answer is an earlier call's, with the same idempotency key.
        var replayed = false

        var headers: Metadata {
            var headers: Metadata = [CallLog.requestIDHeader: "\(requestID)"]
            if let module { headers.addString("\(module)", forKey: Wire.moduleIDHeader) }
            if let transaction { headers.addString(transaction, forKey: Wire.transactionHeader) }
            if replayed { headers.addString("true", forKey: Wire.replayedHeader) }
            return headers
        }
    }

    /// Checks the call, then answers it by its shape: unary and server-streaming methods with one
    /// waPC call (a server stream of one message), bidirectional ones with one call per request
    /// message, in order, until the client half-closes or a call fails. A one-call answer that
    /// changed state names its transaction in the `wasmrpc-transaction` header; the calls of a
    /// bidirectional stream answer after the headers are sent, so their receipts are only in the
    /// ledger (`State.ListTransactions`).
    private func answer<Bytes: GRPCContiguousBytes & Sendable>(
        _ stream: RPCStream<RPCAsyncSequence<RPCRequestPart<Bytes>, any Error>, RPCWriter<RPCResponsePart<Bytes>>.Closable>,
        call: inout Call
    ) async throws {
        var parts = stream.inbound.makeAsyncIterator()
        guard case .metadata(let metadata)? = try await parts.next(isolation: nil) else {
            throw RPCError(code: .internalError, message: "the request stream did not begin with metadata")
        }
        call.requestID = CallLog.requestID(from: metadata)
        try policy.check(method: call.path, authorization: metadata[stringValues: "authorization"].first(where: { _ in true }))
        let deadline = InvokerService.deadline(of: metadata)
        let key = try IdempotencyKey.fromHeader(values: metadata[stringValues: Wire.idempotencyKeyHeader])
        let id = try provider(of: call.path, pinned: metadata[stringValues: Wire.moduleIDHeader].first(where: { _ in true }))
        call.module = id
        let function = try await runtime.function(call.path, of: id)
        try ModuleInterface.checkCallable(function)
        guard function.clientStreaming, function.serverStreaming else {
            let request = try await Self.onlyMessage(&parts, path: call.path)
            let invocation = try await invoke(id, call.path, request, deadline: deadline, idempotencyKey: key)
            call.transaction = invocation.transaction?.record.id
            call.replayed = invocation.replayed
            try await stream.outbound.write(.metadata(call.headers))
            call.headersSent = true
            try await stream.outbound.write(.message(Bytes(invocation.output)))
            return
        }
        guard key == nil else { throw IdempotencyKey.refusedOnStreams }
        try await stream.outbound.write(.metadata(call.headers))
        call.headersSent = true
        while let part = try await parts.next(isolation: nil) {
            guard case .message(let bytes) = part else { continue }
            let invocation = try await invoke(id, call.path, bytes.withUnsafeBytes { Array($0) }, deadline: deadline)
            try await stream.outbound.write(.message(Bytes(invocation.output)))
        }
    }

    /// One waPC call, counted in the invocation metrics.
    private func invoke(
        _ id: ModuleID, _ path: String, _ request: [UInt8], deadline: ContinuousClock.Instant?, idempotencyKey: IdempotencyKey? = nil
    ) async throws -> Invocation {
        let started = ContinuousClock.now
        do {
            let invocation = try await untilCancelled {
                try await runtime.invoke(
                    module: id, function: path, typeURL: "", parameters: request, deadline: deadline, idempotencyKey: idempotencyKey)
            }
            count(id, path, .success(invocation), started: started)
            return invocation
        } catch {
            count(id, path, .failure(error), started: started)
            throw error
        }
    }

    /// Counts a finished call of `path` in the invocation metrics.
    func count(_ id: ModuleID, _ path: String, _ result: Result<Invocation, any Error>, started: ContinuousClock.Instant) {
        switch result {
        case .success(let invocation):
            log.metrics.invocation(module: "\(id)", function: path, code: nil, duration: started.duration(to: .now), fuel: invocation.fuelUsed)
        case .failure(let error):
            let code = StatusMapping.rpcError(for: error).code
            log.metrics.invocation(module: "\(id)", function: path, code: code, duration: started.duration(to: .now), fuel: nil)
        }
    }

    /// The module that answers `path`: the one `wasmrpc-module-id` names (`pinned`), else the newest.
    func provider(of path: String, pinned text: String?) throws -> ModuleID {
        var pinned: ModuleID?
        if let text {
            guard let id = ModuleID(hex: text) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "the \(Wire.moduleIDHeader) header \(EchoedText.quote(text)) is not a module id (64 lowercase hex digits)")
            }
            pinned = id
        }
        do {
            return try directory.provider(of: path, pinned: pinned)
        } catch {
            switch error {
            case .noProvider:
                throw RPCError(code: .unimplemented, message: "no module defines \(path)")
            case .pinnedModuleUnknown:
                throw RPCError(code: .notFound, message: "module \(pinned.map { "\($0)" } ?? "") is not stored on this server")
            case .pinnedModuleLacksMethod(let providers):
                throw RPCError(
                    code: .notFound,
                    message: "module \(pinned.map { "\($0)" } ?? "") does not define \(path); these modules do: "
                        + providers.map { "\($0)" }.joined(separator: ", "))
            }
        }
    }

    /// The one request message of a unary or server-streaming call (the rest of the stream must be empty).
    private static func onlyMessage<Bytes: GRPCContiguousBytes>(
        _ parts: inout RPCAsyncSequence<RPCRequestPart<Bytes>, any Error>.AsyncIterator, path: String
    ) async throws -> [UInt8] {
        var message: [UInt8]?
        while let part = try await parts.next(isolation: nil) {
            guard case .message(let bytes) = part else { continue }
            guard message == nil else {
                throw RPCError(code: .internalError, message: "\(path) takes one request message, but the client sent more")
            }
            message = bytes.withUnsafeBytes { Array($0) }
        }
        guard let message else { throw RPCError(code: .internalError, message: "the client sent no request message to \(path)") }
        return message
    }

    /// Runs `body`, cancelling it when the transport reports the call cancelled (the client reset the
    /// stream or went away), so that a queued call does not run for nobody. The transport reports
    /// the graceful shutdown the same way; a call in flight then finishes (that is the drain). The
    /// report comes through the task-local handle the NIO transport sets around each stream.
    private func untilCancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        return try await withRPCCancellationHandler {
            try await task.value
        } onCancelRPC: { [draining] in
            if !draining.isSet { task.cancel() }
        }
    }
}
