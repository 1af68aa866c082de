import CallCore
import GRPCCore
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
        routes.core.draining.set()
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
/// module's waPC function through the core: the request message's bytes go to the guest as they
/// came, the guest's answer is the response message. The answering module's id comes back in the
/// `wasmrpc-module-id` response header. Client-streaming methods have no waPC form and are
/// UNIMPLEMENTED (`ModuleInterface.checkCallable` says why).
struct NativeRoutes: Sendable {
    let core: CallCore
    /// The methods the `GRPCServer` serves itself (set when it starts).
    let builtIn = BuiltInMethods()

    /// Whether `path` (`package.Service/method`) is an uploaded method this type answers: some module
    /// defines it, and no built-in method has that path.
    func answers(_ path: String) -> Bool {
        !builtIn.contains(path) && core.directory.defines(path)
    }

    func serve<Bytes: GRPCContiguousBytes & Sendable>(
        _ stream: RPCStream<RPCAsyncSequence<RPCRequestPart<Bytes>, any Error>, RPCWriter<RPCResponsePart<Bytes>>.Closable>,
        context: ServerContext
    ) async {
        var progress = Progress(path: stream.descriptor.fullyQualifiedMethod)
        let error: CallError?
        do {
            try await answer(stream, peer: context.remotePeer, progress: &progress)
            error = nil
        } catch let failure {
            error = CallError.fromGRPC(failure)
        }
        if let error {
            // Trailers only (the status with the headers) unless the headers went out already.
            let trailers = progress.headersSent ? [:] : progress.headers
            try? await stream.outbound.write(.status(Status(code: Status.Code(RPCError.code(error.status)), message: error.message), trailers))
        } else {
            try? await stream.outbound.write(.status(Status(code: .ok, message: ""), [:]))
        }
        await stream.outbound.finish()
        let call = progress.call ?? core.begin(.call(progress.path), CallHeaders(), peer: context.remotePeer)
        core.finished(call, method: progress.path, error: error, module: progress.module)
    }

    /// What a call has learned so far, for its status and log line.
    private struct Progress {
        let path: String
        var call: Call?
        var module: ModuleID?
        var headersSent = false
        /// The transaction of a unary (or server-streaming) call that changed state.
        var transaction: String?
        /// Whether the answer is an earlier call's, with the same idempotency key.
        var replayed = false

        var headers: Metadata {
            var headers: Metadata = [:]
            if let call { headers.addString(call.requestID, forKey: CallLog.requestIDHeader) }
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
        peer: String, progress: inout Progress
    ) async throws {
        var parts = stream.inbound.makeAsyncIterator()
        guard case .metadata(let metadata)? = try await parts.next(isolation: nil) else {
            throw RPCError(code: .internalError, message: "the request stream did not begin with metadata")
        }
        let call = core.begin(.call(progress.path), CallHeaders(metadata), peer: peer)
        progress.call = call
        try call.admit()
        let target = try core.target(method: progress.path, for: call)
        progress.module = target.module
        let function = try await core.method(target)
        guard function.clientStreaming, function.serverStreaming else {
            let request = try await Self.onlyMessage(&parts, path: progress.path)
            let invocation = try await untilCancelled { try await core.run(call, target, input: request) }
            progress.transaction = invocation.transaction?.record.id
            progress.replayed = invocation.replayed
            try await stream.outbound.write(.metadata(progress.headers))
            progress.headersSent = true
            try await stream.outbound.write(.message(Bytes(invocation.output)))
            return
        }
        guard call.idempotencyKey == nil else { throw IdempotencyKey.refusedOnStreams }
        try await stream.outbound.write(.metadata(progress.headers))
        progress.headersSent = true
        while let part = try await parts.next(isolation: nil) {
            guard case .message(let bytes) = part else { continue }
            let request = bytes.withUnsafeBytes { Array($0) }
            let invocation = try await untilCancelled { try await core.run(call, target, input: request) }
            try await stream.outbound.write(.message(Bytes(invocation.output)))
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
        } onCancelRPC: { [draining = core.draining] in
            if !draining.isSet { task.cancel() }
        }
    }
}
