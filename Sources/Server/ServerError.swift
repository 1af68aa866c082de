import WasmRPCCore

/// Why a server could not start or serve. (Failures of a call are `RPCError`s, or the runtime's
/// errors mapped by `StatusMapping`.)
public struct ServerError: LayerError {
    public typealias Code = ErrorCode<ServerError>

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension ErrorCode where Layer == ServerError {
    /// The gRPC port is not listening: the server was stopped before it began, listens on
    /// something that is not an IP address, or takes its calls in process.
    public static let notListening = Self("notListening")
    /// The metrics endpoint could not be bound.
    public static let metricsUnavailable = Self("metricsUnavailable")
    /// The HTTP listener could not be bound.
    public static let httpUnavailable = Self("httpUnavailable")
    /// The configuration asks for things that do not go together.
    public static let invalidConfiguration = Self("invalidConfiguration")
}
