import Logging
import Synchronization
import WasmRPCCore

/// What every call leaves behind, for built-in services and native routes alike: a request id
/// (the client's `x-request-id` if it sent a usable one, else a new one) returned in the response
/// headers, one structured log line, and the `wasmrpc_grpc_calls_total` counter.
///
/// The line is `debug` for a successful call and `info` for a failed one, so `--log-level debug`
/// gives an access log of every call and the default level shows the failures.
public struct CallLog: Sendable {
    public static let requestIDHeader = "x-request-id"

    public let logger: Logger
    public let metrics: ServerMetrics

    public init(logger: Logger, metrics: ServerMetrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// The client's request id (`given`, the header's value) if it is 1…128 visible ASCII
    /// characters, else a new one: 16 hex digits, a random start for this process plus a counter
    /// (unique per process, and no `getrandom` call per request).
    public static func requestID(given: String?) -> String {
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
    package func finished(
        method: String, requestID: String, peer: String, started: ContinuousClock.Instant, error: CallError?,
        module: ModuleID? = nil
    ) {
        metrics.call(method: method, code: error?.status ?? .ok)
        write("call", error: error) {
            var metadata: Logger.Metadata = [
                "request-id": "\(requestID)", "method": "\(method)", "peer": "\(peer)",
                "code": "\(error?.status ?? .ok)",
                "ms": "\(Self.milliseconds(started.duration(to: .now)))",
            ]
            if let module { metadata["module"] = "\(module)" }
            return metadata
        }
    }

    /// Logs and counts a finished request of the HTTP listener, as `finished` does a gRPC call.
    package func finishedHTTP(route: String, requestID: String, status: Int, started: ContinuousClock.Instant, error: CallError?) {
        metrics.httpRequest(route: route, status: status)
        write("request", error: error) {
            var metadata: Logger.Metadata = [
                "request-id": "\(requestID)", "route": "\(route)", "status": "\(status)",
                "ms": "\(Self.milliseconds(started.duration(to: .now)))",
            ]
            if let error { metadata["code"] = "\(error.status)" }
            return metadata
        }
    }

    /// The line of a finished `what`: `info` "… failed" with the error, else `debug`; its metadata
    /// is built only when the line is written.
    private func write(_ what: String, error: CallError?, _ metadata: () -> Logger.Metadata) {
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
    package static func milliseconds(_ duration: Duration) -> String {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let whole = microseconds / 1000
        let fraction = String(microseconds % 1000)
        return "\(whole).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
