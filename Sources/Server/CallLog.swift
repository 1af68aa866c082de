import GRPCCore
import Logging
import Synchronization
import WasmRPCCore

/// What every call leaves behind, for built-in services and native routes alike: a request id
/// (the client's `x-request-id` if it sent a usable one, else a new one) returned in the response
/// headers, one structured log line, and the `wasmrpc_grpc_calls_total` counter.
///
/// The line is `debug` for a successful call and `info` for a failed one, so `--log-level debug`
/// gives an access log of every call and the default level shows the failures.
struct CallLog: Sendable {
    static let requestIDHeader = "x-request-id"

    let logger: Logger
    let metrics: ServerMetrics

    /// The client's request id if it is 1…128 visible ASCII characters, else a new one: 16 hex
    /// digits, a random start for this process plus a counter (unique per process, and no
    /// `getrandom` call per request).
    static func requestID(from metadata: Metadata) -> String {
        requestID(given: metadata[stringValues: requestIDHeader].first(where: { _ in true }))
    }

    /// `requestID(from:)` for the header's value (nil: no header).
    static func requestID(given: String?) -> String {
        if let given, !given.isEmpty, given.utf8.count <= 128,
            given.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        {
            return given
        }
        let number = requestIDBase &+ nextRequestID.add(1, ordering: .relaxed).oldValue
        let hex = String(number, radix: 16)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    private static let requestIDBase = UInt64.random(in: .min ... .max)
    private static let nextRequestID = Atomic<UInt64>(0)

    /// Logs and counts a finished call (of `module`'s method, for a native route). `error` nil
    /// means OK.
    func finished(
        method: String, requestID: String, peer: String, started: ContinuousClock.Instant, error: RPCError?,
        module: ModuleID? = nil
    ) {
        metrics.call(method: method, code: error?.code)
        write("call", error: error) {
            var metadata: Logger.Metadata = [
                "request-id": "\(requestID)", "method": "\(method)", "peer": "\(peer)",
                "code": "\(ServerMetrics.name(of: error?.code))",
                "ms": "\(Self.milliseconds(started.duration(to: .now)))",
            ]
            if let module { metadata["module"] = "\(module)" }
            return metadata
        }
    }

    /// Logs and counts a finished request of the HTTP listener, as `finished` does a gRPC call.
    func finishedHTTP(route: String, requestID: String, status: Int, started: ContinuousClock.Instant, error: RPCError?) {
        metrics.httpRequest(route: route, status: status)
        write("request", error: error) {
            var metadata: Logger.Metadata = [
                "request-id": "\(requestID)", "route": "\(route)", "status": "\(status)",
                "ms": "\(Self.milliseconds(started.duration(to: .now)))",
            ]
            if let error { metadata["code"] = "\(ServerMetrics.name(of: error.code))" }
            return metadata
        }
    }

    /// The line of a finished `what`: `info` "… failed" with the error, else `debug`; its metadata
    /// is built only when the line is written.
    private func write(_ what: String, error: RPCError?, _ metadata: () -> Logger.Metadata) {
        guard error != nil || logger.logLevel <= .debug else { return }
        var metadata = metadata()
        if let error {
            metadata["error"] = "\(error.message)"
            logger.info("\(what) failed", metadata: metadata)
        } else {
            logger.debug("\(what)", metadata: metadata)
        }
    }

    /// A duration in milliseconds with three decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let whole = microseconds / 1000
        let fraction = String(microseconds % 1000)
        return "\(whole).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

/// The one interceptor of the built-in services: a request id, the `AccessPolicy` check, and a
/// `CallLog` line for every call (native routes do the same in `NativeRoutes`). One layer rather
/// than one per concern: each interceptor wraps every call's request and response again.
struct CallInterceptor: ServerInterceptor {
    let log: CallLog
    let policy: AccessPolicy

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let started = ContinuousClock.now
        let requestID = CallLog.requestID(from: request.metadata)
        let method = context.descriptor.fullyQualifiedMethod
        // Logs the call and returns the error to end it with: mapped, and carrying the request id.
        let finish = { @Sendable (error: (any Error)?) -> RPCError? in
            var mapped = error.map { $0 as? RPCError ?? StatusMapping.rpcError(for: $0) }
            log.finished(method: method, requestID: requestID, peer: context.remotePeer, started: started, error: mapped)
            mapped?.metadata.addString(requestID, forKey: CallLog.requestIDHeader)
            return mapped
        }
        var response: StreamingServerResponse<Output>
        do {
            try policy.check(method: method, authorization: request.metadata[stringValues: "authorization"].first(where: { _ in true }))
            response = try await next(request, context)
        } catch {
            throw finish(error)!
        }
        switch response.accepted {
        case .success(var contents):
            contents.metadata.addString(requestID, forKey: CallLog.requestIDHeader)
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await producer(writer)
                    _ = finish(nil)
                    return trailers
                } catch {
                    throw finish(error)!
                }
            }
            response.accepted = .success(contents)
        case .failure(let error):
            response.accepted = .failure(finish(error)!)
        }
        return response
    }
}
