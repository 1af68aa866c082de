import WasmRPCCore

/// Why a server could not start or serve. (Failures of a call are `RPCError`s, or the runtime's
/// errors mapped by `StatusMapping`.)
public struct ServerError: LayerError {
    /// This layer's error codes: an enum, so that every `switch` over them (the mappings between
    /// layers and to gRPC statuses) is exhaustive and a new code cannot fall into a default.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The gRPC port is not listening: the server was stopped before it began, listens on
        /// something that is not an IP address, or takes its calls in process.
        case notListening
        /// The metrics endpoint could not be bound.
        case metricsUnavailable
        /// The HTTP listener could not be bound.
        case httpUnavailable
        /// The configuration asks for things that do not go together.
        case invalidConfiguration

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
