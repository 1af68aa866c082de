import Logging
import WasmRPCCore

/// One `__host_call` from a guest.
public struct HostCall: Sendable {
    public var binding: String
    public var namespace: String
    public var operation: String
    public var payload: [UInt8]
    /// The calling module's label (`WapcConfiguration.moduleLabel`), if it has one.
    public var module: String?
    /// The call's `CallContext.capability` value, if it has one.
    public var context: (any Sendable)?

    public init(
        binding: String, namespace: String, operation: String, payload: [UInt8], module: String? = nil, context: (any Sendable)? = nil
    ) {
        self.binding = binding
        self.namespace = namespace
        self.operation = operation
        self.payload = payload
        self.module = module
        self.context = context
    }
}

/// A host error the guest reads with `__host_error`; the guest decides what to do with it. One
/// made with `endsCall` is not shown to the guest: the call stops there with
/// `WapcError.Code.endedByHost` (and its instance is discarded), for a capability that finds the
/// call must not go on as it runs.
public struct HostCallFailure: Error, Sendable, Hashable {
    public var message: String
    public var endsCall: Bool
    public init(_ message: String, endsCall: Bool = false) {
        self.message = message
        self.endsCall = endsCall
    }
}

/// Something the host offers guests through `__host_call`. Called on the thread running the guest,
/// while the guest waits; it must not call back into the same instance.
public protocol HostCapability: Sendable {
    func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8]
    /// Whether each call writes a log line: such calls count against the guest log limits
    /// (`WapcConfiguration.maxLogLinesPerCall`, `GuestLogBudget`), and over them are answered
    /// with success and an empty payload without reaching the capability.
    var writesLog: Bool { get }
}

extension HostCapability {
    public var writesLog: Bool { false }
}

/// Routes host calls by (binding, namespace, operation) to capabilities. A route registered with
/// `binding: nil` or `operation: nil` matches any value there; the most specific route wins.
public struct HostCallRouter: Sendable {
    private struct Route {
        var binding: String?
        var operation: String?
        var capability: any HostCapability

        /// How specific a match it is for `call` (higher wins), or nil if it does not match.
        func rank(for call: HostCall) -> Int? {
            var rank = 0
            if let operation {
                guard operation == call.operation else { return nil }
                rank += 2
            }
            if let binding {
                guard binding == call.binding else { return nil }
                rank += 1
            }
            return rank
        }
    }

    /// The routes of each namespace (a few each).
    private var routes: [String: [Route]] = [:]
    /// Answers calls that no route matches. `nil`: they fail with a host error naming the route.
    public var fallback: (any HostCapability)?

    public init() {}

    public mutating func register(
        _ capability: some HostCapability, binding: String? = nil, namespace: String, operation: String? = nil
    ) {
        var list = routes[namespace, default: []]
        list.removeAll { $0.binding == binding && $0.operation == operation }
        list.append(Route(binding: binding, operation: operation, capability: capability))
        routes[namespace] = list
    }

    /// The capability that answers `call`: the most specific route (a matching operation counts
    /// over a matching binding), else the fallback.
    private func capability(for call: HostCall) -> (any HostCapability)? {
        guard let list = routes[call.namespace] else { return fallback }
        var best: (rank: Int, capability: any HostCapability)?
        for route in list {
            if let rank = route.rank(for: call), rank > best?.rank ?? -1 { best = (rank, route.capability) }
        }
        return best?.capability ?? fallback
    }

    /// Answers `call` with its capability. A capability that writes a log line answers only if
    /// `admitLog` allows one more (the guest log limits); otherwise the call succeeds with an empty
    /// payload, and the guest is none the wiser.
    public func route(_ call: HostCall, admitLog: () -> Bool = { true }) throws(HostCallFailure) -> [UInt8] {
        if let capability = capability(for: call) {
            if capability.writesLog, !admitLog() { return [] }
            return try capability.handle(call)
        }
        throw HostCallFailure(
            "no host capability for binding \"\(call.binding)\", namespace \"\(call.namespace)\", operation \"\(call.operation)\"")
    }

    /// The capabilities every wasmrpc host offers: `wasmrpc:log` (any binding and operation) logs
    /// the payload at info level; the namespace `complex::any`, which the original complex example
    /// calls on every multiplication, logs at debug level so a busy server's log stays readable.
    public static var standard: HostCallRouter {
        var router = HostCallRouter()
        router.register(LoggingCapability(), namespace: "wasmrpc:log")
        router.register(LoggingCapability(level: .debug), namespace: "complex::any")
        return router
    }
}

/// Logs the payload of each call (as text when it is printable UTF-8, else as hex) and answers
/// with an empty payload.
public struct LoggingCapability: HostCapability {
    private let logger: Logger
    private let level: Logger.Level

    public init(logger: Logger = Logger(label: "wasmrpc.host-call"), level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    public var writesLog: Bool { true }

    public func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] {
        var metadata: Logger.Metadata = [
            "binding": "\(call.binding)", "namespace": "\(call.namespace)", "operation": "\(call.operation)",
            "payload": "\(Self.render(call.payload))",
        ]
        if let module = call.module { metadata["module"] = "\(module)" }
        logger.log(level: level, "guest host call", metadata: metadata)
        return []
    }

    static func render(_ payload: [UInt8]) -> String {
        let shown = payload.prefix(1024)
        let isText = shown.allSatisfy { $0 == 0x0A || $0 == 0x09 || (0x20..<0x7F).contains($0) }
        let body = isText ? String(decoding: shown, as: UTF8.self) : "0x" + Hex.lowercase(shown)
        return payload.count > shown.count ? body + "… (\(payload.count) bytes)" : body
    }
}

/// Answers every call with its own payload, as the waPC reference hosts do in their tests
/// (`wasmrpc call --echo-host-calls`).
public struct EchoCapability: HostCapability {
    public init() {}
    public func handle(_ call: HostCall) throws(HostCallFailure) -> [UInt8] { call.payload }
}
